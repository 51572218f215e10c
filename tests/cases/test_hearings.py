"""The criminal case's hearings and stage: API, pages, scope, validation, audit, and the trial warning on booking."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.cases.models import CaseStageChange, CourtReport, Hearing
from coordinator.cases.service import trial_warning
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Referral
from coordinator.sessions.models import ScheduledSession
from tests.sessions.helpers import bookable, in_days


def days_ahead(app, days: int) -> str:
    """The programme's date `days` from today, as the API writes dates."""
    with app.app_context():
        return (clock.today() + timedelta(days=days)).isoformat()


def hearings_in_db(app) -> list[tuple[str, date]]:
    """Every stored hearing's kind and date."""
    with app.app_context():
        return [tuple(row) for row in db.session.execute(select(Hearing.kind, Hearing.on_date)).all()]


def case_audit(app) -> list[AuditEntry]:
    """The audit entries of this feature, oldest first."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry).where(AuditEntry.action.like("case.%"))
                                       .order_by(AuditEntry.seq)).scalars())


def stage_of(app, referral) -> str:
    """The stored stage of the referral's case."""
    with app.app_context():
        return db.session.get(CriminalCase, referral.case_id).stage


@pytest.fixture
def people(factory):
    """A coordinator, a referral with two facilitators and an assigned prosecutor, and outsiders."""
    coordinator = factory.user("coordinator", name="Casey Coordinator")
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    prosecutor = factory.user("prosecutor")
    referral = factory.referral(by=coordinator, facilitators=(lead, co), prosecutor=prosecutor)
    return {"coordinator": coordinator, "lead": lead, "co": co, "prosecutor": prosecutor, "referral": referral,
            "other_facilitator": factory.user("facilitator"), "other_prosecutor": factory.user("prosecutor"),
            "admin": factory.user("admin")}


# API ---------------------------------------------------------------------------------------------------------------


def test_hearings_are_added_listed_and_removed_through_the_api(app, api, people):
    """POST 201 with the API shape; GET lists them soonest first with the stage; DELETE 204 removes one."""
    client = api(people["coordinator"])
    url = f"/api/v1/referrals/{people['referral'].id}/hearings"
    trial_day, plea_day = days_ahead(app, 40), days_ahead(app, 12)
    trial = client.post(url, json={"kind": "trial", "date": trial_day})
    assert trial.status_code == 201, trial.get_json()
    assert set(trial.get_json()) == {"id", "kind", "date"}
    assert trial.get_json()["kind"] == "trial" and trial.get_json()["date"] == trial_day
    plea = client.post(url, json={"kind": "plea", "date": plea_day}).get_json()
    listed = client.get(url)
    assert listed.status_code == 200
    assert listed.get_json() == {"stage": "charged", "hearings": [
        {"id": plea["id"], "kind": "plea", "date": plea_day},
        {"id": trial.get_json()["id"], "kind": "trial", "date": trial_day}]}
    removed = client.delete(f"/api/v1/hearings/{plea['id']}")
    assert removed.status_code == 204 and removed.get_data() == b""
    assert [h["id"] for h in client.get(url).get_json()["hearings"]] == [trial.get_json()["id"]]
    assert client.delete(f"/api/v1/hearings/{plea['id']}").status_code == 404
    assert hearings_in_db(app) == [("trial", date.fromisoformat(trial_day))]


def test_the_same_hearing_twice_is_a_conflict(app, api, people):
    """The same kind on the same day of the same case is refused with 409; one row stays."""
    client = api(people["coordinator"])
    url = f"/api/v1/referrals/{people['referral'].id}/hearings"
    body = {"kind": "sentencing", "date": days_ahead(app, 30)}
    assert client.post(url, json=body).status_code == 201
    again = client.post(url, json=body)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert len(hearings_in_db(app)) == 1


