"""The parties' portal on a phone, in a real browser (headless Chromium through Playwright): a survivor reading Arabic
and a responsible party reading Vietnamese each find their circle's local date, start and end, the venue, its
address when they ask for it, and their own arrival time; each confirms, downloads their calendar file and the file
parses with the right start in the venue's zone (docs/design.md section 7)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.db import db
from coordinator.roster.models import Venue
from coordinator.sessions.models import SessionParticipant
from tests.e2e.conftest import TIMEOUT_MS
from tests.live_server import serving
from tests.portal.helpers import Case, book_in_person, decide, link_for, make_ready_case
from tests.sessions.helpers import available, make_venue

PARIS = ZoneInfo("Europe/Paris")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ADDRESS = "Salle Garonne, 1 Example Street"


@pytest.fixture
def site(app):
    """The test's app on a live local server."""
    with serving(app) as base_url:
        yield base_url


@pytest.fixture
def circle(app, factory):
    """A referral whose survivor reads Arabic and whose responsible party reads Vietnamese, made ready, with its
    circle booked in person at a Paris venue, 14:00 to 16:00 local time, ten days ahead."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    available(app, pair[0], languages=("ar", "en"))  # the lead speaks Arabic
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"alias": "Layla Hidden", "preferred_language": "ar",
                                          "contact": {"email": "layla@example.org", "phone": None}},
                                responsible_party={"alias": "Minh Other", "preferred_language": "vi",
                                                   "contact": {"email": "minh@example.org"}})
    case = Case(referral, coordinator, pair)
    decide(app, case, "survivor", "contact_other_party")
    venue = make_venue(app, "Salle Garonne", timezone="Europe/Paris")
    with app.app_context():
        db.session.get(Venue, venue.id).entrance = "Side door"
        db.session.commit()
        day = (clock.now() + timedelta(days=10)).date()
    make_ready_case(app, case)
    start = datetime.combine(day, time(14), tzinfo=PARIS).astimezone(UTC)
    return case, book_in_person(app, case, venue.id, start)


def phone_page(chromium):
    """A new phone-sized browser context and its page."""
    context = chromium.new_context(**PHONE, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    return context, page


def find_and_confirm(page, site: str, path: str, session, locale: str, arrival: datetime) -> Calendar:
    """Open the link, continue, read the appointment, reveal the address, confirm, download the calendar file."""
    page.goto(site + path)
    page.click('[data-action="continue"]')
    page.wait_for_url(f"{site}/portal")
    start, end = session.starts_at.astimezone(PARIS), session.ends_at.astimezone(PARIS)

    when = page.locator(f'[data-session-time][data-session="{session.id}"]')
    expect(when).to_be_visible()
    assert when.get_attribute("datetime") == start.isoformat()  # the ISO start with the venue's offset
    text = when.inner_text()
    for part in (format_date(start.date(), "full", locale=locale), format_time(start, "short", locale=locale),
                 format_time(end, "short", locale=locale)):
        assert part in text, (part, text)
    arrive = page.locator("[data-arrival]").first
    assert format_time(arrival.astimezone(PARIS), "short", locale=locale) in arrive.inner_text()
    assert arrive.get_attribute("data-arrival") == arrival.astimezone(PARIS).isoformat()
    expect(page.locator("[data-session-place]").first).to_contain_text("Salle Garonne")
    assert ADDRESS not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling

    page.click(f'[data-action="session-details"][data-session="{session.id}"]')
    page.wait_for_url(f"{site}/portal/sessions/{session.id}")
    page.click(f'[data-action="show-address"][data-session="{session.id}"]')
    expect(page.locator("[data-session-address]")).to_contain_text(ADDRESS)
    page.click(f'[data-action="session-confirm"][data-session="{session.id}"]')
    expect(page.locator(".flash--success")).to_be_visible()

    page.check("#include-address")
    with page.expect_download() as download:
        page.click(f'[data-action="add-to-calendar"][data-session="{session.id}"]')
    with open(download.value.path(), "rb") as handle:
        return Calendar.from_ical(handle.read())


def test_arabic_and_vietnamese_parties_find_confirm_and_keep_their_circle(app, site, circle, chromium):
    """Right to left for Arabic (the page mirrors), left to right for Vietnamese; each party's own arrival (the
    responsible party 20 minutes earlier); both confirmations saved; both calendar files start where they should."""
    case, session = circle
    contexts = []
    try:
        context, page = phone_page(chromium)
        contexts.append(context)
        calendar = find_and_confirm(page, site, link_for(app, case, "survivor"), session, "ar", session.starts_at)
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        exit_box = page.locator('[data-action="quick-exit"]').bounding_box()
        title_box = page.locator(".portal-title").bounding_box()
        assert exit_box["x"] < title_box["x"]  # mirrored: the quick exit sits on the left
        [event] = calendar.walk("VEVENT")
        assert str(event.decoded("dtstart").tzinfo) == "Europe/Paris"
        assert event.decoded("dtstart") == session.starts_at.astimezone(PARIS)
        assert "Example Street" in str(event["location"])

        context, page = phone_page(chromium)
        contexts.append(context)
        early = session.starts_at - timedelta(minutes=20)
        calendar = find_and_confirm(page, site, link_for(app, case, "responsible_party"), session, "vi", early)
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["vi", "ltr"]
        exit_box = page.locator('[data-action="quick-exit"]').bounding_box()
        assert exit_box["x"] > page.locator(".portal-title").bounding_box()["x"]
        [event] = calendar.walk("VEVENT")
        start = event.decoded("dtstart")
        assert str(start.tzinfo) == "Europe/Paris" and start == early.astimezone(PARIS)
        assert (start.hour, start.minute) == (13, 40)
    finally:
        for context in contexts:
            context.close()
    with app.app_context():
        answers = set(db.session.execute(select(SessionParticipant.response)
                                         .where(SessionParticipant.session_id == session.id)).scalars())
    assert answers == {"confirmed"}
