"""The data lifecycle (docs/design.md rule 11): retention schedule, legal holds, erasure, and a person's own data."""
