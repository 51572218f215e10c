"""Calendars: a session's .ics (invitation, then cancellation), a facilitator's private feed, and the week page."""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Role, User
from coordinator.accounts.service import sha256_hex
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.logs import redact
from coordinator.roster.models import AvailabilityException, AvailabilityWindow
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.sessions.models import CalendarFeed
from tests.live_server import serving
from tests.sessions.calendar_helpers import (
    book,
    book_at,
    cancel,
    make_case,
    make_venue,
    reschedule,
    session_row,
)

FEED_URL = re.compile(r"http://localhost/calendar/feed/([A-Za-z0-9_\-]{43})\.ics")


def unfolded(body: bytes) -> str:
    """The file as text with RFC 5545 line folding undone, so a folded secret is still found."""
    return re.sub(r"\r\n[ \t]", "", body.decode("utf-8"))


def parse(body: bytes) -> tuple[Calendar, list]:
    """The calendar and its events."""
    calendar = Calendar.from_ical(body)
    return calendar, list(calendar.walk("VEVENT"))


def assert_utc(event, name: str, expected: datetime) -> None:
    """A DATE-TIME in UTC (the "Z" form), at the expected instant."""
    value = event[name].dt
    assert value.utcoffset() == timedelta(0) and value == expected, (name, value)
    assert event[name].to_ical().endswith(b"Z")


