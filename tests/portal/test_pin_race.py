"""Parallel PIN guesses: twenty processes guessing at once get at most five guesses checked, and the link locks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.portal import service
from coordinator.portal.models import SecureLink
from tests.conftest import BACKEND, make_app
from tests.portal.helpers import Phone, link_for
from tests.races import STARTUP_SECONDS, answers_at_once

GUESSERS = 20


def _guess_in_a_process(database_url: str, settings: dict, path: str, barrier, results) -> None:
    """One thief on their own phone: take the page's CSRF token, wait for the others, send one wrong PIN."""
    app = make_app(database_url, **settings)
    checked = 0
    pin_matches = service._pin_matches

    def counting(link, pin):
        nonlocal checked
        checked += 1  # one argon2 verification
        return pin_matches(link, pin)

    service._pin_matches = counting
    try:
        phone = Phone(app.test_client())
        token = phone.csrf(phone.open(path))
        barrier.wait(timeout=STARTUP_SECONDS)
        status = phone.client.post(path, data={"csrf_token": token, "pin": "0000"}).status_code
        results.put((checked, status))
    except BaseException as error:
        results.put((checked, repr(error)))  # an answer the assertions will show, rather than a silent timeout
        raise
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.skipif(BACKEND == "sqlite", reason="SQLite lets one writer in at a time (BEGIN IMMEDIATE): guesses "
                    "cannot run in parallel there; the single-process PIN test covers its counting")
def test_twenty_parallel_wrong_pins_get_at_most_five_checks_and_lock_the_link(app, case, phone, database_url):
    """Counted in one UPDATE ... RETURNING before the check: never more than five argon2 verifications."""
    path = link_for(app, case)
    owner = phone()
    owner.continue_link(path)
    assert owner.post("/portal/pin", {"pin": "2468"}).status_code == 302

    settings = {"COORDINATOR_ENCRYPTION_KEYS": app.config["COORDINATOR_ENCRYPTION_KEYS"]}
    answers = answers_at_once(_guess_in_a_process, (database_url, settings, path), GUESSERS)

    checks = sum(checked for checked, _status in answers)
    statuses = sorted(status for _checked, status in answers)
    assert checks == 5
    assert statuses == [400] * 4 + [404] * 16  # four "attempts left", then the generic page for everyone else
    with app.app_context():
        link = db.session.execute(select(SecureLink)).scalar_one()
        assert link.locked_at is not None and link.pin_failures == 5
        wrong = db.session.execute(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "link.pin_failed")).scalar_one()
        locked = db.session.execute(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == "link.locked")).scalar_one()
    assert (wrong, locked) == (5, 1)
    assert owner.open("/portal").status_code == 401  # the owner's session ended with the lock
