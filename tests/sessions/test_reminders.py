"""Reminders 48 and 2 hours before a session: once each, only to parties who confirmed, fresh after a move,
and over real SMTP with nothing personal of anyone but the recipient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.referrals.models import Referral
from coordinator.sessions.reminders import due_offset
from tests.notifications.conftest import smtp  # noqa: F401  (the real SMTP server fixture)
from tests.sessions.calendar_helpers import (
    SURVIVOR,
    answer,
    book,
    cancel,
    make_case,
    move_clock,
    reschedule,
    session_row,
)

BASE_URL = "https://circles.example.org"


@pytest.fixture
def app_settings(smtp):  # noqa: F811
    """Mail goes to the test SMTP server; links are built from a known base URL."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "COORDINATOR_BASE_URL": BASE_URL}


def run_job(app) -> str:
    """Run the reminder job once, as the scheduler would (`flask --app app jobs run send_reminders`)."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "send_reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def reminders(app) -> dict[str, OutboxMessage]:
    """Every queued reminder, by idempotency key."""
    with app.app_context():
        rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "session_reminder"))
        return {message.idempotency_key: message for message in rows.scalars()}


def reminder_notices(app) -> list[StaffNotice]:
    """The facilitators' in-app reminder notices."""
    with app.app_context():
        return list(db.session.execute(select(StaffNotice).where(StaffNotice.template == "session_reminder"))
                    .scalars())


def party_id(app, case, role: str):
    """A party's id."""
    with app.app_context():
        return db.session.get(Referral, case.referral.id).party(role).id


def test_each_reminder_is_queued_once_however_often_the_job_runs(app, factory):
    """48 hours before, then 2 hours before: each facilitator and the party who confirmed, once per offset."""
    case = make_case(app, factory)
    session_id = book(app, case, kind="follow_up", days=4)
    answer(app, case, session_id, "survivor")  # the responsible party has not answered
    starts_at = session_row(app, session_id).starts_at
    survivor = party_id(app, case, "survivor")

    move_clock(app, starts_at - timedelta(hours=49))
    assert "0 reminders queued" in run_job(app)
    assert reminders(app) == {}

    move_clock(app, starts_at - timedelta(hours=47, minutes=55))
    assert "3 reminders queued" in run_job(app)
    assert "0 reminders queued" in run_job(app)  # the job runs again: nothing more
    queued = reminders(app)
    prefix = f"session_reminder:{session_id}:0:48h"
    assert set(queued) == {f"{prefix}:user:{user.id}:email" for user in case.facilitators} | {
        f"{prefix}:party:{survivor}"}
    assert queued[f"{prefix}:party:{survivor}"].channel == "sms"  # the survivor has a phone
    assert queued[f"{prefix}:party:{survivor}"].params == {"session_id": str(session_id)}  # ids only
    assert len(reminder_notices(app)) == 2

    move_clock(app, starts_at - timedelta(hours=1, minutes=58))
    assert "3 reminders queued" in run_job(app)
    run_job(app)
    assert len(reminders(app)) == 6 and len(reminder_notices(app)) == 4
    assert sum(key.startswith(f"session_reminder:{session_id}:0:2h") for key in reminders(app)) == 3

    move_clock(app, starts_at + timedelta(minutes=1))  # under way: no more reminders
    assert "0 reminders queued" in run_job(app)
    assert len(reminders(app)) == 6


def test_a_party_that_has_not_confirmed_gets_no_reminder(app, factory):
    """Pending and declined answers get nothing; the facilitators are still reminded."""
    case = make_case(app, factory)
    session_id = book(app, case, kind="follow_up", days=4)
    answer(app, case, session_id, "survivor", "declined")
    move_clock(app, session_row(app, session_id).starts_at - timedelta(hours=2))

    run_job(app)

    queued = reminders(app)
    assert len(queued) == 2 and all(message.recipient_kind == "user" for message in queued.values())


def test_a_scheduler_back_from_an_outage_sends_only_the_reminder_due_now(app, factory):
    """Both offsets passed unseen: only the 2-hour reminder goes, not a late 48-hour one as well."""
    session_start = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert due_offset(session_start, session_start - timedelta(hours=1), [2, 48]) == 2
    assert due_offset(session_start, session_start - timedelta(hours=3), [2, 48]) == 48
    assert due_offset(session_start, session_start - timedelta(hours=49), [2, 48]) is None
    assert due_offset(session_start, session_start, [2, 48]) is None
    case = make_case(app, factory)
    session_id = book(app, case, kind="follow_up", days=4)
    move_clock(app, session_row(app, session_id).starts_at - timedelta(hours=1))
    run_job(app)
    assert {key.split(":")[3] for key in reminders(app)} == {"2h"}