def test_a_session_file_is_an_invitation_then_an_update_then_a_cancellation(app, factory, browser):
    """Same UID throughout; SEQUENCE rises with each change; METHOD:CANCEL and STATUS:CANCELLED at the end."""
    case = make_case(app, factory)
    session_id = book(app, case, kind="follow_up", fmt="video", days=4)
    staff = browser(case.facilitators[0])

    response = staff.get(f"/sessions/{session_id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="session-{session_id}.ics"'
    booked = session_row(app, session_id)
    calendar, [event] = parse(response.data)
    assert str(calendar["method"]) == "REQUEST" and str(calendar["version"]) == "2.0" and calendar["prodid"]
    assert str(event["uid"]) == f"{booked.ical_uid}@circlekeeper"
    assert event["sequence"] == 0
    assert_utc(event, "dtstart", booked.starts_at)
    assert_utc(event, "dtend", booked.ends_at)
    assert event["dtstamp"].dt.utcoffset() == timedelta(0)
    assert str(event["summary"]) == "Follow-up" and str(event["location"]) == "Video"
    text = unfolded(response.data)
    for secret in case.secrets:
        assert secret not in text, secret
    assert "Fiona" not in text and "Colm" not in text  # no names, not even the facilitators'

    reschedule(app, case, session_id, days=5)
    _calendar, [moved] = parse(staff.get(f"/sessions/{session_id}.ics").data)
    assert str(moved["uid"]) == str(event["uid"]) and moved["sequence"] == 1
    assert_utc(moved, "dtstart", session_row(app, session_id).starts_at)
    assert str(_calendar["method"]) == "REQUEST"

    cancel(app, case, session_id)
    response = staff.get(f"/sessions/{session_id}.ics")
    calendar, [cancelled] = parse(response.data)
    assert str(calendar["method"]) == "CANCEL"
    assert str(cancelled["status"]) == "CANCELLED" and cancelled["sequence"] == 2
    assert str(cancelled["uid"]) == str(event["uid"])
    with app.app_context():
        exports = db.session.execute(select(AuditEntry).where(AuditEntry.action == "session.export_ics")).scalars()
        assert len(list(exports)) == 3  # every file that left is in the audit log


def test_an_in_person_session_names_its_venue_but_never_its_address(app, factory, browser):
    """LOCATION is the venue's name; the encrypted address stays out; the title never says "survivor"."""
    case = make_case(app, factory)
    venue_id = make_venue(app, "Room Juniper", "42 Quiet Lane, Testshire")
    session_id = book(app, case, kind="pre_conference_survivor", fmt="in_person", venue_id=venue_id)

    response = browser(case.coordinator).get(f"/sessions/{session_id}.ics")

    assert response.status_code == 200
    _calendar, [event] = parse(response.data)
    assert str(event["location"]) == "Room Juniper"
    assert str(event["summary"]) == "Preparation meeting"
    text = unfolded(response.data)
    assert "Quiet Lane" not in text and "urvivor" not in text


def test_only_staff_in_the_referrals_scope_get_a_session_file(app, factory, browser):
    """Another facilitator: 404 as if it did not exist; a prosecutor or an admin: 403; a visitor signs in first."""
    case = make_case(app, factory)
    session_id = book(app, case)
    url = f"/sessions/{session_id}.ics"

    assert browser(factory.user(Role.facilitator)).get(url).status_code == 404
    assert browser(factory.user(Role.prosecutor)).get(url).status_code == 403
    assert browser(factory.user(Role.admin)).get(url).status_code == 403
    assert browser().get(url).status_code == 302
    assert browser(case.coordinator).get("/sessions/not-a-session.ics").status_code == 404


def create_feed(staff) -> str:
    """Create a feed on its page; returns its token, read from the address shown once."""
    response = staff.post("/calendar/feed")
    assert response.status_code == 201
    return FEED_URL.search(response.get_data(as_text=True)).group(1)


def test_a_feed_lists_the_facilitators_own_sessions_only(app, factory, browser):
    """Upcoming and last month's sessions of this facilitator, cancelled ones flagged; nobody else's; no secrets."""
    case = make_case(app, factory)
    lead = case.facilitators[0]
    upcoming = book(app, case, days=4)
    cancelled = book(app, case, days=6)
    cancel(app, case, cancelled)
    with app.app_context():
        now = clock.now()
    recent = book_at(app, case, [lead.id], now - timedelta(days=10), held=True)
    forgotten = book_at(app, case, [lead.id], now - timedelta(days=40), held=True)
    other_case = make_case(app, factory)
    elsewhere = book(app, other_case, days=4)
    staff = browser(lead)

    token = create_feed(staff)
    response = browser().get(f"/calendar/feed/{token}.ics")  # the calendar app has no staff session

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar, events = parse(response.data)
    assert str(calendar["method"]) == "PUBLISH"
    uids = {str(event["uid"]): event for event in events}
    expected = {f"{session_row(app, sid).ical_uid}@circlekeeper": sid for sid in (upcoming, cancelled, recent)}
    assert set(uids) == set(expected)
    assert f"{session_row(app, elsewhere).ical_uid}@circlekeeper" not in uids
    assert f"{session_row(app, forgotten).ical_uid}@circlekeeper" not in uids
    cancelled_event = uids[f"{session_row(app, cancelled).ical_uid}@circlekeeper"]
    assert str(cancelled_event["status"]) == "CANCELLED" and cancelled_event["sequence"] == 1
    for event in events:
        assert event["dtstart"].to_ical().endswith(b"Z")
    text = unfolded(response.data)
    for secret in case.secrets + other_case.secrets:
        assert secret not in text, secret

    with app.app_context():
        [feed] = db.session.execute(select(CalendarFeed)).scalars().all()
        assert feed.user_id == lead.id and feed.token_hash == sha256_hex(token) and feed.revoked_at is None
        assert token not in str(feed.model_dump())
    page = staff.get("/calendar/feed").get_data(as_text=True)
    assert token not in page and "Stop the feed" in page  # shown once only


def test_revoking_or_replacing_a_feed_makes_its_address_404(app, factory, browser):
    """Stopped and replaced feeds answer exactly like a token that never existed."""
    case = make_case(app, factory)
    book(app, case)
    staff, calendar_app = browser(case.facilitators[0]), browser()
    first = create_feed(staff)
    assert calendar_app.get(f"/calendar/feed/{first}.ics").status_code == 200

    second = create_feed(staff)  # a new address replaces the old one
    assert calendar_app.get(f"/calendar/feed/{first}.ics").status_code == 404
    assert calendar_app.get(f"/calendar/feed/{second}.ics").status_code == 200

    response = staff.post("/calendar/feed/revoke")
    assert response.status_code == 302
    revoked = calendar_app.get(f"/calendar/feed/{second}.ics")
    unknown = calendar_app.get(f"/calendar/feed/{'Zq3' * 14}x.ics")
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.data == unknown.data
    with app.app_context():
        assert db.session.execute(select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))).first() is None


