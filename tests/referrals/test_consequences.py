"""What entering `paused` or `closed` does, declared once beside the status machine and the same from every door."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from coordinator import clock
from coordinator.agreements.models import Agreement
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.referrals.models import Referral, ReferralStatus
from coordinator.referrals.workflow import entered
from coordinator.sessions.models import Reservation, ScheduledSession
from tests.factories import book

S = ReferralStatus


def receivers_of(status: ReferralStatus) -> list[str]:
    return sorted(f"{fn.__module__}.{fn.__name__}" for fn in entered.receivers_for(status))


def test_each_consequence_has_one_subscriber_and_the_workflow_imports_none(app):
    """The table in coordinator/referrals/workflow.py, held against what is connected to the signal."""
    cancel = "coordinator.sessions.cancellation.cancel_when_paused_or_closed"
    assert receivers_of(S.paused) == [cancel]
    assert receivers_of(S.closed) == ["coordinator.agreements.service.end_with_referral", cancel]
    for status in set(S) - {S.paused, S.closed}:
        assert receivers_of(status) == [], status
    source = Path("coordinator/referrals/workflow.py").read_text(encoding="utf-8")
    for domain in ("sessions", "agreements", "consent.service", "safety", "portal", "notifications"):
        assert f"coordinator.{domain}" not in source, domain


def upcoming(app, referral_id) -> list[ScheduledSession]:
    with app.app_context():
        return list(db.session.execute(select(ScheduledSession).where(
            ScheduledSession.referral_id == referral_id, ScheduledSession.status.in_(("proposed", "confirmed")),
            ScheduledSession.starts_at > clock.now())).scalars())


def active_reservations(app, referral_id) -> int:
    with app.app_context():
        return len(db.session.execute(select(Reservation).join(ScheduledSession).where(
            ScheduledSession.referral_id == referral_id, Reservation.active.is_(True))).scalars().all())


def cancellation_messages(app) -> list[tuple[str, uuid.UUID, str]]:
    with app.app_context():
        return sorted((m.idempotency_key.split(":")[1], m.recipient_id, m.channel) for m in db.session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "appointment_cancelled")).scalars())


def scheduled(factory, **overrides):
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="circle_scheduled", **overrides)
    return referral, coordinator, pair


def test_a_pause_from_the_page_cancels_the_booked_circle_and_tells_everyone_once(app, factory, browser):
    """It used to leave the circle proposed with its reservations (issue 11)."""
    referral, coordinator, pair = scheduled(factory)
    [circle] = upcoming(app, referral.id)
    assert active_reservations(app, referral.id) == 2
    response = browser(coordinator).post(f"/referrals/{referral.id}/transitions",
                                         {"to": "paused", "reason": "facilitator_stop"})
    assert response.status_code == 302
    assert upcoming(app, referral.id) == [] and active_reservations(app, referral.id) == 0
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        cancelled = db.session.get(ScheduledSession, circle.id)
        channels = sorted([(party.id, "email") for party in stored.parties]
                          + [(party.id, "sms") for party in stored.parties if party.phone])
        staff_told = {n.user_id for n in db.session.execute(
            select(StaffNotice).where(StaffNotice.key.startswith(f"session_cancelled:{circle.id}"))).scalars()}
    assert (stored.status, stored.paused_from) == ("paused", "circle_scheduled")
    assert (cancelled.status, cancelled.cancel_reason, cancelled.sequence) == ("cancelled", "facilitator_stop", 1)
    told = cancellation_messages(app)
    # Each party once per channel they have: the survivor has an email and a phone, the other party an email.
    assert sorted((recipient, channel) for _session, recipient, channel in told) == channels
    assert staff_told == {user.id for user in pair}


def test_a_pause_and_a_close_through_the_api_cancel_everything_booked(app, factory, api):
    """Every upcoming session, not only the circle, and the reservations with them."""
    referral, coordinator, _pair = scheduled(factory)
    with app.app_context():
        book(db.session.merge(coordinator), db.session.get(Referral, referral.id), "follow_up",
             clock.now() + timedelta(days=9))
        db.session.commit()
    assert len(upcoming(app, referral.id)) == 2
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/transitions"
    assert client.post(url, json={"to": "paused", "reason": "other"}).status_code == 200
    assert upcoming(app, referral.id) == [] and active_reservations(app, referral.id) == 0
    assert client.post(url, json={"to": "preparation"}).status_code == 200  # resumes where a booked circle goes
    assert client.post(url, json={"to": "closed", "reason": "not_suitable"}).status_code == 200
    assert upcoming(app, referral.id) == []


def test_nothing_can_be_booked_for_a_paused_referral(app, factory, api):
    """Otherwise a booking would undo what the pause did."""
    referral, coordinator, pair = scheduled(factory)
    client = api(coordinator)
    client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "paused", "reason": "other"})
    with app.app_context():
        start = clock.now() + timedelta(days=5)
    refused = client.post(f"/api/v1/referrals/{referral.id}/sessions", json={
        "kind": "pre_conference_survivor", "format": "video", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "facilitator_ids": [str(pair[0].id)]})
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["code"] == "referral_paused"


def test_closing_by_hand_ends_the_agreement_without_an_adverse_mark(app, factory, api):
    """The agreement ends as not completed; the prosecution is shown nothing of it."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=pair, status="monitoring")
    closed = api(coordinator).post(f"/api/v1/referrals/{referral.id}/transitions",
                                   json={"to": "closed", "reason": "safety"})
    assert closed.status_code == 200
    with app.app_context():
        agreement = db.session.execute(select(Agreement).where(Agreement.referral_id == referral.id)).scalar_one()
        docket = db.session.get(Referral, referral.id).case.docket_number
    assert agreement.status == "not_completed"
    [item] = api(prosecutor).get(f"/api/v1/prosecution/cases/{docket}").get_json()["referrals"]
    assert item["stage"] == "closed" and item["agreement"] is None