def test_a_rescheduled_session_gets_fresh_reminders_and_a_cancelled_one_none(app, factory):
    """Moving a session raises its SEQUENCE, and the reminders of the new time are new messages."""
    case = make_case(app, factory)
    session_id = book(app, case, kind="follow_up", days=4)
    for role in ("survivor", "responsible_party"):
        answer(app, case, session_id, role)
    starts_at = session_row(app, session_id).starts_at
    move_clock(app, starts_at - timedelta(hours=47))
    run_job(app)
    assert len(reminders(app)) == 4  # two facilitators, two parties

    reschedule(app, case, session_id, days=3)  # from the moved clock: three days on
    moved = session_row(app, session_id)
    assert moved.sequence == 1
    answer(app, case, session_id, "survivor")  # asked again; the responsible party has not answered yet
    move_clock(app, moved.starts_at - timedelta(hours=48))
    assert "3 reminders queued" in run_job(app)
    fresh = [key for key in reminders(app) if key.startswith(f"session_reminder:{session_id}:1:48h")]
    assert len(fresh) == 3 and len(reminders(app)) == 7

    cancel(app, case, session_id)
    move_clock(app, moved.starts_at - timedelta(hours=1))
    assert "0 reminders queued" in run_job(app)


def test_reminders_reach_the_real_mail_server_with_nothing_personal(app, factory, smtp):  # noqa: F811
    """Each email names only its own recipient; the parties' messages lead to the portal, not a staff page."""
    no_phone = {**SURVIVOR, "contact": {"email": SURVIVOR["contact"]["email"]}}
    case = make_case(app, factory, survivor=no_phone)
    session_id = book(app, case, kind="follow_up", days=4)
    for role in ("survivor", "responsible_party"):
        answer(app, case, session_id, role)
    texting = make_case(app, factory, facilitators=case.facilitators)  # a survivor with a phone, for the SMS
    texted = book(app, texting, kind="pre_conference_survivor", days=4, hour=7)
    answer(app, texting, texted, "survivor")
    move_clock(app, session_row(app, session_id).starts_at - timedelta(hours=47))
    run_job(app)
    with app.app_context():
        report = dispatch_outbox("test")

    assert report.parked == 0
    lead, co = case.facilitators
    everyone = {lead.email: "Fiona Lead", co.email: "Colm Second"}  # their names, as the factory gave them
    secrets = case.secrets + texting.secrets
    reminders_sent = [m for m in smtp.inbox.messages
                      if m["subject"] in ("Reminder of an appointment", "Reminder of your appointment")]
    assert {address for m in reminders_sent for address in m["to"]} == {
        lead.email, co.email, SURVIVOR["contact"]["email"], "gregorio.gris@example.org"}
    for message in reminders_sent:
        [recipient] = message["to"]
        content = message["subject"] + message["text"] + message["html"]
        # Staff emails link to the referral's page (its random id, no reference); parties' lead nowhere near it.
        staff_link = {str(case.referral.id), str(texting.referral.id)} if recipient in everyone else set()
        allowed = {recipient} | staff_link
        for secret in secrets:
            if secret not in allowed:
                assert secret not in content, (recipient, secret)
        for address, name in everyone.items():
            if address != recipient:
                assert name not in content and address not in content, (recipient, name)
        if recipient in everyone:
            assert everyone[recipient] in message["text"]  # staff are greeted by name, their own only
            assert f"{BASE_URL}/referrals/" in message["text"]
        else:
            assert f"{BASE_URL}/p/" in message["text"].split() and "/referrals/" not in content
    assert len([m for m in reminders_sent if m["to"] == [lead.email]]) == 2  # one per session

    [text] = [sms for sms in app.extensions["sms_provider"].sent if "Reminder" in sms["body"]]
    assert text["to"] == SURVIVOR["contact"]["phone"]
    assert text["body"] == f"Reminder: you have an appointment soon. Details: {BASE_URL}/p/"


def test_the_reminder_job_is_listed_every_five_minutes():
    """One line in the one list of jobs: every 5 minutes, 10 minutes' grace after a missed run."""
    job = JOBS_BY_ID["send_reminders"]
    assert job.schedule({}) == "every 300 s" and job.misfire_grace_seconds == 600
