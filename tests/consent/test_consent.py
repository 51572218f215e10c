"""Consent decisions through the API and the referral page: statuses, history, gates, expiry, append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from coordinator import clock
from coordinator.consent.models import ConsentDecision
from coordinator.db import db
from coordinator.referrals.models import Referral
from tests.factories import prepare_for_circle

SCOPES = ("participation", "contact_other_party", "share_outcome_with_court")


def grant(client, referral, party="survivor", scope="participation", decision="granted", **extra):
    """POST a decision made in person."""
    return client.post(f"/api/v1/referrals/{referral.id}/consent", json={
        "party": party, "scope": scope, "decision": decision, "method": "in_person", "information_version": "v1",
        **extra})


@pytest.fixture
def referral(factory):
    """A referral in screening with its coordinator."""
    coordinator = factory.user("coordinator")
    return factory.referral(by=coordinator, status="screening"), coordinator


def test_everything_starts_not_requested(referral, api):
    """Before anyone is asked: not_requested for each party and scope, with no dates."""
    item, coordinator = referral
    body = api(coordinator).get(f"/api/v1/referrals/{item.id}/consent").get_json()
    assert set(body) == {"survivor", "responsible_party"}
    for party in body.values():
        assert set(party) == set(SCOPES)
        assert all(state == {"status": "not_requested", "since": None, "expires_at": None}
                   for state in party.values())


def test_a_link_makes_it_pending_and_a_grant_lasts_ninety_days(app, referral, api):
    """pending once invited; granted with since and expires_at; expired after 90 days."""
    item, coordinator = referral
    client = api(coordinator)
    client.post(f"/api/v1/referrals/{item.id}/links", json={"party": "survivor", "channel": "handover"})
    assert client.get(f"/api/v1/referrals/{item.id}/consent").get_json()["survivor"]["participation"]["status"] \
        == "pending"
    created = grant(client, item)
    assert created.status_code == 201
    assert created.get_json()["information_version"] == "v1"
    assert created.get_json()["information_language"] == "es"  # the survivor's language, by default
    state = client.get(f"/api/v1/referrals/{item.id}/consent").get_json()["survivor"]["participation"]
    assert state["status"] == "granted" and state["since"] and state["expires_at"]
    with app.app_context():
        clock.set_clock(clock.now() + timedelta(days=91))
        db.session.commit()
    assert client.get(f"/api/v1/referrals/{item.id}/consent").get_json()["survivor"]["participation"]["status"] \
        == "expired"


def test_decisions_are_validated(referral, api):
    """Unknown values, a staff method of secure_link, and a sheet that does not exist are 400."""
    item, coordinator = referral
    client = api(coordinator)
    for change, field in (({"scope": "everything"}, "scope"), ({"decision": "maybe"}, "decision"),
                          ({"method": "secure_link"}, "method"), ({"party": "judge"}, "party")):
        response = grant(client, item, **change)
        assert response.status_code == 400 and field in response.get_json()["error"]["details"], change
    missing = grant(client, item, information_version="v7")
    assert missing.status_code == 400 and "information_version" in missing.get_json()["error"]["details"]


def test_the_responsible_party_cannot_be_recorded_as_agreeing_before_the_survivor(referral, api):
    """409 gate_failed: agreeing implies contact; withdrawing is never refused."""
    item, coordinator = referral
    client = api(coordinator)
    refused = grant(client, item, party="responsible_party")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "gate_failed"
    assert grant(client, item, party="responsible_party", decision="withdrawn").status_code == 201
    grant(client, item, scope="contact_other_party")
    assert grant(client, item, party="responsible_party").status_code == 201


def test_who_may_record(factory, referral, api):
    """Coordinators and assigned facilitators; prosecutors and admins cannot, others do not see the referral."""
    item, _coordinator = referral
    prosecutor = factory.user("prosecutor")
    assert grant(api(prosecutor), item).status_code == 404
    assert grant(api(factory.user("admin")), item).status_code == 404
    assert grant(api(factory.user("facilitator")), item).status_code == 404


def test_past_screening_needs_participation(app, referral, api):
    """The referral cannot enter preparation without the survivor's participation."""
    item, coordinator = referral
    client = api(coordinator)
    url = f"/api/v1/referrals/{item.id}/transitions"
    assert client.post(url, json={"to": "preparation"}).status_code == 409
    grant(client, item)
    assert client.post(url, json={"to": "preparation"}).status_code == 200


