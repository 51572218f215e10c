"""Fixtures for the staff-accounts tests: plain SQL, the audit trail, the service clock and the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM
from coordinator.clock import set_clock
from coordinator.db import db


@pytest.fixture
def sql(app):
    """Run plain SQL on the test database and return the rows as dicts."""

    def run(statement: str, **params) -> list[dict]:
        with app.extensions["db_engine"].connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(statement), params)]

    return run


@pytest.fixture
def audit_actions(sql):
    """The audit trail's actions, oldest first."""

    def actions() -> list[str]:
        return [row["action"] for row in sql("SELECT action FROM audit_entries ORDER BY seq")]

    return actions


@pytest.fixture
def clock_at(in_app):
    """Move the service's "now" to T0 + offset, where T0 is fixed when the test starts."""
    start = datetime.now(UTC).replace(microsecond=0)

    def move(offset: timedelta = timedelta(0)) -> datetime:
        with in_app():
            set_clock(start + offset)
            db.session.commit()
        return start + offset

    move()
    return move


@pytest.fixture
def deactivate(in_app):
    """Deactivate an account through the service, as the system."""

    def run(user) -> None:
        with in_app():
            accounts.deactivate_user(SYSTEM, accounts.find_user_by_email(user.email))
            db.session.commit()

    return run


@pytest.fixture
def cli(app):
    """Invoke `flask --app app ...` against the test app."""
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def api_get(app):
    """GET an API path with a bearer token from a fresh client."""

    def get(token: str, path: str = "/api/v1/referrals"):
        return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})

    return get
