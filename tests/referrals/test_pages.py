"""Referral pages: intake form, list, detail views per role, status changes and assignment."""

from __future__ import annotations

from sqlalchemy import func, select

from coordinator.db import db
from coordinator.referrals.models import Referral

INTAKE = {
    "source": "victim_services",
    "jurisdiction": "Testshire",
    "court": "Testshire Crown Court",
    "docket_number": "t-2026-42",
    "charges": "Human trafficking\nForced labour",
    "stage": "charged",
    "survivor_alias": "Willow",
    "survivor_language": "es",
    "survivor_email": "willow@example.org",
    "survivor_phone": "+1 555 0142",
    "responsible_alias": "Mr Grey",
    "responsible_language": "en",
    "notes": "Met through the shelter.",
}


def referral_count(app) -> int:
    """Referrals in the database."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Referral)).scalar_one()


def text_of(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def test_coordinator_takes_a_referral_in_through_the_form(app, factory, browser):
    """A valid form creates the referral and shows its page."""
    staff = browser(factory.user("coordinator"))
    response = staff.post("/referrals/new", INTAKE)
    assert response.status_code == 302
    page = staff.get(response.headers["Location"])
    body = text_of(page)
    assert page.status_code == 200
    assert "Willow" in body and "T-2026-42" in body and "Forced labour" in body and "Met through the shelter." in body
    assert referral_count(app) == 1


def test_an_invalid_form_explains_and_saves_nothing(app, factory, browser):
    """Missing alias and a bad email: 400, the messages beside the fields, nothing written."""
    staff = browser(factory.user("coordinator"))
    response = staff.post("/referrals/new", {**INTAKE, "survivor_alias": "", "survivor_email": "nope"})
    assert response.status_code == 400
    body = text_of(response)
    assert 'id="survivor_alias-error"' in body and 'id="survivor_email-error"' in body
    assert 'aria-invalid="true"' in body
    assert 'value="Mr Grey"' in body  # what was typed is kept
    assert referral_count(app) == 0


def test_the_form_without_a_csrf_token_is_refused(app, factory, browser):
    """400 and nothing written."""
    staff = browser(factory.user("coordinator"))
    assert staff.post("/referrals/new", INTAKE, csrf=False).status_code == 400
    assert referral_count(app) == 0


def test_prosecutor_form_names_the_prosecutor_themself(app, factory, browser):
    """No prosecutor field for prosecutors; the case is theirs."""
    prosecutor = factory.user("prosecutor")
    staff = browser(prosecutor)
    assert 'name="prosecutor_email"' not in text_of(staff.get("/referrals/new"))
    assert staff.post("/referrals/new", INTAKE).status_code == 302
    with app.app_context():
        referral = db.session.execute(select(Referral)).scalar_one()
        assert referral.case.prosecutor_id == prosecutor.id


def test_facilitators_and_admins_have_no_intake_form(factory, browser):
    """403 for roles that do not refer."""
    for role in ("facilitator", "admin"):
        assert browser(factory.user(role)).get("/referrals/new").status_code == 403


def test_signed_out_visitors_go_to_the_sign_in_page(browser):
    """Every referral page needs a staff session."""
    response = browser().get("/referrals")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_filters_and_searches(factory, browser):
    """Status filter and search by docket number, on the page."""
    coordinator = factory.user("coordinator")
    screening = factory.referral(by=coordinator, status="screening", case={"docket_number": "FIND-ME-1"})
    other = factory.referral(by=coordinator)
    staff = browser(coordinator)
    filtered = text_of(staff.get("/referrals?status=screening"))
    assert screening.reference in filtered and other.reference not in filtered
    searched = text_of(staff.get("/referrals?q=find-me-1"))
    assert screening.reference in searched and other.reference not in searched


def test_list_pages_link_to_each_other(factory, browser):
    """With more referrals than a page holds, there is a next page that keeps the filters."""
    coordinator = factory.user("coordinator")
    for _ in range(3):
        factory.referral(by=coordinator)
    staff = browser(coordinator)
    staff.client.application.config["PER_PAGE"] = 2
    first = text_of(staff.get("/referrals?status=received"))
    assert 'rel="next"' in first and "status=received" in first and "page=2" in first
    second = text_of(staff.get("/referrals?status=received&page=2"))
    assert 'rel="prev"' in second


def test_detail_views_by_role(factory, browser):
    """Coordinators and assigned facilitators see the parties; the prosecutor sees none of it."""
    prosecutor = factory.user("prosecutor")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(prosecutor=prosecutor, facilitators=pair, survivor={"alias": "Juniper"},
                                responsible_party={"alias": "Rowan Other"}, notes="kept from the prosecution")
    url = f"/referrals/{referral.id}"
    coordinator_view = text_of(browser(factory.user("coordinator")).get(url))
    assert "Juniper" in coordinator_view and "kept from the prosecution" in coordinator_view
    assert 'id="audit-heading"' in coordinator_view
    facilitator_view = text_of(browser(pair[0]).get(url))
    assert "Juniper" in facilitator_view and 'id="audit-heading"' not in facilitator_view
    prosecution = browser(prosecutor).get(url)
    assert prosecution.status_code == 200
    body = text_of(prosecution)
    assert referral.reference in body
    for secret in ("Juniper", "kept from the prosecution", "example.org", "Rowan Other", "since", "until"):
        assert secret not in body
    assert "Survivor: taking part" in body  # each party's participation status, and nothing more


def test_outside_scope_is_404_on_pages(factory, browser):
    """Another facilitator, another prosecutor and an admin all get 404 for the detail page."""
    referral = factory.referral(prosecutor=factory.user("prosecutor"),
                                facilitators=(factory.user("facilitator"), factory.user("facilitator")))
    url = f"/referrals/{referral.id}"
    for role in ("facilitator", "prosecutor", "admin"):
        assert browser(factory.user(role)).get(url).status_code == 404
    assert browser(factory.user("admin")).get("/referrals").status_code == 403


def test_status_changes_from_the_page(app, factory, browser):
    """Move on, then close with a reason; closing without a reason is refused with a message."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    staff = browser(coordinator)
    url = f"/referrals/{referral.id}/transitions"
    assert staff.post(url, {"to": "screening"}).status_code == 302
    refused = staff.post(url, {"to": "closed"})
    assert refused.status_code == 400
    assert 'role="alert"' in text_of(refused)
    assert staff.post(url, {"to": "closed", "reason": "not_suitable", "note": "n"}).status_code == 302
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        assert (stored.status, stored.status_reason) == ("closed", "not_suitable")


def test_gate_failures_are_listed_on_the_page(factory, browser):
    """Asking for ready without facilitators shows the unmet condition."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, status="preparation")
    response = browser(coordinator).post(f"/referrals/{referral.id}/transitions", {"to": "ready"})
    assert response.status_code == 409
    assert "lead facilitator and a co-facilitator" in text_of(response)


def test_assignment_from_the_page(app, factory, browser):
    """The coordinator picks the pair; the same person twice is refused."""
    coordinator = factory.user("coordinator")
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    referral = factory.referral(by=coordinator)
    staff = browser(coordinator)
    url = f"/referrals/{referral.id}/facilitators"
    assert staff.post(url, {"lead": str(lead.id), "co": str(lead.id)}).status_code == 400
    assert staff.post(url, {"lead": str(lead.id), "co": str(co.id)}).status_code == 302
    with app.app_context():
        stored = db.session.get(Referral, referral.id)
        assert (stored.lead_facilitator_id, stored.co_facilitator_id) == (lead.id, co.id)
    assert browser(lead).post(url, {"lead": str(co.id), "co": str(lead.id)}).status_code == 403
