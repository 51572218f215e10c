"""Safety incidents and protective orders: an incident pauses at once and only a new assessment resumes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import User
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.referrals.models import Referral
from coordinator.safety.models import SafetyIncident
from coordinator.sessions.models import ScheduledSession
from tests.factories import LOW_RISK, book


def add_session(app, referral, kind: str, days: int = 7) -> None:
    """An upcoming session, booked by the lead facilitator."""
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        book(db.session.get(User, stored.lead_facilitator_id), stored, kind, clock.now() + timedelta(days=days))
        db.session.commit()


def test_an_incident_pauses_cancels_sessions_and_alerts(app, factory, api):
    """At once, in one request: paused, every upcoming session cancelled (both parties told, neutrally), the
    coordinator and facilitators alerted."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
    add_session(app, referral, "circle")
    add_session(app, referral, "follow_up", days=20)
    response = api(pair[0]).post(f"/api/v1/referrals/{referral.id}/safety-incidents",
                                 json={"kind": "threat", "description": "threatening messages"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["kind"], body["referral_status"]) == ("threat", "paused")
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        statuses = {s.kind: s.status for s in db.session.execute(
            select(ScheduledSession).where(ScheduledSession.kind.in_(("circle", "follow_up")))).scalars()}
        alerted = {n.user_id for n in db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "unsafe_reported")).scalars()}
        emails = db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "unsafe_reported")
                                    ).scalars().all()
        incident = db.session.execute(select(SafetyIncident)).scalar_one()
        assert incident.description == "threatening messages"
    assert (stored.status, stored.status_reason, stored.paused_from) == ("paused", "safety_incident",
                                                                         "circle_scheduled")
    assert statuses == {"circle": "cancelled", "follow_up": "cancelled"}
    assert alerted == {coordinator.id, *(user.id for user in pair)} and len(emails) == 3
    assert "threatening" not in response.get_data(as_text=True)


def test_resuming_needs_an_assessment_made_after_the_incident(app, factory, api):
    """The old assessment does not count; a new one lets the coordinator resume (to preparation)."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
    client = api(coordinator)
    client.post(f"/api/v1/referrals/{referral.id}/safety-incidents", json={"kind": "retaliation"})
    transitions = f"/api/v1/referrals/{referral.id}/transitions"
    refused = client.post(transitions, json={"to": "preparation"})
    assert refused.status_code == 409
    assert [item["code"] for item in refused.get_json()["error"]["details"]] == ["risk_assessment_missing"]
    readiness = client.get(f"/api/v1/referrals/{referral.id}/readiness").get_json()
    assert {"referral_paused", "risk_assessment_missing"} <= {item["code"] for item in readiness["unmet"]}
    client.post(f"/api/v1/referrals/{referral.id}/risk-assessments", json={"answers": LOW_RISK})
    resumed = client.post(transitions, json={"to": "preparation"})
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "preparation"


def test_a_facilitator_can_stop_at_any_time_with_a_reason(factory, api):
    """Any assigned facilitator pauses a referral; without a reason it is refused."""
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(facilitators=pair, status="preparation")
    client = api(pair[1])
    url = f"/api/v1/referrals/{referral.id}/transitions"
    assert client.post(url, json={"to": "paused"}).status_code == 400
    stopped = client.post(url, json={"to": "paused", "reason": "facilitator_stop", "note": "not safe today"})
    assert stopped.status_code == 200 and stopped.get_json()["status_reason"] == "facilitator_stop"


def test_incidents_are_validated_and_scoped(factory, api):
    """A wrong kind is 400; a prosecutor and an unassigned facilitator do not reach the referral."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, prosecutor=factory.user("prosecutor"))
    url = f"/api/v1/referrals/{referral.id}/safety-incidents"
    assert api(coordinator).post(url, json={"kind": "gossip"}).status_code == 400
    assert api(factory.user("facilitator")).post(url, json={"kind": "threat"}).status_code == 404


def test_a_no_contact_order_allows_only_indirect_formats(app, factory, api):
    """Recorded through the API, the order blocks in person and video until it expires, not shuttle or letter."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
    client = api(coordinator)
    expires = (clock_today(app) + timedelta(days=60)).isoformat()
    created = client.post(f"/api/v1/referrals/{referral.id}/protective-orders",
                          json={"court_reference": "PO-2026-77 (secret)", "no_contact": True, "expires_on": expires})
    assert created.status_code == 201 and "secret" not in created.get_data(as_text=True)
    base = f"/api/v1/referrals/{referral.id}/readiness"
    for fmt, expected in (("in_person", ["protective_order"]), ("video", ["protective_order"]),
                          ("shuttle", []), ("letter", [])):
        assert [u["code"] for u in client.get(f"{base}?format={fmt}").get_json()["unmet"]] == expected, fmt
    after = (clock_today(app) + timedelta(days=61)).isoformat()
    with app.app_context():
        clock.set_clock(clock.now() + timedelta(days=1))
        db.session.commit()
    later = [u["code"] for u in client.get(f"{base}?format=in_person&date={after}").get_json()["unmet"]]
    assert "protective_order" not in later


def clock_today(app):
    """Today by the service clock."""
    with app.app_context():
        return clock.now().date()


def test_the_safety_page_records_incidents_orders_and_acknowledgements(app, factory, browser):
    """The forms on the safety page; an incident pauses the referral."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, status="screening")
    staff = browser(coordinator)
    base = f"/referrals/{referral.id}"
    assert staff.post(f"{base}/acknowledgement", {"basis": "agreed_facts", "reference": "Agreed facts, 4 May"}
                      ).status_code == 302
    assert staff.post(f"{base}/protective-orders", {"court_reference": "PO-1", "no_contact": "y",
                                                    "expires_on": "2030-01-01"}).status_code == 302
    assert staff.post(f"{base}/safety-incidents", {"kind": "contact_violation", "description": "seen nearby"}
                      ).status_code == 302
    page = staff.get(f"{base}/safety").get_data(as_text=True)
    assert "Agreed facts, 4 May" in page and "PO-1" in page and "seen nearby" in page
    with app.app_context():
        assert db.session.get(Referral, referral.id).status == "paused"
    assert browser(factory.user("prosecutor")).get(f"{base}/safety").status_code == 403
