"""How a party sees a session: the venue's zone in person, their own zone by video, date, start and end without
seconds, the zone named as people say it, their own staggered arrival, the place only on their own page, and their
own calendar file (docs/design.md section 7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.roster.models import Venue
from tests.notifications.conftest import SmtpServer
from tests.portal.helpers import Case, add_session, book_in_person, decide, inside, make_ready_case
from tests.sessions.helpers import make_venue

PARIS = ZoneInfo("Europe/Paris")
SECONDS = re.compile(r"\d:\d\d:\d\d")
ADDRESS = "Salle Garonne, 1 Example Street"  # make_venue's address for the name below


@pytest.fixture
def smtp():
    """A real SMTP server for the party's messages."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_settings(smtp):
    """The programme runs in UTC (the test default), so only the right zone gives Paris times; mail goes to smtp."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}


@pytest.fixture
def case(factory) -> Case:
    """A referral in screening whose parties read English; the survivor recorded no zone of her own."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"alias": "Ortensia Quiet", "preferred_language": "en",
                                          "contact": {"email": "ortensia@example.org", "phone": None}},
                                responsible_party={"alias": "Basil Grey", "preferred_language": "en",
                                                   "contact": {"email": "basil@example.org"}})
    return Case(referral, coordinator, pair)


def paris_afternoon(app, days: int) -> datetime:
    """14:00 in Paris, `days` from the service's today, as aware UTC."""
    with app.app_context():
        day = (clock.now() + timedelta(days=days)).date()
    return datetime.combine(day, time(14), tzinfo=PARIS).astimezone(UTC)


def circle_in_paris(app, case: Case, days: int = 10):
    """The referral made ready, and its circle booked in person at a Paris venue, 14:00 to 16:00 local."""
    venue = make_venue(app, "Salle Garonne", timezone="Europe/Paris")
    with app.app_context():
        row = db.session.get(Venue, venue.id)
        row.entrance = "Side door, ring Rooms"
        db.session.commit()
    make_ready_case(app, case)
    return book_in_person(app, case, venue.id, paris_afternoon(app, days)), venue


def text_of(page) -> str:
    """A page's HTML."""
    return page.get_data(as_text=True)


def visible(html: str) -> str:
    """A page's text without its tags and attributes (an ISO time in an attribute has seconds, as it should)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_an_in_person_circle_shows_the_venues_local_time_and_each_partys_own_arrival(app, case, phone):
    """14:00 to 16:00 Central European Time with the date, no seconds, no UTC; the responsible party arrives 20
    minutes earlier and leaves 20 minutes later; the venue's name is shown, its address is not."""
    circle, _venue = circle_in_paris(app, case)
    start = circle.starts_at.astimezone(PARIS)
    survivor = text_of(inside(app, case, phone).open("/portal"))
    expected_date = f"{start:%A}, {start:%B} {start.day}, {start.year}"
    assert f'data-session-time data-session="{circle.id}" datetime="{start.isoformat()}"' in survivor
    assert f"{expected_date}, from 2:00\u202fPM to 4:00\u202fPM (Central European Time)" in survivor
    assert "Please arrive at 2:00\u202fPM." in survivor and "You will leave at" not in survivor
    assert "Salle Garonne" in survivor and ADDRESS not in survivor and "Side door" not in survivor
    assert not SECONDS.search(visible(survivor)) and "UTC" not in survivor and "Coordinated Universal" not in survivor

    responsible = text_of(inside(app, case, phone, "responsible_party").open("/portal"))
    assert "Please arrive at 1:40\u202fPM." in responsible and "You will leave at 4:20\u202fPM." in responsible
    assert f"{expected_date}, from 2:00\u202fPM to 4:00\u202fPM (Central European Time)" in responsible


def test_the_address_is_read_only_on_the_partys_own_page_of_the_session_when_asked(app, case, phone):
    """The session page names the place and offers the address; asking shows address and entrance, audited as the
    party's reading; another party's page and made-up sessions are 404."""
    circle, venue = circle_in_paris(app, case)
    visitor = inside(app, case, phone)
    page = text_of(visitor.open(f"/portal/sessions/{circle.id}"))
    assert "Salle Garonne" in page and ADDRESS not in page and 'data-action="show-address"' in page
    assert "Step-free access" in page and "a waiting room of your own" in page
    with app.app_context():
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "portal.place")).first() is None
    shown = visitor.open(f"/portal/sessions/{circle.id}?show=place")
    assert shown.status_code == 200 and ADDRESS in text_of(shown) and "Side door, ring Rooms" in text_of(shown)
    with app.app_context():
        [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.action == "portal.place")).scalars()
        party_id = db.session.get(type(case.referral), case.referral.id).survivor.id
    assert (entry.actor_type, entry.actor_id, entry.object_id) == ("party", str(party_id), str(venue.id))
    assert entry.details == {"session": str(circle.id)}
    assert visitor.open("/portal/sessions/00000000-0000-4000-8000-000000000000").status_code == 404


