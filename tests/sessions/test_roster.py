"""The facilitator roster: profiles, weekly availability (and daylight saving), conflicts of interest, pages."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from coordinator import clock
from coordinator.accounts.models import User
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster import availability as roster_availability
from coordinator.roster import profiles as roster
from coordinator.roster.eligibility import eligible_for
from coordinator.roster.intervals import expand
from coordinator.roster.models import (
    AvailabilityException,
    AvailabilityWindow,
    FacilitatorConflict,
    FacilitatorProfile,
    Training,
)


def count(app, model) -> int:
    """Rows of a table."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def new_facilitator(**overrides) -> dict:
    """A valid `POST /api/v1/facilitators` body."""
    body = {"email": "keeper@staff.example", "name": "Kai Keeper", "languages": ["es", "en"],
            "trainings": [{"kind": "trafficking_specialist", "valid_until": "2030-01-31"},
                          {"kind": "trauma_informed", "valid_until": "2029-06-30"}],
            "timezone": "Europe/Madrid", "max_active_referrals": 4}
    return {**body, **overrides}


WEEK = {"weekly": [{"weekday": 0, "start": "09:00", "end": "13:00"},
                   {"weekday": 0, "start": "14:00", "end": "17:30"},
                   {"weekday": 4, "start": "10:00", "end": "12:00"}],
        "exceptions": [{"date": "2030-05-01", "unavailable": True}]}