def test_a_hearing_with_a_court_report_stays(app, api, people):
    """A hearing a court report names cannot be removed: 409, still there."""
    client = api(people["coordinator"])
    hearing = client.post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                          json={"kind": "sentencing", "date": days_ahead(app, 14)}).get_json()
    with app.app_context():
        db.session.add(CourtReport(referral_id=people["referral"].id, hearing_id=uuid.UUID(hearing["id"]),
                                   agreement_status="active", items_total=2, items_completed=1, items_overdue=0,
                                   prepared_at=clock.now()))
        db.session.commit()
    refused = client.delete(f"/api/v1/hearings/{hearing['id']}")
    assert refused.status_code == 409
    assert len(hearings_in_db(app)) == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "duel", "date": "2030-01-01"}, "kind"),
    ({"kind": "trial", "date": "2026-13-40"}, "date"),
    ({"kind": "trial", "date": "next week"}, "date"),
    ({"kind": "trial"}, "date"),
    ({"date": "2030-01-01"}, "kind"),
    ({"kind": "trial", "date": "2030-01-01", "judge": "Someone"}, "judge"),
])
def test_invalid_hearings_are_refused_and_nothing_is_written(app, api, people, body, field):
    """400 `invalid_request` naming the field; no hearing, no audit entry."""
    refused = api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings", json=body)
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_request" and field in error["details"]
    assert hearings_in_db(app) == [] and case_audit(app) == []


@pytest.mark.parametrize("years", [6, -6])
def test_a_hearing_more_than_five_years_away_is_refused(app, api, people, years):
    """A date years away in either direction is a typing mistake: 400 on `date`, nothing written."""
    far = days_ahead(app, years * 366)
    refused = api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                                              json={"kind": "trial", "date": far})
    assert refused.status_code == 400 and list(refused.get_json()["error"]["details"]) == ["date"]
    assert hearings_in_db(app) == [] and case_audit(app) == []
    assert api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                                           json={"kind": "plea", "date": days_ahead(app, -30)}).status_code == 201


def test_the_stage_changes_with_its_history(app, api, people):
    """PUT case-stage moves the case and keeps every change; the same stage again changes nothing."""
    client = api(people["coordinator"])
    url = f"/api/v1/referrals/{people['referral'].id}/case-stage"
    moved = client.put(url, json={"stage": "trial"})
    assert moved.status_code == 200 and moved.get_json() == {"stage": "trial"}
    assert client.put(url, json={"stage": "sentencing"}).get_json() == {"stage": "sentencing"}
    same = client.put(url, json={"stage": "sentencing"})
    assert same.status_code == 200 and same.get_json() == {"stage": "sentencing"}
    assert stage_of(app, people["referral"]) == "sentencing"
    assert client.get(f"/api/v1/referrals/{people['referral'].id}/hearings").get_json()["stage"] == "sentencing"
    with app.app_context():
        changes = db.session.execute(select(CaseStageChange.from_stage, CaseStageChange.to_stage,
                                            CaseStageChange.changed_by_id).order_by(CaseStageChange.changed_at)
                                     ).all()
    assert [tuple(c) for c in changes] == [("charged", "trial", people["coordinator"].id),
                                           ("trial", "sentencing", people["coordinator"].id)]
    assert [(e.action, e.details["from"], e.details["to"]) for e in case_audit(app)] == [
        ("case.stage_change", "charged", "trial"), ("case.stage_change", "trial", "sentencing")]


@pytest.mark.parametrize("body", [{"stage": "acquitted"}, {}, {"stage": "trial", "reason": "x"}])
def test_an_invalid_stage_is_refused(app, api, people, body):
    """400; the stage and its history stay as they were."""
    refused = api(people["coordinator"]).put(f"/api/v1/referrals/{people['referral'].id}/case-stage", json=body)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_request"
    assert stage_of(app, people["referral"]) == "charged"
    with app.app_context():
        assert db.session.execute(select(CaseStageChange)).first() is None
    assert case_audit(app) == []


