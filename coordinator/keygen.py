"""`flask --app app keys generate` and `audit generate-key` before the service is configured: the README's first
production steps make the keys that start-up demands, so these commands must not need them (issue 15, item 7)."""

from __future__ import annotations

from collections.abc import Sequence

import click
from flask import Flask
from flask.cli import AppGroup

from config import generate_encryption_key, generate_signing_key

GENERATORS = (["keys", "generate"], ["audit", "generate-key"])


def key_generation_requested(argv: Sequence[str]) -> bool:
    """True when the command line asks for a key generator (and nothing else): a web server never does."""
    words = [word for word in argv[1:] if not word.startswith("-")]
    return words[-2:] in GENERATORS


@click.command("generate")
def generate_key() -> None:
    """Print a new encryption key (32 random bytes, base64url)."""
    click.echo(generate_encryption_key())


@click.command("generate-key")
def generate_audit_key() -> None:
    """Print a new audit signing key (an Ed25519 private key's 32-byte seed, base64url)."""
    click.echo(generate_signing_key())


def key_generation_app() -> Flask:
    """An app that can do one thing, print a new key: no configuration, no database, no routes."""
    app = Flask("coordinator")
    keys = AppGroup("keys", help="Field-encryption keys.")
    keys.add_command(generate_key)
    app.cli.add_command(keys)
    audit = AppGroup("audit", help="The audit chain.")
    audit.add_command(generate_audit_key)
    app.cli.add_command(audit)
    return app
