"""WSGI entry point: `gunicorn app:app`, `flask --app app ...`."""

from coordinator import create_app

app = create_app()