def test_audit_entries_hold_codes_ids_and_dates_only(app, api, people):
    """Adding and removing are audited against the referral, with the case id, kind and date."""
    client = api(people["coordinator"])
    day = days_ahead(app, 20)
    hearing = client.post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                          json={"kind": "trial", "date": day}).get_json()
    client.delete(f"/api/v1/hearings/{hearing['id']}")
    entries = case_audit(app)
    assert [e.action for e in entries] == ["case.hearing_add", "case.hearing_remove"]
    for entry in entries:
        assert entry.referral_id == people["referral"].id
        assert (entry.object_type, entry.object_id) == ("hearings", hearing["id"])
        assert entry.actor_id == str(people["coordinator"].id)
        assert entry.details == {"case_id": str(people["referral"].case_id), "kind": "trial", "date": day}


# Scope and roles ---------------------------------------------------------------------------------------------------


def test_the_assigned_prosecutor_writes_through_the_api(app, api, people):
    """The case's prosecutor adds, lists, removes hearings and moves the stage."""
    client = api(people["prosecutor"])
    url = f"/api/v1/referrals/{people['referral'].id}/hearings"
    created = client.post(url, json={"kind": "arraignment", "date": days_ahead(app, 9)})
    assert created.status_code == 201
    assert [h["kind"] for h in client.get(url).get_json()["hearings"]] == ["arraignment"]
    assert client.put(f"/api/v1/referrals/{people['referral'].id}/case-stage",
                      json={"stage": "plea"}).status_code == 200
    assert client.delete(f"/api/v1/hearings/{created.get_json()['id']}").status_code == 204
    assert hearings_in_db(app) == [] and stage_of(app, people["referral"]) == "plea"
    assert {e.actor_id for e in case_audit(app)} == {str(people["prosecutor"].id)}


def test_outsiders_get_404_and_facilitators_read_only(app, api, people):
    """Other facilitators, other prosecutors and admins see nothing (404); the referral's facilitators read (403 to
    write); nothing is written by any refused call."""
    coordinator = api(people["coordinator"])
    referral_id = people["referral"].id
    url = f"/api/v1/referrals/{referral_id}/hearings"
    hearing = coordinator.post(url, json={"kind": "trial", "date": days_ahead(app, 30)}).get_json()
    body = {"kind": "plea", "date": days_ahead(app, 10)}
    for outsider in ("other_facilitator", "other_prosecutor", "admin"):
        client = api(people[outsider])
        assert client.get(url).status_code == 404, outsider
        assert client.post(url, json=body).status_code == 404, outsider
        assert client.delete(f"/api/v1/hearings/{hearing['id']}").status_code == 404, outsider
        assert client.put(f"/api/v1/referrals/{referral_id}/case-stage", json={"stage": "trial"}).status_code == 404
    facilitator = api(people["lead"])
    assert [h["id"] for h in facilitator.get(url).get_json()["hearings"]] == [hearing["id"]]
    refused = facilitator.post(url, json=body)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert facilitator.delete(f"/api/v1/hearings/{hearing['id']}").status_code == 403
    assert facilitator.put(f"/api/v1/referrals/{referral_id}/case-stage", json={"stage": "trial"}).status_code == 403
    assert hearings_in_db(app) == [("trial", date.fromisoformat(hearing["date"]))]
    assert stage_of(app, people["referral"]) == "charged"
    assert [e.action for e in case_audit(app)] == ["case.hearing_add"]


def test_a_hearing_is_reached_through_any_referral_of_its_case(app, factory, api, people):
    """A second referral of the same case: its own facilitator reaches the shared hearing; its prosecutor too."""
    hearing = api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                                              json={"kind": "trial", "date": days_ahead(app, 30)}).get_json()
    with app.app_context():
        case = db.session.get(CriminalCase, people["referral"].case_id)
        same_case = {"jurisdiction": case.jurisdiction, "court": case.court, "docket_number": case.docket_number}
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    second = factory.referral(by=people["coordinator"], facilitators=(lead, co), case=same_case)
    assert second.case_id == people["referral"].case_id
    listed = api(lead).get(f"/api/v1/referrals/{second.id}/hearings").get_json()["hearings"]
    assert [h["id"] for h in listed] == [hearing["id"]]
    assert api(lead).get(f"/api/v1/referrals/{people['referral'].id}/hearings").status_code == 404
    assert api(lead).delete(f"/api/v1/hearings/{hearing['id']}").status_code == 403


