"""The prosecution's view: exactly docs/api.md's fields, only the prosecutor's own cases, every view a disclosure."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.audit.service import referral_trail
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Referral
from tests.agreements.helpers import activated, held_circle, share_with_court
from tests.factories import book
from tests.queries import counted_statements

SECRETS = ("Confidential Alias", "Hidden Responsible", "hidden@example.org", "secret intake note", "Forced labour")


def build(factory, app):
    """Two referrals on one case of the prosecutor, one with its circle booked twelve days ahead; another
    prosecutor's case."""
    prosecutor = factory.user("prosecutor")
    coordinator = factory.user("coordinator")
    case = {"docket_number": "CR-2026-5150", "charges": ["Forced labour"]}
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    first = factory.referral(by=coordinator, prosecutor=prosecutor, case=case, status="ready", facilitators=pair,
                             survivor={"alias": "Confidential Alias", "contact": {"email": "hidden@example.org"}},
                             responsible_party={"alias": "Hidden Responsible"}, notes="secret intake note")
    second = factory.referral(by=coordinator, prosecutor=prosecutor, case=case, status="paused")
    other = factory.referral(by=coordinator, prosecutor=factory.user("prosecutor"),
                             case={"docket_number": "CR-2026-9999"})
    with app.app_context():
        book(db.session.merge(coordinator), db.session.get(Referral, first.id), "circle",
             clock.now() + timedelta(days=12))
        db.session.commit()
    return prosecutor, coordinator, first, second, other


def test_the_case_answer_has_exactly_the_fields_of_the_api(app, factory, api):
    """Stage coarse (a pause never shows), participation status per party, circle status and date."""
    prosecutor, _, first, second, _ = build(factory, app)
    response = api(prosecutor).get("/api/v1/prosecution/cases/cr-2026-5150")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"docket_number", "court", "jurisdiction", "referrals"}
    assert (body["court"], body["jurisdiction"]) == ("Testshire Crown Court", "Testshire")
    assert body["docket_number"] == "CR-2026-5150"
    by_reference = {item["reference"]: item for item in body["referrals"]}
    assert set(by_reference) == {first.reference, second.reference}
    for item in body["referrals"]:
        assert set(item) == {"reference", "stage", "consent", "circle", "agreement"}
        assert set(item["consent"]) == {"survivor", "responsible_party"}
        assert set(item["circle"]) == {"status", "date"}
        assert item["agreement"] is None
    assert by_reference[first.reference]["stage"] == "circle_scheduled"
    assert by_reference[first.reference]["consent"] == {"survivor": "granted", "responsible_party": "granted"}
    assert by_reference[first.reference]["circle"]["status"] == "scheduled"
    assert by_reference[first.reference]["circle"]["date"] == (clock_today(app) + timedelta(days=12)).isoformat()
    assert by_reference[second.reference]["stage"] == "intake"  # paused in screening: shown where it will resume
    assert by_reference[second.reference]["circle"] == {"status": "not_scheduled", "date": None}
    text = response.get_data(as_text=True)
    for secret in (*SECRETS, "paused", "facilitator_stop"):  # court and jurisdiction are named (docs/api.md)
        assert secret not in text


def clock_today(app):
    """Today by the service clock."""
    with app.app_context():
        return clock.now().date()


def test_withdrawn_consent_shows_as_status_without_reason(app, factory, api):
    """Closing is never an adverse mark: closed, with the party's status, and no reason anywhere."""
    prosecutor, coordinator, first, _, _ = build(factory, app)
    with app.app_context():
        record_decision(db.session.merge(coordinator), db.session.get(Referral, first.id), party="survivor",
                        scope="participation", decision="withdrawn", method="in_person")
        db.session.commit()
    body = api(prosecutor).get("/api/v1/prosecution/cases/CR-2026-5150").get_data(as_text=True)
    assert '"stage":"closed"' in body.replace(" ", "") and '"survivor":"withdrawn"' in body.replace(" ", "")
    assert "consent_withdrawn" not in body and "cancelled" in body  # the circle was cancelled with the withdrawal


