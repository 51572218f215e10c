"""Parallel password guesses: twenty processes guessing one account at once get at most five passwords checked."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coordinator.accounts import signin
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from tests.conftest import BACKEND, make_app
from tests.factories import CSRF
from tests.races import STARTUP_SECONDS, answers_at_once

GUESSERS = 20


def _guess_in_a_process(database_url: str, settings: dict, email: str, barrier, results) -> None:
    """One guesser: take the form's CSRF token, wait for the others, send one wrong password."""
    app = make_app(database_url, **settings)
    checked = 0
    matches = signin.password_matches

    def counting(user, password):
        nonlocal checked
        checked += 1  # one argon2 verification
        return matches(user, password)

    signin.password_matches = counting
    try:
        client = app.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        barrier.wait(timeout=STARTUP_SECONDS)
        status = client.post("/login", data={"csrf_token": token, "email": email, "password": "not-it-at-all-9"}
                             ).status_code
        results.put((checked, status))
    except BaseException as error:
        results.put((checked, repr(error)))
        raise
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.skipif(BACKEND == "sqlite", reason="SQLite lets one writer in at a time (BEGIN IMMEDIATE): attempts "
                    "cannot run in parallel there; tests/accounts cover the counting itself")
def test_twenty_parallel_wrong_passwords_get_at_most_five_checks(app, factory, database_url):
    """The pair's turn is taken before the check and held until the failure is counted: five checks, no more."""
    user = factory.user("coordinator")
    settings = {"COORDINATOR_ENCRYPTION_KEYS": app.config["COORDINATOR_ENCRYPTION_KEYS"],
                "SECRET_KEY": app.config["SECRET_KEY"]}
    answers = answers_at_once(_guess_in_a_process, (database_url, settings, user.email), GUESSERS)

    checks = sum(checked for checked, _status in answers)
    assert checks == 5, answers
    assert all(isinstance(status, int) and status < 500 for _checked, status in answers), answers
    with app.app_context():
        throttled = db.session.execute(select(func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.action == "auth.login_throttled")).scalar_one()
    assert throttled == GUESSERS - 5