def test_the_party_downloads_their_own_calendar_file(app, case, phone):
    """A neutral title, their own arrival and leaving in Paris time with its zone, the place's name, and the
    address only when they ask for it; nothing names a person or the case."""
    circle, _venue = circle_in_paris(app, case)
    visitor = inside(app, case, phone, "responsible_party")
    plain = visitor.open(f"/portal/sessions/{circle.id}/calendar.ics")
    assert plain.status_code == 200 and plain.content_type.startswith("text/calendar")
    [event] = Calendar.from_ical(plain.get_data()).walk("VEVENT")
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Paris" and (start.hour, start.minute) == (13, 40)
    assert event.decoded("dtend").astimezone(PARIS).strftime("%H:%M") == "16:20"
    assert start == circle.starts_at - timedelta(minutes=20)
    assert str(event["summary"]) == "Appointment" and str(event["location"]) == "Salle Garonne"
    body = plain.get_data(as_text=True)
    assert "BEGIN:VTIMEZONE" in body and "TZID:Europe/Paris" in body
    for secret in ("Basil", "Ortensia", ADDRESS, case.referral.reference, "responsible"):
        assert secret not in body

    with_address = visitor.open(f"/portal/sessions/{circle.id}/calendar.ics?address=1")
    [event] = Calendar.from_ical(with_address.get_data()).walk("VEVENT")
    assert str(event["location"]) == f"Salle Garonne, {ADDRESS}, Side door, ring Rooms"


def test_a_session_booked_in_october_for_after_the_autumn_change_shows_winter_time(app, factory, case, phone, smtp):
    """Booked while Paris is on summer time (+02:00) for a day after the change (+01:00): the page, the message
    and the calendar file all say 14:00, not the 15:00 that keeping October's offset would give."""
    with app.app_context():
        clock.set_clock(datetime(2026, 10, 12, 9, tzinfo=UTC))
        db.session.commit()
    decide(app, case, "survivor", "participation")
    venue = make_venue(app, "Salle Garonne", timezone="Europe/Paris")
    start = datetime(2026, 11, 3, 13, tzinfo=UTC)  # 14:00 in Paris after 25 October
    session = book_in_person(app, case, venue.id, start, kind="pre_conference_survivor")
    with app.app_context():
        assert datetime(2026, 10, 12, 9, tzinfo=UTC).astimezone(PARIS).utcoffset() == timedelta(hours=2)
        dispatch_outbox("test")

    page = text_of(inside(app, case, phone).open("/portal"))
    assert 'datetime="2026-11-03T14:00:00+01:00"' in page
    assert "Tuesday, November 3, 2026, from 2:00\u202fPM to 4:00\u202fPM (Central European Time)" in page
    [invitation] = [m for m in smtp.inbox.to("ortensia@example.org") if "new appointment" in m["text"]]
    assert "Tuesday, November 3, 2026, from 2:00\u202fPM to 4:00\u202fPM (Central European Time)" in invitation["text"]
    assert ADDRESS not in invitation["text"] + invitation["html"] and "Salle Garonne" not in invitation["text"]
    assert "Open your page for the place" in invitation["text"]
    ics = inside(app, case, phone).open(f"/portal/sessions/{session.id}/calendar.ics").get_data()
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtstart").isoformat() == "2026-11-03T14:00:00+01:00"


def test_a_video_session_is_shown_in_the_partys_own_zone_or_else_the_programmes(app, factory, phone):
    """By video nobody is at a venue: the party's zone recorded at intake (Mexico City), and without one the
    programme's (here UTC)."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"preferred_language": "en", "timezone": "America/Mexico_City",
                                          "contact": {"email": "far@example.org", "phone": None}},
                                responsible_party={"preferred_language": "en",
                                                   "contact": {"email": "near@example.org"}})
    case = Case(referral, coordinator, pair)
    decide(app, case, "survivor", "participation")
    session = add_session(app, case, "pre_conference_survivor", days=5)
    local = session.starts_at.astimezone(ZoneInfo("America/Mexico_City"))
    page = text_of(inside(app, case, phone).open("/portal"))
    assert f'datetime="{local.isoformat()}"' in page and "(Central Time)" in page
    assert "By video" in page and "Please arrive at" not in page  # nobody travels to a video call

    decide(app, case, "survivor", "contact_other_party")
    decide(app, case, "responsible_party", "participation")
    other = add_session(app, case, "pre_conference_responsible", days=6)
    page = text_of(inside(app, case, phone, "responsible_party").open("/portal"))
    assert f'datetime="{other.starts_at.astimezone(UTC).isoformat()}"' in page
    assert "(Coordinated Universal Time)" in page


def test_staff_see_one_zone_per_line_and_each_partys_staggered_times(app, case, browser):
    """The referral page: date, start and end in the reader's zone, named once, no seconds; the responsible party's
    own arrival and leaving beside their answer. The staff calendar file lists both arrivals, naming nobody."""
    circle, _venue = circle_in_paris(app, case)
    page = text_of(browser(case.coordinator).get(f"/referrals/{case.referral.id}"))
    start = circle.starts_at  # the coordinator reads the programme's zone, UTC here
    day = f"{start:%A}, {start:%B} {start.day}, {start.year}"
    assert f"{day}, 1:00\u202fPM – 3:00\u202fPM (Coordinated Universal Time)" in page
    assert "arrives 12:40\u202fPM, leaves 3:20\u202fPM" in page
    assert not SECONDS.search(visible(page))
    ics = browser(case.coordinator).get(f"/sessions/{circle.id}.ics").get_data(as_text=True)
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    description = str(event["description"])
    assert description == ("Staggered arrivals (Central European Time): 1:40\u202fPM to 4:20\u202fPM; "
                           "2:00\u202fPM to 4:00\u202fPM.")
    assert "Survivor" not in ics and "Responsible" not in ics