# Pages -------------------------------------------------------------------------------------------------------------


def test_a_coordinator_adds_and_removes_hearings_on_the_referral_page(app, browser, people):
    """The form records a hearing, the list shows it with its kind, the button removes it; each flashes."""
    staff = browser(people["coordinator"])
    referral_id = people["referral"].id
    day = days_ahead(app, 25)
    added = staff.post(f"/referrals/{referral_id}/hearings", {"hearing-kind": "trial", "hearing-on_date": day})
    assert added.status_code == 302 and added.headers["Location"].startswith(f"/referrals/{referral_id}")
    page = staff.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "The hearing is recorded." in page
    assert '<h3 id="hearings-heading">Hearings</h3>' in page
    item = re.search(r'<li class="hearing" data-hearing="([^"]+)">(.*?)</li>', page, re.S)
    assert f'datetime="{day}"' in item.group(2) and "Trial" in item.group(2)
    assert 'for="hearing-kind"' in page and 'for="hearing-on_date"' in page and 'type="date"' in page
    assert "<legend>Add a hearing</legend>" in page
    removed = staff.post(f"/referrals/{referral_id}/hearings/{item.group(1)}/remove", follow_redirects=True)
    html = removed.get_data(as_text=True)
    assert removed.status_code == 200 and "The hearing is removed." in html and "No hearing is recorded." in html
    assert hearings_in_db(app) == []
    assert [e.action for e in case_audit(app)] == ["case.hearing_add", "case.hearing_remove"]


