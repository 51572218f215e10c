"""The confidentiality canary, after erasure: every confidential field of a referral holds a unique string; once the
schedule erased it, none of them is found anywhere: not in any page or API answer (for its coordinator, its
facilitator or its prosecutor), and not in a dump of the database, the key store included."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from coordinator.agreements.models import AgreementItem
from coordinator.cases.models import Hearing
from coordinator.cases.service import change_stage
from coordinator.db import db, keystore_file
from coordinator.referrals.models import Referral
from coordinator.referrals.workflow import transition
from coordinator.sessions.models import ScheduledSession
from tests.conftest import BACKEND
from tests.prosecution.test_canary import CANARIES, fill, first, plant
from tests.retention.helpers import PAST_RETENTION, pass_time

# The venue is the programme's, not the referral's: it stays, and so does its address.
ERASED = {name: value for name, value in CANARIES.items() if name != "venue_address"}


def found(text: str) -> list[str]:
    """The erased referral's canaries present in a text (case-insensitive: emails are lower-cased)."""
    lowered = text.lower()
    return [name for name, value in ERASED.items() if value.lower() in lowered]


def database_dump(app) -> str:
    """The whole database as text, as a backup tool would write it: data and key store."""
    url = make_url(app.config["DATABASE_URL"])
    if BACKEND == "sqlite":
        lines = []
        for path in (url.database, keystore_file(app.config["DATABASE_URL"])):
            with sqlite3.connect(path) as connection:
                lines.extend(connection.iterdump())
        return "\n".join(lines)
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["pg_dump", "--no-owner", plain], check=True, capture_output=True, text=True).stdout


def every_answer(app, values: dict, page, client) -> dict:
    """GET every page and API route of the application (URL map), filled with the referral's ids."""
    answers = {}
    for rule in app.url_map.iter_rules():
        url = fill(rule, values)
        if url is None or url in ("/portal/exit", "/logout") or "GET" not in rule.methods:
            continue
        answers[url] = (client.get(url) if url.startswith("/api/") else page.get(url)).get_data(as_text=True)
    return answers


def test_nothing_of_an_erased_referral_is_found_anywhere(app, factory, api, browser):
    held, agreement, venue = plant(app, factory)
    with app.app_context():
        coordinator = db.session.merge(held.coordinator)
        referral = db.session.get(Referral, held.referral.id)
        transition(coordinator, referral, "closed", reason="other", note=CANARIES["close_note"])
        change_stage(coordinator, referral, "closed")
        values = {"referral_id": referral.id, "docket_number": referral.case.docket_number,
                  "session_id": first(ScheduledSession, referral_id=referral.id).id, "agreement_id": agreement.id,
                  "item_id": first(AgreementItem, agreement_id=agreement.id).id,
                  "hearing_id": first(Hearing, case_id=referral.case_id).id, "venue_id": venue.id,
                  "user_id": held.lead.id, "facilitator_id": held.lead.id, "scope": "participation",
                  "party": "survivor", "fmt": "json"}
        db.session.commit()
    readers = [(browser(user), api(user)) for user in (held.coordinator, held.lead, held.prosecutor)]
    before = every_answer(app, values, *readers[0])
    assert set(found(before[f"/referrals/{held.referral.id}"])) >= {"survivor_alias", "intake_notes",
                                                                    "item_description"}
    assert set(found(before[f"/referrals/{held.referral.id}/parties/survivor/export.json"])) >= {
        "survivor_alias", "survivor_email", "item_description"}

    pass_time(app, PAST_RETENTION)
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert held.referral.reference in result.output and "referrals: 2 erased" in result.output

    leaks = {}
    for page, client in readers:
        answers = every_answer(app, values, page, client)
        assert len(answers) > 60
        leaks.update({url: hit for url, body in answers.items() if (hit := found(body))})
    assert leaks == {}
    assert found(database_dump(app)) == []
    with app.app_context():
        assert db.session.execute(select(Referral.erased_at).where(Referral.id == held.referral.id)).scalar_one()