def test_feeds_are_rate_limited(app, browser):
    """An address that keeps trying feed tokens is slowed down (CALENDAR_FEED_RATE_LIMIT, 30 a minute)."""
    assert app.config["CALENDAR_FEED_RATE_LIMIT"].startswith("30 per minute")
    prober = browser()
    statuses = [prober.get(f"/calendar/feed/{n:043d}.ics").status_code for n in range(32)]
    assert statuses[:30] == [404] * 30 and statuses[30:] == [429, 429]


def test_feeds_are_for_facilitators_and_stop_with_their_account(app, factory, browser):
    """Coordinators have no feed page; a deactivated facilitator's feed answers 404."""
    case = make_case(app, factory)
    assert browser(case.coordinator).get("/calendar/feed").status_code == 403
    lead = case.facilitators[0]
    token = create_feed(browser(lead))
    with app.app_context():
        db.session.get(User, lead.id).active = False
        db.session.commit()
    assert browser().get(f"/calendar/feed/{token}.ics").status_code == 404


def test_feed_tokens_never_reach_the_request_log(app, factory, browser, caplog):
    """The real development server logs /calendar/feed/[redacted].ics; the token appears in no log record."""
    case = make_case(app, factory)
    token = create_feed(browser(case.facilitators[0]))
    logged = f'"GET /calendar/feed/{token}.ics HTTP/1.1" 200'
    assert redact(logged) == '"GET /calendar/feed/[redacted].ics HTTP/1.1" 200'
    assert redact("/calendar/feed/revoke") == "/calendar/feed/revoke"
    caplog.set_level(logging.INFO)
    with serving(app) as base_url:
        with urllib.request.urlopen(f"{base_url}/calendar/feed/{token}.ics", timeout=30) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base_url}/calendar/feed/{'Zq3' * 14}x.ics", timeout=30)
        refused.value.close()
        assert refused.value.code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert sum("GET /calendar/feed/[redacted].ics HTTP/1.1" in line for line in lines) == 2, lines
    assert [record.getMessage() for record in caplog.records
            if token in record.getMessage() or token in str(record.args)] == []


def week_page(staff, user_id=None, start: str | None = None):
    """The week page's response."""
    query = "&".join(f"{key}={value}" for key, value in (("user", user_id), ("start", start)) if value)
    return staff.get(f"/calendar/week?{query}")


def day_section(page: str, day: str) -> str:
    """The part of the page for one local day."""
    section = page.split(f'id="day-{day}"', 1)[1]
    return section.split('class="week__day"', 1)[0]


