"""WSGI entry point: `gunicorn app:app`, `flask --app app ...`."""

import sys

from config import ConfigError
from coordinator.factory import create_app
from coordinator.keygen import key_generation_app, key_generation_requested

try:
    app = create_app()
except ConfigError:
    # Production refuses to start without its keys, except to print one (`keys generate`, README "Production").
    if not key_generation_requested(sys.argv):
        raise
    app = key_generation_app()
