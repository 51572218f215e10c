"""The caseload cap: an assignment over it is refused with a clear message; a coordinator may override it with a
reason, which is audited and shown on the roster."""

from __future__ import annotations

from sqlalchemy import select

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.models import CaseloadOverride, FacilitatorProfile


def at_cap(app, factory, coordinator):
    """A facilitator with a cap of one who already has one open referral, and two free colleagues."""
    busy, free, other = (factory.user("facilitator", name=name) for name in ("Busy Keeper", "Free One", "Free Two"))
    with app.app_context():
        db.session.get(FacilitatorProfile, busy.id).max_active_referrals = 1
        db.session.commit()
    factory.referral(by=coordinator, facilitators=(busy, free))
    return busy, free, other


def overrides(app) -> list[tuple]:
    """Every override as (facilitator id, caseload, cap, reason)."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(
            CaseloadOverride.user_id, CaseloadOverride.caseload, CaseloadOverride.cap, CaseloadOverride.reason))]


def audited(app, action: str) -> list[AuditEntry]:
    """The audit entries of one action."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_the_api_refuses_an_assignment_over_the_cap_and_names_who(app, factory, api):
    coordinator = factory.user("coordinator")
    busy, _free, other = at_cap(app, factory, coordinator)
    referral = factory.referral(by=coordinator)
    response = api(coordinator).put(f"/api/v1/referrals/{referral.id}/facilitators",
                                    json={"lead": str(busy.id), "co": str(other.id)})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "conflict" and error["details"]["code"] == "caseload_cap"
    assert error["details"]["facilitators"] == [{"id": str(busy.id), "caseload": 1, "cap": 1}]
    assert "Busy Keeper already has 1 of 1 active referrals" in error["message"]
    with app.app_context():
        assert db.session.get(Referral, referral.id).lead_facilitator_id is None
    assert overrides(app) == [] and audited(app, "referral.caseload_override") == []


def test_a_coordinator_overrides_with_a_reason_audited_and_shown_on_the_roster(app, factory, api, browser):
    coordinator = factory.user("coordinator")
    busy, _free, other = at_cap(app, factory, coordinator)
    referral = factory.referral(by=coordinator)
    response = api(coordinator).put(f"/api/v1/referrals/{referral.id}/facilitators",
                                    json={"lead": str(busy.id), "co": str(other.id),
                                          "override_reason": "Only keeper who knows the family's language"})
    assert response.status_code == 200
    assert overrides(app) == [(busy.id, 1, 1, "Only keeper who knows the family's language")]
    [entry] = audited(app, "referral.caseload_override")
    assert entry.referral_id == referral.id and entry.actor_id == str(coordinator.id)
    assert entry.details == {"facilitator": str(busy.id), "caseload": 1, "cap": 1}  # the reason stays out of it
    roster = browser(coordinator).get("/roster").get_data(as_text=True)
    assert "2 of 1, override: Only keeper who knows the family&#39;s language" in roster


def test_keeping_someone_already_assigned_needs_no_override(app, factory, api):
    coordinator = factory.user("coordinator")
    busy, _free, other = at_cap(app, factory, coordinator)
    with app.app_context():
        referral = db.session.execute(select(Referral).where(Referral.lead_facilitator_id == busy.id)).scalar_one()
    response = api(coordinator).put(f"/api/v1/referrals/{referral.id}/facilitators",
                                    json={"lead": str(busy.id), "co": str(other.id)})
    assert response.status_code == 200 and overrides(app) == []


def test_the_page_explains_the_refusal_beside_the_form_and_asks_for_a_reason(app, factory, browser):
    coordinator = factory.user("coordinator")
    busy, _free, other = at_cap(app, factory, coordinator)
    referral = factory.referral(by=coordinator)
    staff = browser(coordinator)
    refused = staff.post(f"/referrals/{referral.id}/facilitators", {"lead": str(busy.id), "co": str(other.id)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Busy Keeper already has 1 of 1 active referrals, their cap." in page
    assert 'name="override_reason"' in page and "Assign over the cap" in page
    assert f'action="/referrals/{referral.id}/facilitators#facilitators-heading"' in page
    done = staff.post(f"/referrals/{referral.id}/facilitators",
                      {"lead": str(busy.id), "co": str(other.id),
                       "override_reason": "Urgent case, agreed in supervision"})
    assert done.status_code == 302 and done.headers["Location"].endswith("#facilitators-heading")
    assert [row[3] for row in overrides(app)] == ["Urgent case, agreed in supervision"]
    # The confirmation is shown once, beside the facilitators, not at the top of the page.
    shown = staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert shown.count("Facilitators are assigned.") == 1
    assert shown.index("Facilitators are assigned.") > shown.index('id="facilitators-heading"')
    assert '<div class="flashes"' not in shown