def test_only_the_assigned_prosecutor_sees_the_case(app, factory, api):
    """Another prosecutor's case is 404, like an unknown one; other roles are refused outright."""
    prosecutor, coordinator, *_ = build(factory, app)
    client = api(prosecutor)
    assert client.get("/api/v1/prosecution/cases/CR-2026-9999").status_code == 404
    assert client.get("/api/v1/prosecution/cases/NO-SUCH-CASE").status_code == 404
    assert api(coordinator).get("/api/v1/prosecution/cases/CR-2026-5150").status_code == 403
    assert api(factory.user("facilitator")).get("/api/v1/prosecution/cases/CR-2026-5150").status_code == 403


def test_every_view_is_audited_as_a_disclosure(app, factory, api, browser):
    """One entry per view, naming every referral shown, by API and by page; each referral's trail finds it."""
    prosecutor, *_ = build(factory, app)
    api(prosecutor).get("/api/v1/prosecution/cases/CR-2026-5150")
    page = browser(prosecutor).get("/prosecution/cases/CR-2026-5150")
    assert page.status_code == 200
    with app.app_context():
        disclosures = db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "prosecution.disclose")).scalars().all()
        shown = {uuid.UUID(referral_id) for referral_id in disclosures[0].details["ids"]}
        trails = {referral_id: {entry.seq for entry in referral_trail(referral_id)} for referral_id in shown}
    assert len(disclosures) == 2 and {entry.actor_id for entry in disclosures} == {str(prosecutor.id)}
    assert len(shown) == 2 and all(entry.details["ids"] == disclosures[0].details["ids"] for entry in disclosures)
    assert all({entry.seq for entry in disclosures} <= trail for trail in trails.values())


def test_the_prosecutor_pages_show_status_and_nothing_else(app, factory, browser):
    """The case list and the case page carry references, stages and statuses, none of the confidential data."""
    prosecutor, _, first, *_ = build(factory, app)
    staff = browser(prosecutor)
    listing = staff.get("/prosecution").get_data(as_text=True)
    assert "CR-2026-5150" in listing and "CR-2026-9999" not in listing
    case = staff.get("/prosecution/cases/CR-2026-5150").get_data(as_text=True)
    assert first.reference in case and "Agreed" in case and "Circle scheduled" in case
    for body in (listing, case):
        for secret in SECRETS:
            assert secret not in body
    assert staff.get("/prosecution/cases/CR-2026-9999").status_code == 404
    assert browser(factory.user("coordinator")).get("/prosecution").status_code == 403


def test_the_case_list_costs_the_same_whatever_the_number_of_referrals(app, factory, browser):
    """Consent, circles, shared agreements and the audit entries go in batches: 2 or 8 referrals, same cost."""
    first = held_circle(app, factory)
    prosecutor = first.prosecutor
    activated(app, first)
    share_with_court(app, first)
    staff = browser(prosecutor)
    assert staff.get("/prosecution").status_code == 200
    costs = []
    for total in (2, 8):
        while len(referrals_of(app, prosecutor)) < total:
            factory.referral(prosecutor=prosecutor, status="screening")
        before = disclosures(app)
        with counted_statements(app) as statements:
            page = staff.get("/prosecution")
        assert page.status_code == 200
        costs.append(len(statements))
        assert disclosures(app) - before == 1  # one audit entry naming every referral shown
    assert costs[0] == costs[1]
    assert "Active · 0/2 completed" in page.get_data(as_text=True)


def disclosures(app) -> int:
    with app.app_context():
        return len(db.session.execute(select(AuditEntry.seq).where(AuditEntry.action == "prosecution.disclose"))
                   .all())


def referrals_of(app, prosecutor) -> list:
    with app.app_context():
        return db.session.execute(select(Referral.id).join(CriminalCase, Referral.case_id == CriminalCase.id)
                                  .where(CriminalCase.prosecutor_id == prosecutor.id)).scalars().all()
