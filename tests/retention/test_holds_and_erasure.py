"""Legal holds (API and page), erasure at a party's request, the coordinators' retention page, and what an erased
referral still shows: its reference, its status and when it was erased."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.referrals.models import Referral
from tests.retention.helpers import PAST_RETENTION, ended_referral, pass_time

REASON = "Appeal pending before the higher court, file 77-A"


def audit(app, action: str) -> list[AuditEntry]:
    """The audit entries of one action."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_a_coordinator_sets_and_lifts_a_legal_hold_through_the_api(app, factory, api):
    """PUT holds with a reason (kept encrypted, never in the audit entry), DELETE lifts; both audited."""
    referral = ended_referral(app, factory)
    client = api(referral.coordinator)
    held = client.put(f"/api/v1/referrals/{referral.id}/legal-hold", json={"reason": REASON})
    assert held.status_code == 200, held.get_json()
    body = held.get_json()
    assert body["legal_hold"]["reason"] == REASON and body["ended"] is True
    assert [blocker["code"] for blocker in body["blockers"]] == ["legal_hold"]
    [entry] = audit(app, "legal_hold.set")
    assert entry.referral_id == referral.id and REASON not in str(entry.details)
    with app.extensions["db_engine"].connect() as connection:
        stored = connection.execute(text("SELECT reason_enc FROM legal_holds")).scalar_one()
    assert stored.startswith("rk:") and "77-A" not in stored

    lifted = client.delete(f"/api/v1/referrals/{referral.id}/legal-hold")
    assert lifted.status_code == 200 and lifted.get_json()["legal_hold"] is None
    assert lifted.get_json()["blockers"] == [] and len(audit(app, "legal_hold.lift")) == 1
    again = client.delete(f"/api/v1/referrals/{referral.id}/legal-hold")
    assert again.status_code == 200 and len(audit(app, "legal_hold.lift")) == 1


