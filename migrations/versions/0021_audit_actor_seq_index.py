"""audit actor index in chain order: one person's entries read newest first, stopping at the page

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 02:00:00

The audit page's person search filtered a person's every entry and sorted them; with the planner's statistics
behind a bulk load it read 67,000 rows for a page of 50 (issue 15). (actor_id, seq) serves every lookup by actor
the old single-column index served.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_audit_entries_actor_id_seq', 'audit_entries', ['actor_id', 'seq'], unique=False)
    op.drop_index('ix_audit_entries_actor_id', table_name='audit_entries')


def downgrade() -> None:
    op.create_index('ix_audit_entries_actor_id', 'audit_entries', ['actor_id'], unique=False)
    op.drop_index('ix_audit_entries_actor_id_seq', table_name='audit_entries')
