"""Booking: the slot search's options can be booked; clashes, gates and the referral's status."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.sessions.models import Reservation, ScheduledSession, SessionParticipant
from tests.sessions.helpers import bookable, in_days


def circle_body(case, start, minutes: int = 120, **extra) -> dict:
    """A circle booking request."""
    return {"kind": "circle", "format": "in_person", "start": start.isoformat(),
            "end": (start + timedelta(minutes=minutes)).isoformat(),
            "facilitator_ids": [str(case.lead.id), str(case.co.id)], "venue_id": str(case.venue.id), **extra}


def test_a_slot_from_the_search_can_be_booked(app, factory, api):
    """The first option books; the referral moves to circle_scheduled; the parties are placed, staggered."""
    case = bookable(app, factory)
    client = api(case.coordinator)
    found = client.get(f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=in_person&duration=120"
                       "&limit=5").get_json()["slots"]
    assert len(found) == 5
    first = found[0]
    assert set(first["facilitator_ids"]) == {str(case.lead.id), str(case.co.id)}
    assert first["venue_id"] == str(case.venue.id)
    response = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "circle", "format": "in_person", "start": first["start"], "end": first["end"],
        "facilitator_ids": first["facilitator_ids"], "venue_id": first["venue_id"]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "proposed" and body["sequence"] == 0
    roles = {p["party"]: p for p in body["participants"]}
    assert roles["responsible_party"]["arrive_at"] < roles["survivor"]["arrive_at"]
    assert roles["responsible_party"]["leave_at"] > roles["survivor"]["leave_at"]
    with app.app_context():
        assert db.session.get(Referral, case.referral.id).status == "circle_scheduled"
        reservations = db.session.execute(select(Reservation).where(Reservation.session_id == uuid.UUID(body["id"]))
                                          ).scalars().all()
        assert {r.resource_type for r in reservations} == {"facilitator", "venue"} and len(reservations) == 3
    later = client.get(f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=in_person&duration=120"
                       "&limit=5").get_json()["slots"]
    assert first["start"] not in [slot["start"] for slot in later]


def test_overlapping_bookings_are_refused(app, factory, api):
    """The same facilitators, overlapping or inside the 30-minute buffer: 409 conflict."""
    case = bookable(app, factory, status="screening")
    client = api(case.coordinator)
    client.post(f"/api/v1/referrals/{case.referral.id}/consent", json={
        "party": "survivor", "scope": "participation", "decision": "granted", "method": "in_person",
        "information_version": "v1"})
    start = in_days(app, 5)
    body = {"kind": "pre_conference_survivor", "format": "video", "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(), "facilitator_ids": [str(case.lead.id)]}
    assert client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json=body).status_code == 201
    for offset in (0, 30, 75):
        moved = start + timedelta(minutes=offset)
        clash = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
            **body, "start": moved.isoformat(), "end": (moved + timedelta(hours=1)).isoformat()})
        assert clash.status_code == 409, offset
        assert clash.get_json()["error"]["code"] == "conflict"
    after = start + timedelta(minutes=90)
    assert client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        **body, "start": after.isoformat(), "end": (after + timedelta(hours=1)).isoformat()}).status_code == 201


def test_a_circle_needs_the_readiness_gate(app, factory, api):
    """A referral still in screening: 409 gate_failed with the unmet conditions; nothing booked."""
    case = bookable(app, factory, status="screening")
    response = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/sessions",
                                          json=circle_body(case, in_days(app, 6)))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "gate_failed"
    assert "referral_state" in {item["code"] for item in response.get_json()["error"]["details"]}
    with app.app_context():
        assert db.session.execute(select(ScheduledSession)).first() is None


def test_booking_requests_are_validated(app, factory, api):
    """Naive times, too soon, too long, someone who is not a facilitator, a missing venue: 400 with fields."""
    case = bookable(app, factory)
    client = api(case.coordinator)
    url = f"/api/v1/referrals/{case.referral.id}/sessions"
    start = in_days(app, 6)
    cases = [
        ({"start": start.replace(tzinfo=None).isoformat()}, "start"),
        ({"start": in_days(app, 1).isoformat(), "end": (in_days(app, 1) + timedelta(hours=1)).isoformat()}, "start"),
        ({"end": (start + timedelta(hours=9)).isoformat()}, "end"),
        ({"facilitator_ids": [str(case.lead.id), str(case.coordinator.id)]}, "facilitator_ids"),
        ({"venue_id": None}, "venue_id"),
    ]
    for change, field in cases:
        response = client.post(url, json={**circle_body(case, start), **change})
        assert response.status_code == 400 and field in response.get_json()["error"]["details"], change


def test_cancel_and_held_move_the_referral(app, factory, api):
    """A cancelled circle makes room for another (back to ready); a held one moves on to circle_held."""
    case = bookable(app, factory)
    client = api(case.coordinator)
    booked = client.post(f"/api/v1/referrals/{case.referral.id}/sessions",
                         json=circle_body(case, in_days(app, 6))).get_json()
    cancelled = client.post(f"/api/v1/sessions/{booked['id']}/cancel", json={"reason": "party_request"})
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["sequence"]) == ("cancelled", 1)
    with app.app_context():
        assert db.session.get(Referral, case.referral.id).status == "ready"
        assert not any(r.active for r in db.session.execute(select(Reservation)).scalars())
    again = client.post(f"/api/v1/referrals/{case.referral.id}/sessions",
                        json=circle_body(case, in_days(app, 6))).get_json()
    assert again["status"] == "proposed"
    assert client.post(f"/api/v1/sessions/{again['id']}/held", json={"attended": ["survivor"]}).status_code == 409
    with app.app_context():
        clock.set_clock(clock.now() + timedelta(days=7))
        db.session.commit()
    held = client.post(f"/api/v1/sessions/{again['id']}/held", json={"attended": ["survivor", "responsible_party"]})
    assert held.status_code == 200 and held.get_json()["status"] == "held"
    with app.app_context():
        assert db.session.get(Referral, case.referral.id).status == "circle_held"
        attended = db.session.execute(select(SessionParticipant.attended)
                                      .where(SessionParticipant.session_id == uuid.UUID(again["id"]))).scalars().all()
        assert attended == [True, True]


def test_reschedule_raises_the_sequence_and_asks_again(app, factory, api):
    """Moved: SEQUENCE 1, the parties' answers reset, the old time free again."""
    case = bookable(app, factory)
    client = api(case.coordinator)
    first = in_days(app, 6)
    booked = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json=circle_body(case, first)).get_json()
    moved_to = in_days(app, 8)
    moved = client.post(f"/api/v1/sessions/{booked['id']}/reschedule", json={
        "start": moved_to.isoformat(), "end": (moved_to + timedelta(hours=2)).isoformat()})
    assert moved.status_code == 200
    assert moved.get_json()["sequence"] == 1 and moved.get_json()["start"].startswith(moved_to.date().isoformat())
    with app.app_context():
        active = db.session.execute(select(Reservation).where(Reservation.active.is_(True))).scalars().all()
        assert len(active) == 3 and all(r.starts_at.date() == moved_to.date() for r in active)


