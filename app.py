"""WSGI entry point: `gunicorn app:app`, `flask --app app ...`."""

from coordinator.factory import create_app

app = create_app()