@pytest.mark.parametrize(("data", "message"), [
    ({"hearing-kind": "trial", "hearing-on_date": "31/02/2027"}, "Enter the hearing&#39;s date."),
    ({"hearing-kind": "trial"}, "Enter the hearing&#39;s date."),
    ({"hearing-kind": "duel", "hearing-on_date": "2030-01-01"}, "Choose the kind of hearing."),
    ({"hearing-kind": "trial", "hearing-on_date": "2099-01-01"}, "Enter a date within five years of today."),
])
def test_the_page_form_explains_invalid_input_and_saves_nothing(app, browser, people, data, message):
    """Back on the referral page with the field's error; no hearing, no audit entry."""
    staff = browser(people["coordinator"])
    response = staff.post(f"/referrals/{people['referral'].id}/hearings", data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and "flash--error" in html
    assert hearings_in_db(app) == [] and case_audit(app) == []


def test_a_coordinator_changes_the_stage_on_the_page(app, browser, people):
    """The stage form moves the case; the history lists the change and who made it."""
    staff = browser(people["coordinator"])
    referral_id = people["referral"].id
    response = staff.post(f"/referrals/{referral_id}/case-stage", {"case-stage": "trial"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The case&#39;s stage is now: Trial." in html
    assert "Stage changes (1)" in html and "From Charged to Trial" in html and "Casey Coordinator" in html
    assert stage_of(app, people["referral"]) == "trial"
    same = staff.post(f"/referrals/{referral_id}/case-stage", {"case-stage": "trial"}, follow_redirects=True)
    assert "The case is already at this stage." in same.get_data(as_text=True)
    bad = staff.post(f"/referrals/{referral_id}/case-stage", {"case-stage": "acquitted"}, follow_redirects=True)
    assert "Choose the case&#39;s stage." in bad.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.execute(select(CaseStageChange)).all()) == 1
    assert stage_of(app, people["referral"]) == "trial"


def test_facilitators_see_hearings_but_no_forms_and_cannot_post(app, api, browser, people):
    """The referral's facilitator reads the list; the forms are the coordinators'; their posts are refused."""
    day = days_ahead(app, 18)
    hearing = api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                                              json={"kind": "sentencing", "date": day}).get_json()
    facilitator = browser(people["lead"])
    page = facilitator.get(f"/referrals/{people['referral'].id}").get_data(as_text=True)
    assert "Hearings" in page and f'datetime="{day}"' in page and "Sentencing" in page
    assert "Add a hearing" not in page and "/remove" not in page and "Change the stage" not in page
    referral_id = people["referral"].id
    assert facilitator.post(f"/referrals/{referral_id}/hearings",
                            {"hearing-kind": "trial", "hearing-on_date": day}).status_code == 403
    assert facilitator.post(f"/referrals/{referral_id}/hearings/{hearing['id']}/remove").status_code == 403
    assert facilitator.post(f"/referrals/{referral_id}/case-stage", {"case-stage": "trial"}).status_code == 403
    assert browser(people["other_facilitator"]).get(f"/referrals/{referral_id}").status_code == 404
    assert len(hearings_in_db(app)) == 1 and stage_of(app, people["referral"]) == "charged"


def test_prosecutor_pages_show_no_hearings(app, api, browser, people):
    """The prosecution view keeps to the docs/api.md fields: no hearing list, no forms, no page posts."""
    api(people["coordinator"]).post(f"/api/v1/referrals/{people['referral'].id}/hearings",
                                    json={"kind": "trial", "date": days_ahead(app, 18)})
    prosecutor = browser(people["prosecutor"])
    page = prosecutor.get(f"/referrals/{people['referral'].id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "hearings-heading" not in html and "Add a hearing" not in html
    assert prosecutor.post(f"/referrals/{people['referral'].id}/hearings",
                           {"hearing-kind": "plea", "hearing-on_date": days_ahead(app, 5)}).status_code == 403
    assert len(hearings_in_db(app)) == 1


# The trial warning when booking ------------------------------------------------------------------------------------


def circle_body(case, start, minutes: int = 120) -> dict:
    """A circle booking request."""
    return {"kind": "circle", "format": "in_person", "start": start.isoformat(),
            "end": (start + timedelta(minutes=minutes)).isoformat(),
            "facilitator_ids": [str(case.lead.id), str(case.co.id)], "venue_id": str(case.venue.id)}


def add_trial(api, case, on: date | str) -> None:
    """Record a trial hearing of the case's criminal case."""
    response = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/hearings",
                                          json={"kind": "trial", "date": str(on)})
    assert response.status_code == 201


@pytest.mark.parametrize(("days_before_trial", "warned"), [(3, True), (0, True), (7, True), (8, False),
                                                            (10, False), (-1, False), (-10, False)])
def test_the_api_warns_about_a_circle_in_the_week_before_a_trial(app, factory, api, days_before_trial, warned):
    """201 either way; `warnings` has `near_trial` only inside the 7 days before the trial (both ends included)."""
    case = bookable(app, factory)
    start = in_days(app, 20)
    add_trial(api, case, (start + timedelta(days=days_before_trial)).date())
    response = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/sessions",
                                          json=circle_body(case, start))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "proposed"
    if warned:
        assert [w["code"] for w in body["warnings"]] == ["near_trial"]
        assert (start + timedelta(days=days_before_trial)).strftime("%B") in body["warnings"][0]["message"]
    else:
        assert body["warnings"] == []