def test_only_staff_in_scope_book(app, factory, api):
    """A prosecutor is refused; an unassigned facilitator does not see the referral."""
    case = bookable(app, factory)
    url = f"/api/v1/referrals/{case.referral.id}/sessions"
    body = circle_body(case, in_days(app, 6))
    assert api(factory.user("facilitator")).post(url, json=body).status_code == 404
    prosecutor = factory.user("prosecutor")
    assert api(prosecutor).post(url, json=body).status_code == 404


def test_the_booking_page_books_the_offered_slot_and_refuses_a_tampered_one(app, factory, browser):
    """The search page offers slots; its form books one; a forged time comes back as an error and writes nothing."""
    case = bookable(app, factory)
    client = browser(case.coordinator)
    page = client.get(f"/referrals/{case.referral.id}/sessions/new?kind=circle&format=in_person&duration=120")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-action="book-slot"' in html
    form = html.split('data-action="book-slot"')[0].rsplit("<form", 1)[1]
    slot = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    forged = client.post(f"/referrals/{case.referral.id}/sessions", {**slot, "start": "tomorrow at nine"},
                         follow_redirects=True)
    assert forged.status_code == 200 and "Search again" in forged.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(ScheduledSession).where(ScheduledSession.kind == "circle")).first() is None
    booked = client.post(f"/referrals/{case.referral.id}/sessions", slot)
    assert booked.status_code == 302
    with app.app_context():
        session = db.session.execute(select(ScheduledSession).where(ScheduledSession.kind == "circle")).scalar_one()
        assert session.starts_at.isoformat() == datetime.fromisoformat(slot["start"]).astimezone(UTC).isoformat()
        assert db.session.get(Referral, case.referral.id).status == "circle_scheduled"