def test_ready_needs_every_consent(app, factory, api):
    """A survivor who takes back her agreement to contact stops the referral from being ready until she gives it
    again (the readiness gate's own tests cover each consent condition one by one)."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    item = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    client = api(coordinator)
    with app.app_context():
        prepare_for_circle(db.session.merge(coordinator), db.session.get(Referral, item.id))
        db.session.commit()
    grant(client, item, scope="contact_other_party", decision="withdrawn")
    refused = client.post(f"/api/v1/referrals/{item.id}/transitions", json={"to": "ready"})
    assert {d["code"] for d in refused.get_json()["error"]["details"]} == {"consent_survivor_contact_other_party"}
    grant(client, item, scope="contact_other_party")
    assert client.post(f"/api/v1/referrals/{item.id}/transitions", json={"to": "ready"}).status_code == 200


def test_a_staff_recorded_withdrawal_closes_the_referral(app, referral, api):
    """Never overridable: participation withdrawn closes it with consent_withdrawn."""
    item, coordinator = referral
    client = api(coordinator)
    grant(client, item)
    assert grant(client, item, decision="withdrawn").status_code == 201
    shown = client.get(f"/api/v1/referrals/{item.id}").get_json()
    assert (shown["status"], shown["status_reason"]) == ("closed", "consent_withdrawn")
    assert client.post(f"/api/v1/referrals/{item.id}/transitions", json={"to": "screening"}).status_code == 409


def test_decisions_are_append_only(app, referral, api):
    """The database itself refuses to change a recorded decision."""
    item, coordinator = referral
    grant(api(coordinator), item)
    with app.extensions["db_engine"].connect() as connection, pytest.raises(DBAPIError):
        connection.execute(text("UPDATE consent_decisions SET decision = 'withdrawn'"))
    with app.app_context():
        assert db.session.execute(select(ConsentDecision.decision)).scalar_one() == "granted"


def test_the_referral_page_shows_each_status_and_the_full_history(app, referral, api, browser):
    """The consent panel: statuses, every decision with method and sheet, and the record form."""
    item, coordinator = referral
    client = api(coordinator)
    grant(client, item)
    grant(client, item, scope="share_outcome_with_court", information_language="fr")
    grant(client, item, decision="withdrawn")
    page = browser(coordinator).get(f"/referrals/{item.id}").get_data(as_text=True)
    assert 'id="consent-heading"' in page
    assert "Every decision (3)" in page
    assert "sheet v1" in page and "In person" in page
    assert page.count("consent-status--withdrawn") == 1 and page.count("consent-status--granted") == 1


def test_recording_from_the_page(app, referral, browser):
    """The form on the referral page records a decision in the chosen sheet language."""
    item, coordinator = referral
    staff = browser(coordinator)
    response = staff.post(f"/referrals/{item.id}/consent", {
        "party": "survivor", "scope": "participation", "decision": "granted", "method": "via_advocate",
        "information_language": "en"})
    assert response.status_code == 302
    with app.app_context():
        decision = db.session.execute(select(ConsentDecision)).scalar_one()
        referral_row = db.session.get(Referral, item.id)
        assert (decision.method, decision.sheet_language, decision.party_id) == ("via_advocate", "en",
                                                                                 referral_row.survivor.id)
    refused = staff.post(f"/referrals/{item.id}/consent", {
        "party": "responsible_party", "scope": "participation", "decision": "granted", "method": "in_person",
        "information_language": "en"})
    assert refused.status_code == 302
    assert "has not agreed to contact" in staff.get(refused.headers["Location"]).get_data(as_text=True)