def test_a_withdrawal_tells_the_other_party_once_per_session(app, factory, api):
    """Withdrawal used to add its own message, under another key, to the one the cancellation sends."""
    referral, coordinator, _pair = scheduled(factory)
    [circle] = upcoming(app, referral.id)
    response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/consent", json={
        "party": "survivor", "scope": "participation", "decision": "withdrawn", "method": "in_person",
        "information_version": "v1"})
    assert response.status_code == 201
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        responsible = stored.responsible_party.id
    assert (stored.status, stored.status_reason) == ("closed", "consent_withdrawn")
    # The survivor decided; only the other party hears that an appointment will not take place.
    assert cancellation_messages(app) == [(str(circle.id), responsible, "email")]


PROSECUTOR_STAGE_LABEL = "Agreement being monitored"


def test_a_pause_after_the_circle_never_shows_to_the_prosecutor(app, factory, api, browser):
    """Every surface a prosecutor reaches shows the same stage (it used to say `preparation` on three of them)."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=pair, status="monitoring")
    client = api(prosecutor)
    response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/safety-incidents",
                                     json={"kind": "threat", "description": "Fictional threat."})
    assert response.status_code == 201 and response.get_json()["referral_status"] == "paused"
    with app.app_context():
        docket = db.session.get(Referral, referral.id).case.docket_number
    stages = {
        "case": client.get(f"/api/v1/prosecution/cases/{docket}").get_json()["referrals"][0]["stage"],
        "referral": client.get(f"/api/v1/referrals/{referral.id}").get_json()["stage"],
        "list": client.get("/api/v1/referrals").get_json()["items"][0]["stage"],
    }
    assert set(stages.values()) == {"agreement_monitoring"}, stages
    staff = browser(prosecutor)
    for url in ("/referrals", f"/referrals/{referral.id}", "/prosecution", f"/prosecution/cases/{docket}"):
        page = staff.get(url).get_data(as_text=True)
        assert PROSECUTOR_STAGE_LABEL in page, url
        assert "Paused" not in page and "Preparation" not in page, url