def test_other_sessions_and_other_hearings_are_not_warned_about(app, factory, api):
    """A preparation meeting before a trial, or a circle before a sentencing hearing: no warning."""
    case = bookable(app, factory)
    start = in_days(app, 20)
    api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/hearings",
                               json={"kind": "sentencing", "date": str((start + timedelta(days=2)).date())})
    circle = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/sessions",
                                        json=circle_body(case, start))
    assert circle.status_code == 201 and circle.get_json()["warnings"] == []
    add_trial(api, case, (start + timedelta(days=12)).date())
    meeting = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        **circle_body(case, start + timedelta(days=8)), "kind": "pre_conference_survivor", "venue_id": None,
        "format": "video"})
    assert meeting.status_code == 201, meeting.get_json()
    assert meeting.get_json()["warnings"] == []


def test_the_warning_uses_the_programmes_calendar_day(app, factory, api):
    """Late evening UTC is already the next day in Auckland: the programme's day decides."""
    case = bookable(app, factory)
    with app.app_context():
        trial_day = clock.today() + timedelta(days=30)
    add_trial(api, case, trial_day)
    evening_before_window = datetime.combine(trial_day - timedelta(days=8), datetime.min.time(), tzinfo=UTC) \
        + timedelta(hours=20)
    with app.test_request_context():
        referral = db.session.get(Referral, case.referral.id)
        assert trial_warning(referral, evening_before_window) == []
        app.config["BABEL_DEFAULT_TIMEZONE"] = "Pacific/Auckland"
        try:
            assert [w.code for w in trial_warning(referral, evening_before_window)] == ["near_trial"]
        finally:
            app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"


def slot_search(client, referral_id, day: date) -> str:
    """The slot search page for circles on one day."""
    page = client.get(f"/referrals/{referral_id}/sessions/new?kind=circle&format=in_person&duration=120"
                      f"&start_on={day.isoformat()}&end_on={day.isoformat()}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_booking_page_marks_slots_near_a_trial_and_warns_after_booking(app, factory, api, browser):
    """The slot list marks circles 3 days before the trial, not 10 days before or after; upcoming hearings are shown;
    booking a marked slot succeeds and flashes the warning."""
    case = bookable(app, factory)
    # 16 days ahead: 10 days after the trial is still within the risk assessment's 30 days of validity, so booking
    # (and therefore the search, which lists only what booking accepts) has times on each day searched.
    trial = in_days(app, 16).date()
    add_trial(api, case, trial)
    client = browser(case.coordinator)
    near = slot_search(client, case.referral.id, trial - timedelta(days=3))
    assert "Upcoming hearings of the criminal case" in near and f'datetime="{trial.isoformat()}"' in near
    assert 'data-action="book-slot"' in near
    assert near.count('data-warning="near_trial"') == near.count('data-action="book-slot"')
    assert 'aria-describedby="slot-1-warning-1"' in near
    for far in (trial - timedelta(days=10), trial + timedelta(days=10)):
        html = slot_search(client, case.referral.id, far)
        assert 'data-action="book-slot"' in html and 'data-warning="near_trial"' not in html
    form_html = near.split('data-action="book-slot"')[0].rsplit("<form", 1)[1]
    slot = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form_html))
    booked = client.post(f"/referrals/{case.referral.id}/sessions", slot, follow_redirects=True)
    html = booked.get_data(as_text=True)
    assert booked.status_code == 200 and "The session is booked." in html
    assert "flash--warning" in html and "within the 7 days before the trial hearing" in html
    with app.app_context():
        assert db.session.execute(select(ScheduledSession).where(ScheduledSession.kind == "circle")).scalar_one()


def test_booking_far_from_a_trial_flashes_no_warning(app, factory, api, browser):
    """A circle 10 days before the trial books without a warning."""
    case = bookable(app, factory)
    trial = in_days(app, 30).date()
    add_trial(api, case, trial)
    client = browser(case.coordinator)
    html = slot_search(client, case.referral.id, trial - timedelta(days=10))
    slot = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">',
                           html.split('data-action="book-slot"')[0].rsplit("<form", 1)[1]))
    booked = client.post(f"/referrals/{case.referral.id}/sessions", slot, follow_redirects=True)
    page = booked.get_data(as_text=True)
    assert "The session is booked." in page and "flash--warning" not in page
