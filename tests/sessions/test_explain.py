""""Find a time": only times booking accepts, the causes of an empty answer with their fixes, and the changes that
would give times, through the service, the page and the API."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import delete

from coordinator import clock
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.models import AvailabilityWindow, Venue
from coordinator.safety.service import record_protective_order
from coordinator.sessions.bookable import SlotRequest, bookable_slots
from coordinator.sessions.explain import find_a_time
from tests.sessions.helpers import available, bookable, prepare_for_circle


def with_order(app, case, days: int = 20) -> date:
    """A no-contact order on the referral that ends `days` from now; returns its last day."""
    with app.app_context():
        until = clock.now().date() + timedelta(days=days)
        coordinator = db.session.merge(case.coordinator)
        record_protective_order(coordinator, db.session.get(Referral, case.referral.id), "CO-1", True, until)
        db.session.commit()
        return until


def vietnamese(factory, app):
    """A referral prepared for its circle whose survivor speaks Vietnamese (the pair speaks en, es, fr); it stays in
    preparation, since moving to ready needs the language condition met."""
    case = bookable(app, factory, status="preparation", survivor_language="vi")
    with app.app_context():
        prepare_for_circle(db.session.merge(case.coordinator), db.session.get(Referral, case.referral.id))
        db.session.commit()
    return case


def within_a_month(app) -> date:
    """The last day searched in these tests: before the assessment (30 days) and the consents need renewing."""
    with app.app_context():
        return clock.now().date() + timedelta(days=28)


def codes(items) -> list[str]:
    return [item["code"] for item in items]


def test_an_order_and_a_language_explain_an_empty_circle_search(app, factory, api):
    """In person, a no-contact order and no interpreter: no slot; both causes named with their fixes; the nearest
    change (an interpreter) finds times after the order ends, and every one of them can be booked."""
    case = vietnamese(factory, app)
    until = with_order(app, case)
    client = api(case.lead)
    url = (f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=in_person&duration=120"
           f"&to={within_a_month(app).isoformat()}")
    body = client.get(url).get_json()
    assert body["slots"] == []
    assert codes(body["explanation"]) == ["protective_order", "language_unmatched"]
    fixes = {item["code"]: item["fix"] for item in body["explanation"]}
    assert fixes["protective_order"] == f"/referrals/{case.referral.id}/safety#orders-heading"
    assert "interpreter=y" in fixes["language_unmatched"]
    assert any(str(until.strftime("%Y")) in item["message"] for item in body["explanation"]
               if item["code"] == "protective_order")
    suggestion = next(item for item in body["suggestions"] if item["code"] == "interpreter")
    assert suggestion["query"]["interpreter"] == "true" and suggestion["count"] == 10
    assert suggestion["first"]["start"][:10] > until.isoformat()

    ticked = client.get(url + "&interpreter=true").get_json()
    assert len(ticked["slots"]) == 10 and ticked["explanation"] == [] and ticked["suggestions"] == []
    assert all(slot["start"][:10] > until.isoformat() for slot in ticked["slots"])
    first = ticked["slots"][0]
    booked = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "circle", "format": "in_person", "start": first["start"], "end": first["end"],
        "facilitator_ids": first["facilitator_ids"], "venue_id": first["venue_id"], "interpreter": True})
    assert booked.status_code == 201, booked.get_json()


def test_shuttle_is_offered_when_only_the_order_blocks(app, factory):
    """The order rules out a meeting of the parties; a shuttle circle is the nearest change that gives times."""
    case = bookable(app, factory)
    with_order(app, case, days=40)
    last = within_a_month(app)
    with app.test_request_context():
        referral = db.session.get(Referral, case.referral.id)
        answer = find_a_time(referral, SlotRequest("circle", "in_person", timedelta(minutes=90), end_on=last),
                             lambda r: "/")
        assert answer.slots == []
        assert [cause.code for cause in answer.explanation] == ["protective_order"]
        assert {(s.code, s.request.format) for s in answer.suggestions} == {("format", "shuttle"),
                                                                            ("format", "letter")}


def test_a_facilitator_without_free_time_is_named(app, factory, api):
    """A preparation meeting: the co-facilitator has no availability at all; the cause names them."""
    case = bookable(app, factory)
    with app.app_context():
        db.session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.user_id == case.co.id))
        db.session.commit()
        co_name, lead_name = db.session.merge(case.co).name, db.session.merge(case.lead).name
    body = api(case.coordinator).get(f"/api/v1/referrals/{case.referral.id}/slots?kind=pre_conference_survivor"
                                     f"&format=video&duration=60").get_json()
    assert body["slots"] == []
    assert codes(body["explanation"]) == ["facilitator_unavailable"]
    assert co_name in body["explanation"][0]["message"]
    assert lead_name not in body["explanation"][0]["message"]


def test_no_suitable_venue_is_a_cause_and_video_a_change(app, factory, api):
    """In person with the only venue closed: the venue is the cause; by video gives times."""
    case = bookable(app, factory)
    with app.app_context():
        db.session.get(Venue, case.venue.id).active = False
        db.session.commit()
    body = api(case.coordinator).get(f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=in_person"
                                     f"&duration=90&to={within_a_month(app).isoformat()}").get_json()
    assert body["slots"] == [] and codes(body["explanation"]) == ["venue_unavailable"]
    assert "video" in {item["query"]["format"] for item in body["suggestions"]}


def test_a_short_range_suggests_the_whole_period(app, factory, api):
    """Days with no free time: the search over the whole booking period is offered."""
    case = bookable(app, factory)
    with app.app_context():
        day = clock.now().date() + timedelta(days=10)
        for user in (case.lead, case.co):
            db.session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id,
                                                                AvailabilityWindow.weekday == day.weekday()))
        db.session.commit()
    body = api(case.coordinator).get(
        f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=video&duration=90"
        f"&from={day.isoformat()}&to={day.isoformat()}").get_json()
    assert body["slots"] == []
    assert set(codes(body["explanation"])) == {"facilitator_unavailable"}
    assert [item["code"] for item in body["suggestions"]] == ["longer_range"]


def test_only_days_the_gate_allows_are_offered(app, factory):
    """An order ending in 20 days: in person, every slot offered starts after it (booking would refuse the rest)."""
    case = bookable(app, factory)
    until = with_order(app, case)
    last = within_a_month(app)
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        offer = bookable_slots(referral, SlotRequest("circle", "in_person", timedelta(minutes=90), end_on=last))
        assert len(offer.slots) == 10 and all(slot.start.date() > until for slot in offer.slots)
        assert [refusal.unmet.code for refusal in offer.refusals] == ["protective_order"]
        assert offer.refusals[0].last == until


def test_the_page_names_causes_links_fixes_and_keeps_the_checklist_format(app, factory, browser):
    """The staff page: each cause with its link, the suggestion, and the checklist for the chosen format."""
    case = vietnamese(factory, app)
    with_order(app, case)
    last = within_a_month(app)
    page = browser(case.lead).get(f"/referrals/{case.referral.id}/sessions/new?kind=circle&format=in_person"
                                  f"&duration=120&end_on={last.isoformat()}").get_data(as_text=True)
    assert 'data-cause="protective_order"' in page and 'data-cause="language_unmatched"' in page
    assert 'data-fix="protective_order"' in page and 'data-fix="language_unmatched"' in page
    assert 'data-suggestion="interpreter"' in page
    assert 'data-checklist-format="in_person"' in page
    assert 'data-code="protective_order" data-state="unmet"' in page
    assert "No free time was found" not in page


def test_nothing_outside_the_horizon(app, factory, api):
    """Days past the horizon: the cause says so."""
    case = bookable(app, factory)
    with app.app_context():
        far = clock.now().date() + timedelta(days=200)
    body = api(case.coordinator).get(f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=video"
                                     f"&from={far.isoformat()}").get_json()
    assert body["slots"] == [] and codes(body["explanation"]) == ["outside_horizon"]



def test_a_move_keeps_the_length_and_format(app, factory, api, browser):
    """Move a 120-minute in-person circle: the page searches 120 minutes in person by default, and the move keeps
    both; a changed format is kept when asked for."""
    case = bookable(app, factory)
    client = api(case.coordinator)
    with app.app_context():
        start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    booked = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "circle", "format": "in_person", "start": start.isoformat(),
        "end": (start + timedelta(minutes=120)).isoformat(), "facilitator_ids": [str(case.lead.id), str(case.co.id)],
        "venue_id": str(case.venue.id)}).get_json()
    staff = browser(case.coordinator)
    page = staff.get(f"/referrals/{case.referral.id}/sessions/new?move={booked['id']}").get_data(as_text=True)
    assert 'name="duration" type="number" value="120"' in page or 'value="120"' in page
    assert '<option selected value="in_person">' in page or 'value="in_person" selected' in page
    assert f'data-moving="{booked["id"]}"' in page
    slot = re.search(r'name="start" value="([^"]+)">\s*<input type="hidden" name="end" value="([^"]+)"', page)
    assert slot is not None
    moved_start, moved_end = (datetime.fromisoformat(value) for value in slot.groups())
    assert moved_end - moved_start == timedelta(minutes=120)
    response = staff.post(f"/sessions/{booked['id']}/reschedule", data={
        "kind": "circle", "format": "in_person", "start": slot.group(1), "end": slot.group(2),
        "facilitator_ids": f"{case.lead.id},{case.co.id}", "venue_id": str(case.venue.id), "interpreter": ""})
    assert response.status_code == 302
    moved = client.get(f"/api/v1/sessions/{booked['id']}").get_json()
    assert moved["format"] == "in_person" and moved["sequence"] == 1
    assert datetime.fromisoformat(moved["end"]) - datetime.fromisoformat(moved["start"]) == timedelta(minutes=120)
    later = start + timedelta(days=3)
    by_video = client.post(f"/api/v1/sessions/{booked['id']}/reschedule", json={
        "start": later.isoformat(), "end": (later + timedelta(minutes=120)).isoformat(), "format": "video"})
    assert by_video.status_code == 200 and by_video.get_json()["format"] == "video"
    assert by_video.get_json()["venue_id"] is None


def test_the_other_facilitator_is_offered_when_one_has_no_time(app, factory, api):
    """The co-facilitator is never free; a trained colleague who is free is named, found by searching with them."""
    case = bookable(app, factory)
    spare = factory.user("facilitator")
    available(app, spare)
    with app.app_context():
        db.session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.user_id == case.co.id))
        db.session.commit()
        spare_name = db.session.merge(spare).name
    body = api(case.coordinator).get(f"/api/v1/referrals/{case.referral.id}/slots?kind=circle&format=video"
                                     f"&duration=90&to={within_a_month(app).isoformat()}").get_json()
    assert body["slots"] == [] and codes(body["explanation"]) == ["facilitator_unavailable"]
    other = [item for item in body["suggestions"] if item["code"] == "other_facilitator"]
    assert len(other) == 1 and spare_name in other[0]["message"]
    assert set(other[0]["first"]["facilitator_ids"]) == {str(case.lead.id), str(spare.id)}
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        assert referral.co_facilitator_id == case.co.id  # the what-if search changed nothing
