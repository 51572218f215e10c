"""`flask --app app keys generate` before the service is configured: the README's first production step makes the
keys that start-up demands, so that one command must not need them (issue 15, item 7)."""

from __future__ import annotations

from collections.abc import Sequence

import click
from flask import Flask
from flask.cli import AppGroup

from config import generate_encryption_key


def key_generation_requested(argv: Sequence[str]) -> bool:
    """True when the command line asks for `keys generate` (and nothing else): a web server never does."""
    words = [word for word in argv[1:] if not word.startswith("-")]
    return words[-2:] == ["keys", "generate"]


@click.command("generate")
def generate_key() -> None:
    """Print a new encryption key (32 random bytes, base64url)."""
    click.echo(generate_encryption_key())


def key_generation_app() -> Flask:
    """An app that can do one thing, print a new key: no configuration, no database, no routes."""
    app = Flask("coordinator")
    keys = AppGroup("keys", help="Field-encryption keys.")
    keys.add_command(generate_key)
    app.cli.add_command(keys)
    return app