def test_the_week_shows_local_times_across_the_autumn_clock_change(app, factory, browser):
    """New York: 09:00 on Saturday is 13:00 UTC (EDT), 09:00 on Sunday 14:00 UTC (EST); both show as 09:00."""
    case = make_case(app, factory)
    lead = case.facilitators[0]
    with app.app_context():
        set_facilitator_profile(SYSTEM, db.session.merge(lead), ["en"], {}, timezone="America/New_York")
        for weekday in range(7):
            db.session.add(AvailabilityWindow(user_id=lead.id, weekday=weekday, start_time=time(9),
                                              end_time=time(17)))
        db.session.add(AvailabilityException(user_id=lead.id, on_date=date(2026, 10, 28)))
        db.session.commit()
    saturday = book_at(app, case, [lead.id], datetime(2026, 10, 31, 13, 0, tzinfo=UTC))
    sunday = book_at(app, case, [lead.id], datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
                            kind="follow_up")
    monday = book_at(app, case, [lead.id], datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
    late = book_at(app, case, [lead.id], datetime(2026, 11, 1, 3, 30, tzinfo=UTC))  # 23:30 Sat
    other = book_at(app, case, [case.facilitators[1].id], datetime(2026, 10, 30, 15, tzinfo=UTC))
    staff = browser(lead)

    response = week_page(staff, start="2026-10-29")  # any day of the week shows that week, from Monday

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="day-2026-10-26"' in page and 'id="day-2026-11-01"' in page and 'id="day-2026-11-02"' not in page
    assert "America/New_York" in page
    saturday_html, sunday_html = day_section(page, "2026-10-31"), day_section(page, "2026-11-01")
    assert 'datetime="2026-10-31T09:00:00-04:00"' in saturday_html and f'data-session="{saturday}"' in saturday_html
    assert 'datetime="2026-10-31T23:30:00-04:00"' in saturday_html and f'data-session="{late}"' in saturday_html
    assert 'datetime="2026-11-01T09:00:00-05:00"' in sunday_html and f'data-session="{sunday}"' in sunday_html
    for html, day in ((saturday_html, "2026-10-31T09:00:00-04:00"), (sunday_html, "2026-11-01T09:00:00-05:00")):
        assert re.search(rf'datetime="{day}">9:00\s?AM</time>', html), html  # what the reader sees, too
    assert f'data-session="{monday}"' not in page and f'data-session="{other}"' not in page
    for day in ("2026-10-26", "2026-10-31", "2026-11-01"):  # the windows, in local time, every day
        assert 'datetime="09:00"' in day_section(page, day) and 'datetime="17:00"' in day_section(page, day)
    assert "Not available on this day." in day_section(page, "2026-10-28")
    assert case.referral.reference in saturday_html  # staff in scope see which referral
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/js/feedback.js" defer>']  # no calendar script
    assert "<h2>" in page and "<h3>" in page

    following = week_page(staff, start="2026-11-02").get_data(as_text=True)
    assert 'datetime="2026-11-02T09:00:00-05:00"' in day_section(following, "2026-11-02")


def test_who_may_see_whose_week(app, factory, browser):
    """Coordinators anyone's, facilitators their own, other roles nobody's; a facilitator's default is their own."""
    case = make_case(app, factory)
    lead, co = case.facilitators
    with app.app_context():
        this_week = clock.now().date()
    assert week_page(browser(case.coordinator), lead.id).status_code == 200
    chooser = week_page(browser(case.coordinator)).get_data(as_text=True)
    assert "Fiona Lead" in chooser and "Colm Second" in chooser and 'id="day-' not in chooser
    own = week_page(browser(lead))
    assert own.status_code == 200 and "Fiona Lead" in own.get_data(as_text=True)
    monday = this_week - timedelta(days=this_week.weekday())
    assert f'id="day-{monday.isoformat()}"' in own.get_data(as_text=True)
    assert week_page(browser(lead), lead.id).status_code == 200
    assert week_page(browser(lead), co.id).status_code == 403
    assert week_page(browser(factory.user(Role.prosecutor)), lead.id).status_code == 403
    assert week_page(browser(factory.user(Role.admin))).status_code == 403
    assert week_page(browser(case.coordinator), case.coordinator.id).status_code == 404  # not a facilitator
    assert week_page(browser(lead), start="not-a-date").status_code == 400
    assert browser().get("/calendar/week").status_code == 302


def test_the_api_serves_the_same_session_file(app, factory, api):
    """`GET /api/v1/sessions/{id}/ics` (docs/api.md) answers with the same calendar."""
    case = make_case(app, factory)
    session_id = book(app, case)
    response = api(case.coordinator).get(f"/api/v1/sessions/{session_id}/ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    _calendar, [event] = parse(response.data)
    assert str(event["uid"]) == f"{session_row(app, session_id).ical_uid}@circlekeeper"