def test_a_legal_hold_needs_a_reason_and_a_coordinator(app, factory, api):
    """400 without a reason (or with one too long); 403 for the referral's facilitator; 404 outside scope."""
    lead, co, stranger = (factory.user("facilitator") for _ in range(3))
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, facilitators=(lead, co))
    url = f"/api/v1/referrals/{referral.id}/legal-hold"
    for body in ({}, {"reason": ""}, {"reason": "x" * 1001}):
        response = api(coordinator).put(url, json=body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_request"
    assert api(lead).put(url, json={"reason": REASON}).status_code == 403
    assert api(stranger).put(url, json={"reason": REASON}).status_code == 404
    assert api(coordinator).put("/api/v1/referrals/not-an-id/legal-hold", json={"reason": REASON}).status_code == 404
    assert audit(app, "legal_hold.set") == []


def test_the_retention_answer_names_a_pending_criminal_case(app, factory, api):
    """An open case, and a hearing ahead, show as automatic holds."""
    referral = ended_referral(app, factory, case_stage=None)
    client = api(referral.coordinator)
    with app.app_context():
        ahead = (clock.today() + timedelta(days=400)).isoformat()
    hearing = client.post(f"/api/v1/referrals/{referral.id}/hearings", json={"kind": "trial", "date": ahead})
    assert hearing.status_code == 201, hearing.get_json()
    body = client.get(f"/api/v1/referrals/{referral.id}/retention").get_json()
    assert [blocker["code"] for blocker in body["blockers"]] == ["case_open", "hearing_ahead"]
    assert body["basis"] == "closed" and body["due_at"] is not None


def test_the_referral_page_sets_a_hold_and_shows_it(app, factory, browser):
    """The page's form sets the hold (CSRF required); an empty reason is refused with a message."""
    referral = ended_referral(app, factory)
    page = browser(referral.coordinator)
    assert page.post(f"/referrals/{referral.id}/legal-hold", {"reason": REASON}, csrf=False).status_code == 400
    refused = page.post(f"/referrals/{referral.id}/legal-hold", {"reason": "  "}, follow_redirects=True)
    assert "Say why the data must be kept" in refused.get_data(as_text=True)
    assert audit(app, "legal_hold.set") == []
    done = page.post(f"/referrals/{referral.id}/legal-hold", {"reason": REASON}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and REASON in html and 'data-hold="legal_hold"' in html
    lifted = page.post(f"/referrals/{referral.id}/legal-hold/lift", follow_redirects=True)
    assert 'data-hold="legal_hold"' not in lifted.get_data(as_text=True)


def test_erasure_at_a_partys_request_follows_the_holds(app, factory, api):
    """An open referral is refused (409 conflict), a pending case too (409 gate_failed); once it may go, the
    referral is erased at once and answers with its erased form only."""
    coordinator = factory.user("coordinator")
    open_referral = factory.referral(by=coordinator)
    client = api(coordinator)
    refused = client.post(f"/api/v1/referrals/{open_referral.id}/erasure", json={"party": "survivor"})
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["code"] == "referral_open"
    pending = ended_referral(app, factory, case_stage=None, coordinator=coordinator)
    gated = client.post(f"/api/v1/referrals/{pending.id}/erasure", json={"party": "survivor"})
    assert gated.status_code == 409 and gated.get_json()["error"]["code"] == "gate_failed"
    assert [item["code"] for item in gated.get_json()["error"]["details"]] == ["case_open"]
    assert client.post(f"/api/v1/referrals/{pending.id}/erasure", json={"party": "nobody"}).status_code == 400

    ready = ended_referral(app, factory, coordinator=coordinator)
    erased = client.post(f"/api/v1/referrals/{ready.id}/erasure", json={"party": "responsible_party"})
    assert erased.status_code == 200, erased.get_json()
    assert set(erased.get_json()) == {"id", "reference", "status", "erased_at"}
    [entry] = audit(app, "referral.erase")
    assert entry.referral_id == ready.id and entry.details == {"basis": "request"}
    assert audit(app, "erasure.request")[0].details == {"party": "responsible_party"}
    with app.app_context():
        assert db.session.get(Referral, pending.id).erased_at is None


def test_an_erased_referral_shows_when_it_was_erased_and_nothing_else(app, factory, api, browser):
    """The API answers four fields (lists too), the page one sentence; every other door answers 404."""
    prosecutor = factory.user("prosecutor")
    referral = ended_referral(app, factory, prosecutor=prosecutor, survivor={"alias": "Alias Erased Later"})
    pass_time(app, PAST_RETENTION)
    assert app.test_cli_runner().invoke(args=["retention", "run"]).exit_code == 0
    for user in (referral.coordinator, prosecutor):
        body = api(user).get(f"/api/v1/referrals/{referral.id}").get_json()
        assert set(body) == {"id", "reference", "status", "erased_at"} and body["status"] == "closed"
        [item] = api(user).get("/api/v1/referrals").get_json()["items"]
        assert set(item) == {"id", "reference", "status", "erased_at"}
    page = browser(referral.coordinator)
    html = page.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Erased on" in html and "data-erased-at" in html and "Alias Erased Later" not in html
    assert "Criminal case" not in html and "Consent" not in html
    assert "Erased on" in page.get("/referrals").get_data(as_text=True)
    client = api(referral.coordinator)
    for url in (f"/api/v1/referrals/{referral.id}/consent", f"/api/v1/referrals/{referral.id}/retention",
                f"/api/v1/referrals/{referral.id}/parties/survivor/export"):
        assert client.get(url).status_code == 404
    assert page.get(f"/referrals/{referral.id}/safety").status_code == 404


def test_the_retention_page_lists_what_goes_within_thirty_days(app, factory, browser):
    """Coordinators see each referral due soon with its date and what holds it; facilitators may not look."""
    coordinator = factory.user("coordinator")
    soon = ended_referral(app, factory, coordinator=coordinator)
    held = ended_referral(app, factory, coordinator=coordinator, case_stage=None)
    later = ended_referral(app, factory, coordinator=coordinator, reason="other")
    pass_time(app, timedelta(days=715))
    with app.app_context():
        assert db.session.get(Referral, later.id).erased_at is None
    html = browser(coordinator).get("/retention").get_data(as_text=True)
    assert f'data-upcoming="{soon.reference}"' in html and f'data-upcoming="{held.reference}"' in html
    assert "The criminal case has not closed." in html and "Nothing: it will be erased" in html
    assert browser(factory.user("facilitator")).get("/retention").status_code == 403