# Facilitators -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_managers_add_a_facilitator_whose_id_is_the_user_id(app, factory, api, role):
    """201 with the entry; the account has the facilitator role; no password is returned; audit names nobody."""
    manager = factory.user(role)
    response = api(manager).post("/api/v1/facilitators", json=new_facilitator())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert "password" not in json.dumps(body).lower()
    assert body["languages"] == ["en", "es"] and body["timezone"] == "Europe/Madrid"
    assert body["max_active_referrals"] == 4 and body["active_referrals"] == 0
    assert {t["kind"]: t["valid_until"] for t in body["trainings"]} == {
        "trafficking_specialist": "2030-01-31", "trauma_informed": "2029-06-30"}
    with app.app_context():
        user = db.session.get(User, uuid.UUID(body["id"]))
        assert user.role == "facilitator" and user.email == "keeper@staff.example" and user.name == "Kai Keeper"
        assert db.session.get(FacilitatorProfile, user.id).max_active_referrals == 4
        details = json.dumps([e.details for e in db.session.execute(select(AuditEntry)).scalars()])
        assert "Kai" not in details and "keeper@staff" not in details
        assert "roster.facilitator.create" in {e.action for e in db.session.execute(select(AuditEntry)).scalars()}
    fetched = api(manager).get(f"/api/v1/facilitators/{body['id']}")
    assert fetched.status_code == 200 and fetched.get_json() == body


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"languages": ["english"]}, "languages.0"),
    ({"languages": []}, "languages"),
    ({"trainings": [{"kind": "juggling", "valid_until": "2030-01-01"}]}, "trainings.0.kind"),
    ({"trainings": [{"kind": "trauma_informed", "valid_until": "someday"}]}, "trainings.0.valid_until"),
    ({"trainings": [{"kind": "trauma_informed", "valid_until": "2030-01-01"},
                    {"kind": "trauma_informed", "valid_until": "2031-01-01"}]}, "trainings.1.kind"),
    ({"max_active_referrals": 0}, "max_active_referrals"),
    ({"email": "not an address"}, "email"),
    ({"name": ""}, "name"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_facilitators_are_refused_with_field_errors(app, factory, api, change, field):
    """400 invalid_request naming the field; no account, profile or training is written."""
    admin = factory.user("admin")
    before = count(app, User), count(app, FacilitatorProfile), count(app, Training)
    response = api(admin).post("/api/v1/facilitators", json=new_facilitator(**change))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and field in error["details"], error
    assert (count(app, User), count(app, FacilitatorProfile), count(app, Training)) == before


def test_a_taken_email_address_is_a_field_error(app, factory, api):
    """The account service's own check comes back as a field error of the roster."""
    admin = factory.user("admin")
    taken = factory.user("coordinator")
    response = api(admin).post("/api/v1/facilitators", json=new_facilitator(email=taken.email))
    assert response.status_code == 400
    assert "email" in response.get_json()["error"]["details"]


@pytest.mark.parametrize("role", ["facilitator", "prosecutor"])
def test_other_roles_may_not_manage_the_roster(app, factory, api, role):
    """403 for creating, listing and changing entries."""
    user = factory.user(role)
    other = factory.user("facilitator")
    client = api(user)
    assert client.post("/api/v1/facilitators", json=new_facilitator()).status_code == 403
    assert client.get("/api/v1/facilitators").status_code == 403
    assert client.put(f"/api/v1/facilitators/{other.id}", json={"max_active_referrals": 9}).status_code == 403
    assert count(app, User) == 2


def test_the_roster_lists_and_unknown_ids_are_404(app, factory, api):
    """The list envelope; 404 for an unknown id, a malformed one, and a user who is not a facilitator."""
    coordinator = factory.user("coordinator")
    keepers = [factory.user("facilitator") for _ in range(3)]
    client = api(coordinator)
    listed = client.get("/api/v1/facilitators?per_page=2").get_json()
    assert listed["total"] == 3 and listed["per_page"] == 2 and len(listed["items"]) == 2
    second = client.get("/api/v1/facilitators?per_page=2&page=2").get_json()["items"]
    assert {i["id"] for i in listed["items"] + second} == {str(k.id) for k in keepers}
    for missing in ("00000000-0000-4000-8000-000000000000", "nope", str(coordinator.id)):
        assert client.get(f"/api/v1/facilitators/{missing}").status_code == 404
        assert client.put(f"/api/v1/facilitators/{missing}/availability", json=WEEK).status_code == 404


def test_a_facilitator_reads_their_own_entry_only(app, factory, api):
    """Their own entry answers; another facilitator's is outside their scope (404)."""
    me, other = factory.user("facilitator"), factory.user("facilitator")
    client = api(me)
    assert client.get(f"/api/v1/facilitators/{me.id}").status_code == 200
    assert client.get(f"/api/v1/facilitators/{other.id}").status_code == 404


def test_updating_changes_only_what_is_given_and_trainings_are_replaced(app, factory, api):
    """PUT with some fields: the rest is kept; a trainings list replaces the old one."""
    coordinator = factory.user("coordinator")
    keeper = factory.user("facilitator")
    client = api(coordinator)
    response = client.put(f"/api/v1/facilitators/{keeper.id}", json={
        "languages": ["ro", "es"], "trainings": [{"kind": "restorative_practice", "valid_until": "2031-02-03"}]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["languages"] == ["es", "ro"] and body["timezone"] == "UTC" and body["max_active_referrals"] == 6
    assert body["trainings"] == [{"kind": "restorative_practice", "valid_until": "2031-02-03"}]
    refused = client.put(f"/api/v1/facilitators/{keeper.id}", json={"timezone": "Europe/Atlantis",
                                                                     "max_active_referrals": 3})
    assert refused.status_code == 400 and "timezone" in refused.get_json()["error"]["details"]
    again = client.get(f"/api/v1/facilitators/{keeper.id}").get_json()
    assert again["timezone"] == "UTC" and again["max_active_referrals"] == 6
    assert client.put(f"/api/v1/facilitators/{keeper.id}", json={"timezone": "America/Bogota"}
                      ).get_json()["timezone"] == "America/Bogota"


# Availability -------------------------------------------------------------------------------------------------


def test_availability_replaces_and_reads_back(app, factory, api):
    """PUT replaces both lists; GET returns them as sent, in the facilitator's time zone."""
    coordinator = factory.user("coordinator")
    keeper = factory.user("facilitator")
    client = api(coordinator)
    response = client.put(f"/api/v1/facilitators/{keeper.id}/availability", json=WEEK)
    assert response.status_code == 200, response.get_json()
    body = client.get(f"/api/v1/facilitators/{keeper.id}/availability").get_json()
    assert body["weekly"] == WEEK["weekly"] and body["exceptions"] == WEEK["exceptions"]
    assert body["timezone"] == "UTC" and body["facilitator_id"] == str(keeper.id)
    smaller = {"weekly": [{"weekday": 6, "start": "08:00", "end": "09:00"}]}
    assert client.put(f"/api/v1/facilitators/{keeper.id}/availability", json=smaller).status_code == 200
    body = client.get(f"/api/v1/facilitators/{keeper.id}/availability").get_json()
    assert body["weekly"] == smaller["weekly"] and body["exceptions"] == []
    assert (count(app, AvailabilityWindow), count(app, AvailabilityException)) == (1, 0)


@pytest.mark.parametrize(("weekly", "exceptions", "field"), [
    ([{"weekday": 7, "start": "09:00", "end": "10:00"}], [], "weekly.0.weekday"),
    ([{"weekday": -1, "start": "09:00", "end": "10:00"}], [], "weekly.0.weekday"),
    ([{"weekday": 1, "start": "17:00", "end": "09:00"}], [], "weekly.0.end"),
    ([{"weekday": 1, "start": "09:00", "end": "09:00"}], [], "weekly.0.end"),
    ([{"weekday": 1, "start": "9am", "end": "10:00"}], [], "weekly.0.start"),
    ([{"weekday": 1, "start": "09:00", "end": "24:00"}], [], "weekly.0.end"),
    ([{"weekday": 2, "start": "09:00", "end": "12:00"}, {"weekday": 2, "start": "11:00", "end": "13:00"}], [],
     "weekly.1.start"),
    ([{"weekday": 2, "start": "08:00", "end": "18:00"}, {"weekday": 2, "start": "09:00", "end": "10:00"},
      {"weekday": 2, "start": "12:00", "end": "13:00"}], [], "weekly.2.start"),
    ([], [{"date": "2030-01-01"}, {"date": "2030-01-01"}], "exceptions.1.date"),
    ([], [{"date": "2030-02-30"}], "exceptions.0.date"),
])
def test_invalid_availability_is_refused_and_nothing_changes(app, factory, api, weekly, exceptions, field):
    """400 with the field's path; the stored availability stays as it was."""
    keeper = factory.user("facilitator")
    client = api(keeper)
    assert client.put(f"/api/v1/facilitators/{keeper.id}/availability", json=WEEK).status_code == 200
    response = client.put(f"/api/v1/facilitators/{keeper.id}/availability",
                          json={"weekly": weekly, "exceptions": exceptions})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"], response.get_json()
    assert client.get(f"/api/v1/facilitators/{keeper.id}/availability").get_json()["weekly"] == WEEK["weekly"]


def test_touching_windows_on_one_day_are_allowed(app, factory, api):
    """09:00-12:00 and 12:00-17:00 do not overlap."""
    keeper = factory.user("facilitator")
    response = api(keeper).put(f"/api/v1/facilitators/{keeper.id}/availability", json={"weekly": [
        {"weekday": 3, "start": "12:00", "end": "17:00"}, {"weekday": 3, "start": "09:00", "end": "12:00"}]})
    assert response.status_code == 200
    assert [w["start"] for w in response.get_json()["weekly"]] == ["09:00", "12:00"]


def test_who_may_keep_availability(app, factory, api):
    """A facilitator their own (another's is 404); coordinators and admins anyone's; prosecutors not at all."""
    me, other = factory.user("facilitator"), factory.user("facilitator")
    assert api(me).put(f"/api/v1/facilitators/{me.id}/availability", json=WEEK).status_code == 200
    assert api(me).put(f"/api/v1/facilitators/{other.id}/availability", json=WEEK).status_code == 404
    assert api(me).get(f"/api/v1/facilitators/{other.id}/availability").status_code == 404
    for role in ("coordinator", "admin"):
        assert api(factory.user(role)).put(f"/api/v1/facilitators/{other.id}/availability",
                                           json=WEEK).status_code == 200
    prosecutor = factory.user("prosecutor")
    assert api(prosecutor).get(f"/api/v1/facilitators/{me.id}/availability").status_code == 403
    assert api(prosecutor).put(f"/api/v1/facilitators/{me.id}/availability", json=WEEK).status_code == 403


def last_sunday_of_march(year: int) -> date:
    """When Europe's summer time starts."""
    day = date(year, 3, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def test_a_madrid_window_follows_daylight_saving(app, factory, api):
    """09:00-17:00 in Madrid is 08:00-16:00 UTC before the last Sunday of March and 07:00-15:00 UTC after."""
    coordinator = factory.user("coordinator")
    keeper = factory.user("facilitator")
    client = api(coordinator)
    assert client.put(f"/api/v1/facilitators/{keeper.id}", json={"timezone": "Europe/Madrid"}).status_code == 200
    week = {"weekly": [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(7)]}
    assert client.put(f"/api/v1/facilitators/{keeper.id}/availability", json=week).status_code == 200
    change = last_sunday_of_march(2026)
    assert change == date(2026, 3, 29)
    with app.app_context():
        stored = roster_availability.availability_of(db.session.get(User, keeper.id))
        start = datetime.combine(change - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
        intervals = expand(stored.weekly, stored.timezone, start, start + timedelta(days=6))
    by_day = {opens.date(): (opens.time().isoformat("minutes"), closes.time().isoformat("minutes"))
              for opens, closes in intervals}
    assert by_day[change - timedelta(days=2)] == ("08:00", "16:00")  # Friday, winter time
    assert by_day[change - timedelta(days=1)] == ("08:00", "16:00")  # Saturday
    assert by_day[change] == ("07:00", "15:00")  # the Sunday itself: the clocks moved at 02:00
    assert by_day[change + timedelta(days=1)] == ("07:00", "15:00")  # Monday, summer time


# Conflicts of interest ------------------------------------------------------------------------------------------


def test_a_facilitator_declares_and_withdraws_a_conflict(app, factory, api):
    """Declared by docket number: listed, and the facilitator is no longer eligible for that case."""
    keeper = factory.user("facilitator")
    referral = factory.referral()
    client = api(keeper)
    with app.app_context():
        docket = db.session.get(Referral, referral.id).case.docket_number
        assert keeper.id in {c.user_id for c in eligible_for(db.session.get(Referral, referral.id),
                                                              clock.now().date())}
    response = client.post(f"/api/v1/facilitators/{keeper.id}/conflicts", json={"docket_number": docket.lower()})
    assert response.status_code == 201, response.get_json()
    conflict = response.get_json()
    assert conflict["docket_number"] == docket
    listed = client.get(f"/api/v1/facilitators/{keeper.id}/conflicts").get_json()
    assert [item["id"] for item in listed["items"]] == [conflict["id"]]
    with app.app_context():
        assert keeper.id not in {c.user_id for c in eligible_for(db.session.get(Referral, referral.id),
                                                                  clock.now().date())}
        details = json.dumps([e.details for e in db.session.execute(select(AuditEntry)).scalars()])
        assert docket not in details
    again = client.post(f"/api/v1/facilitators/{keeper.id}/conflicts", json={"docket_number": docket})
    assert again.status_code == 400 and "docket_number" in again.get_json()["error"]["details"]
    removed = client.delete(f"/api/v1/facilitators/{keeper.id}/conflicts/{conflict['id']}")
    assert removed.status_code == 200 and removed.get_json() == {"id": conflict["id"], "deleted": True}
    assert client.get(f"/api/v1/facilitators/{keeper.id}/conflicts").get_json()["items"] == []
    assert client.delete(f"/api/v1/facilitators/{keeper.id}/conflicts/{conflict['id']}").status_code == 404


def test_declaring_a_conflict_reveals_nothing_about_which_cases_exist(app, factory, api):
    """A docket the programme does not hold is accepted just like one it does, with the same fields, and it
    applies to a case with that number referred later."""
    keeper = factory.user("facilitator")
    client = api(keeper)
    held = factory.referral()
    with app.app_context():
        known = db.session.get(Referral, held.id).case.docket_number
    answers = [client.post(f"/api/v1/facilitators/{keeper.id}/conflicts", json={"docket_number": docket})
               for docket in (known, "LATER-2027-1")]
    assert [a.status_code for a in answers] == [201, 201]
    assert [sorted(a.get_json()) for a in answers] == [["declared_at", "docket_number", "id"]] * 2
    later = factory.referral(case={"docket_number": "later-2027-1"})
    with app.app_context():
        assert keeper.id not in {c.user_id for c in eligible_for(db.session.get(Referral, later.id),
                                                                  clock.now().date())}


def test_conflict_scope_and_validation(app, factory, api):
    """Malformed docket: 400; another facilitator's conflicts: 404; coordinators declare for anyone; prosecutors
    403."""
    keeper, other = factory.user("facilitator"), factory.user("facilitator")
    referral = factory.referral()
    with app.app_context():
        docket = db.session.get(Referral, referral.id).case.docket_number
    for bad in ("", "   ", "<script>", "X" * 65):
        refused = api(keeper).post(f"/api/v1/facilitators/{keeper.id}/conflicts", json={"docket_number": bad})
        assert refused.status_code == 400 and "docket_number" in refused.get_json()["error"]["details"], bad
    assert api(keeper).post(f"/api/v1/facilitators/{other.id}/conflicts",
                            json={"docket_number": docket}).status_code == 404
    assert api(keeper).get(f"/api/v1/facilitators/{other.id}/conflicts").status_code == 404
    assert api(factory.user("prosecutor")).post(f"/api/v1/facilitators/{other.id}/conflicts",
                                                json={"docket_number": docket}).status_code == 403
    assert count(app, FacilitatorConflict) == 0
    declared = api(factory.user("coordinator")).post(f"/api/v1/facilitators/{other.id}/conflicts",
                                                     json={"docket_number": docket})
    assert declared.status_code == 201
    assert api(keeper).delete(f"/api/v1/facilitators/{keeper.id}/conflicts/"
                              f"{declared.get_json()['id']}").status_code == 404
    assert count(app, FacilitatorConflict) == 1


# Pages ----------------------------------------------------------------------------------------------------------


def test_the_roster_page_lists_facilitators_for_managers_only(app, factory, browser):
    """Name, languages, training validity and caseload; facilitators and prosecutors get 403."""
    coordinator = factory.user("coordinator")
    keeper = factory.user("facilitator", name="Nia Keeper")
    factory.referral(by=coordinator, facilitators=(keeper, factory.user("facilitator")))
    page = browser(coordinator).get("/roster")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nia Keeper" in html and f"/roster/{keeper.id}" in html and "1 of 6" in html and "Valid until" in html
    assert 'href="/roster"' in html  # the main navigation
    assert browser(factory.user("admin")).get("/roster").status_code == 200
    for role in ("facilitator", "prosecutor"):
        assert browser(factory.user(role)).get("/roster").status_code == 403


def test_a_facilitator_is_added_through_the_page(app, factory, browser):
    """The form creates the account and entry, and shows the first password once."""
    coordinator = factory.user("coordinator")
    client = browser(coordinator)
    form = client.get("/roster/new")
    assert form.status_code == 200 and 'list="timezones"' in form.get_data(as_text=True)
    response = client.post("/roster/new", {"name": "Page Keeper", "email": "page.keeper@staff.example",
                                           "languages": ["es", "ro"], "training_trafficking_specialist": "2030-03-01",
                                           "timezone": "Europe/Madrid", "max_active_referrals": "5"})
    assert response.status_code == 201
    assert "First password" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "page.keeper@staff.example")).scalar_one()
        entry = roster.facilitator_entry(user)
    assert entry.languages == ("es", "ro") and entry.timezone == "Europe/Madrid" and entry.cap == 5
    assert entry.trainings == {"trafficking_specialist": date(2030, 3, 1)}


def test_the_new_facilitator_page_shows_field_errors(app, factory, browser):
    """A bad time zone: 400, the message beside the field, no account."""
    client = browser(factory.user("admin"))
    before = count(app, User)
    response = client.post("/roster/new", {"name": "Page Keeper", "email": "pk@staff.example", "languages": ["es"],
                                           "timezone": "Moon/Base", "max_active_referrals": "5"})
    assert response.status_code == 400
    assert "Enter a time zone such as Europe/Madrid." in response.get_data(as_text=True)
    assert count(app, User) == before


def grid_form(windows: dict[tuple[int, int], tuple[str, str]]) -> dict:
    """The week grid's fields: {(weekday, slot): (start, end)}, every other cell empty."""
    data = {}
    for weekday in range(7):
        for slot in range(2):
            start, end = windows.get((weekday, slot), ("", ""))
            data[f"weekly-{weekday}-{slot}-start"], data[f"weekly-{weekday}-{slot}-end"] = start, end
    return data


def test_the_week_grid_round_trips(app, factory, browser, api):
    """Saved from the page, read by the API, shown again in the inputs (with one more empty window per day)."""
    keeper = factory.user("facilitator")
    client = browser(keeper)
    page = client.get(f"/roster/{keeper.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="/roster/{keeper.id}"' in html and "My availability" in html
    assert html.count('type="time"') == 7 * 2 * 2  # seven days, two empty windows, from and until
    assert 'for="weekly-0-0-start"' in html and "Monday" in html and "Sunday" in html
    response = client.post(f"/roster/{keeper.id}/availability",
                           grid_form({(0, 0): ("09:00", "13:00"), (0, 1): ("14:00", "17:00"),
                                      (5, 0): ("10:00", "12:30")}))
    assert response.status_code == 302
    assert api(keeper).get(f"/api/v1/facilitators/{keeper.id}/availability").get_json()["weekly"] == [
        {"weekday": 0, "start": "09:00", "end": "13:00"}, {"weekday": 0, "start": "14:00", "end": "17:00"},
        {"weekday": 5, "start": "10:00", "end": "12:30"}]
    html = client.get(f"/roster/{keeper.id}").get_data(as_text=True)
    assert 'name="weekly-0-0-start" value="09:00"' in html and 'name="weekly-0-1-end" value="17:00"' in html
    assert 'name="weekly-5-0-end" value="12:30"' in html and 'name="weekly-0-2-start" value=""' in html


def test_the_week_grid_shows_errors_on_the_cell_and_saves_nothing(app, factory, browser, api):
    """Overlapping windows: 400, the message on the second window, the stored grid unchanged."""
    keeper = factory.user("facilitator")
    client = browser(keeper)
    response = client.post(f"/roster/{keeper.id}/availability",
                           grid_form({(2, 0): ("09:00", "12:00"), (2, 1): ("11:00", "13:00")}))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="weekly-2-1-error"' in html and "overlaps" in html and 'aria-invalid="true"' in html
    assert 'name="weekly-2-1-start" value="11:00"' in html
    assert count(app, AvailabilityWindow) == 0


def test_dates_and_conflicts_are_kept_from_the_profile_page(app, factory, browser, api):
    """Add and remove an unavailable date; declare and remove a conflict; the weekly grid stays."""
    keeper = factory.user("facilitator")
    referral = factory.referral()
    with app.app_context():
        docket = db.session.get(Referral, referral.id).case.docket_number
    assert api(keeper).put(f"/api/v1/facilitators/{keeper.id}/availability", json=WEEK).status_code == 200
    client = browser(keeper)
    assert client.post(f"/roster/{keeper.id}/exceptions", {"date": "2030-08-15"}).status_code == 302
    stored = api(keeper).get(f"/api/v1/facilitators/{keeper.id}/availability").get_json()
    assert [e["date"] for e in stored["exceptions"]] == ["2030-05-01", "2030-08-15"]
    assert stored["weekly"] == WEEK["weekly"]
    assert client.post(f"/roster/{keeper.id}/exceptions/2030-05-01/remove").status_code == 302
    assert [e["date"] for e in api(keeper).get(f"/api/v1/facilitators/{keeper.id}/availability"
                                               ).get_json()["exceptions"]] == ["2030-08-15"]
    assert client.post(f"/roster/{keeper.id}/conflicts", {"docket_number": docket}).status_code == 302
    html = client.get(f"/roster/{keeper.id}").get_data(as_text=True)
    assert docket in html
    conflict_id = re.search(rf"/roster/{keeper.id}/conflicts/([0-9a-f-]+)/remove", html).group(1)
    assert client.post(f"/roster/{keeper.id}/conflicts/{conflict_id}/remove").status_code == 302
    assert count(app, FacilitatorConflict) == 0
    refused = client.post(f"/roster/{keeper.id}/conflicts", {"docket_number": "<no>"})
    assert refused.status_code == 400 and "letters, digits" in refused.get_data(as_text=True)
    assert count(app, FacilitatorConflict) == 0


def test_profile_pages_are_scoped(app, factory, browser):
    """A facilitator sees no other facilitator's page (404) and no profile form; managers edit the profile."""
    keeper, other = factory.user("facilitator"), factory.user("facilitator")
    assert browser(keeper).get(f"/roster/{other.id}").status_code == 404
    assert browser(keeper).post(f"/roster/{other.id}/availability", grid_form({})).status_code == 404
    assert browser(keeper).post(f"/roster/{keeper.id}/profile", {"timezone": "UTC"}).status_code == 403
    assert "Change the profile" not in browser(keeper).get(f"/roster/{keeper.id}").get_data(as_text=True)
    coordinator = browser(factory.user("coordinator"))
    assert "Change the profile" in coordinator.get(f"/roster/{other.id}").get_data(as_text=True)
    saved = coordinator.post(f"/roster/{other.id}/profile", {
        "languages": ["fr"], "training_trafficking_specialist": "2031-01-01", "timezone": "Europe/Paris",
        "max_active_referrals": "3"})
    assert saved.status_code == 302
    with app.app_context():
        entry = roster.facilitator_entry(db.session.get(User, other.id))
    assert (entry.languages, entry.timezone, entry.cap) == (("fr",), "Europe/Paris", 3)
    assert entry.trainings == {"trafficking_specialist": date(2031, 1, 1)}
    bad = coordinator.post(f"/roster/{other.id}/profile", {"languages": ["fr"], "timezone": "Europe/Paris",
                                                            "max_active_referrals": "0"})
    assert bad.status_code == 400
