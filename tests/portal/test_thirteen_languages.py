"""Every portal page and every message a party receives, in each of the thirteen party languages: nothing left in
English (names aside), the page's language and direction named, dates in that language (docs/design.md section 7)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from flask import g, render_template
from flask_babel import refresh
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.agreements.service import ItemDraft, draft_agreement
from coordinator.consent.sheets import all_sheets, current_version
from coordinator.db import db
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import OutboxMessage
from coordinator.party_i18n import PARTY_LANGUAGES, PARTY_TRANSLATIONS
from coordinator.portal.forms import ContinueForm
from coordinator.referrals.models import Party, Referral
from coordinator.sessions.booking import reschedule_session, respond
from coordinator.sessions.cancellation import cancel_session
from coordinator.sessions.models import ScheduledSession
from coordinator.sessions.reminders import send_due_reminders
from tests.notifications.conftest import SmtpServer
from tests.portal.helpers import Case, book_in_person, decide, inside, link_for
from tests.sessions.helpers import make_venue

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
LANGUAGES = [code for code in PARTY_LANGUAGES if code != "en"]


@cache
def english_phrases(code: str) -> frozenset[str]:
    """Every English text the service could show, in pieces between placeholders (staff text included, which must
    never reach a party), minus those that read the same in `code` (a borrowed word, a name)."""
    language = PARTY_LANGUAGES[code]
    with (PARTY_TRANSLATIONS / language.locale / "LC_MESSAGES" / "party.po").open("rb") as handle:
        party = {m.id: m.string for m in read_po(handle) if m.id}
    with (ROOT / "coordinator" / "translations" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        staff = [m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(handle) if m.id]
    phrases = set()
    for msgid in [*party, *staff]:
        for piece in PLACEHOLDER.split(msgid):
            piece = piece.strip(" .,:;()–-")
            if len(piece) >= 8 and " " in piece and piece not in (party.get(msgid) or ""):
                phrases.add(piece)
    for sheet in all_sheets().values():
        if sheet.language == "en":
            phrases.update(line for line in visible(sheet.html).split("\n") if len(line.split()) >= 4)
    return frozenset(phrases)


def translation(code: str, msgid: str) -> str:
    """One message of a language's party catalogue."""
    with (PARTY_TRANSLATIONS / PARTY_LANGUAGES[code].locale / "LC_MESSAGES" / "party.po").open("rb") as handle:
        return read_po(handle).get(msgid).string


def visible(markup: str) -> str:
    """What a reader sees of a page: no tags, no scripts, entities decoded."""
    return "\n".join(line.strip() for line in html.unescape(TAG.sub("\n", markup)).split("\n") if line.strip())


def assert_no_english(code: str, markup: str, where: str) -> None:
    """No English phrase of the service appears in what the reader sees."""
    text = visible(markup)
    left = sorted(phrase for phrase in english_phrases(code) if phrase in text)
    assert not left, f"{code} {where}: English left: {left[:5]}"


def assert_language(code: str, markup: str, where: str) -> None:
    """The page names its language, and Arabic reads right to left."""
    language = PARTY_LANGUAGES[code]
    direction = "rtl" if language.rtl else "ltr"
    assert f'<html lang="{language.tag}" dir="{direction}">' in markup, (code, where)


@pytest.fixture
def smtp():
    """A real SMTP server."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_settings(smtp):
    """Mail to the test server."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}


@pytest.fixture
def held(app, factory) -> tuple[Case, ScheduledSession]:
    """A referral whose circle was held, an agreement drafted for the parties to accept, and a follow-up meeting
    booked in person at a Paris venue."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    referral = factory.referral(by=coordinator, facilitators=pair, status="circle_held",
                                survivor={"alias": "Nadia Namesake", "preferred_language": "en",
                                          "contact": {"email": "nadia@example.org", "phone": "+1 555 0199"}})
    case = Case(referral, coordinator, pair)
    with app.app_context():
        draft_agreement(db.session.merge(coordinator), db.session.get(Referral, referral.id),
                        [ItemDraft("apology", "—", clock.today() + timedelta(days=30)),
                         ItemDraft("restitution", "—", clock.today() + timedelta(days=60), 50000, "EUR")])
        db.session.commit()
    venue = make_venue(app, "Salle Garonne", timezone="Europe/Paris")
    with app.app_context():
        start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=9)
    return case, book_in_person(app, case, venue.id, start, kind="follow_up")


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_portal_page_speaks_the_language(app, held, phone, code):
    """Home (decisions, the appointment, the draft agreement, help), the three sheets, the appointment with its
    place, the PIN page, "I feel unsafe", and the pages shown without a session."""
    case, session = held
    visitor = inside(app, case, phone)
    assert visitor.post("/portal/language", {"language": code}, page_url="/portal").status_code == 302
    pages = {"home": visitor.open("/portal"), "pin": visitor.open("/portal/pin"),
             "unsafe": visitor.open("/portal/unsafe"),
             "session": visitor.open(f"/portal/sessions/{session.id}?show=place")}
    for scope in ("participation", "contact_other_party", "share_outcome_with_court"):
        pages[scope] = visitor.open(f"/portal/consent/{scope}")
    stranger = phone()
    headers = {"Accept-Language": PARTY_LANGUAGES[code].tag}
    pages["landing"] = stranger.client.get("/p/", headers=headers)
    pages["generic"] = stranger.client.get("/p/" + "x" * 43, headers=headers)
    pages["ended"] = stranger.client.get("/portal", headers=headers)
    for name, page in pages.items():
        markup = page.get_data(as_text=True)
        assert page.status_code in (200, 401, 404), (code, name)
        assert_language(code, markup, name)
        assert_no_english(code, markup, name)
    home = pages["home"].get_data(as_text=True)
    local = session.starts_at.astimezone(ZoneInfo("Europe/Paris"))
    assert html.escape(format_date(local.date(), "full", locale=PARTY_LANGUAGES[code].locale)) in home
    sheet = pages["participation"].get_data(as_text=True)
    assert f'name="sheet_language" type="hidden" value="{code}"' in sheet
    assert f'name="sheet_version" type="hidden" value="{current_version("participation")}"' in sheet
    ics = visitor.open(f"/portal/sessions/{session.id}/calendar.ics").get_data(as_text=True)
    assert f"SUMMARY:{translation(code, 'Appointment')}" in ics


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_pages_that_need_a_moment_speak_the_language_too(app, code):
    """The interstitial with its PIN error, "your facilitators have been told", and the error page."""
    language = PARTY_LANGUAGES[code]
    with app.test_request_context("/portal"):
        g.locale, g.party_language = language.locale, language
        refresh()
        form = ContinueForm()
        form.pin.errors = ["x"]
        rendered = {"continue": render_template("portal/continue.html", form=form, needs_pin=True),
                    "unsafe_sent": render_template("portal/unsafe_sent.html"),
                    "error": render_template("portal/error.html")}
    for name, markup in rendered.items():
        assert_language(code, markup, name)
        assert_no_english(code, markup, name)


def party_case(app, factory, code: str, coordinator, pair, channel: str) -> Case:
    """A referral whose survivor reads `code` and can be reached by email only, or by text only."""
    contact = {"email": f"survivor-{code}@example.org", "phone": None} if channel == "email" else \
        {"email": None, "phone": "+1 555 0123"}
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"alias": f"Alias {code}", "preferred_language": code, "contact": contact})
    return Case(referral, coordinator, pair)


def everything_a_party_is_sent(app, case: Case, venue_id, channel: str) -> None:
    """Through the services: a link, a session announced, moved, confirmed, reminded of, then cancelled."""
    decide(app, case, "survivor", "participation")
    link_for(app, case, channel=channel)
    with app.app_context():
        start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    session = book_in_person(app, case, venue_id, start, kind="pre_conference_survivor")
    with app.app_context():
        row = db.session.get(ScheduledSession, session.id)
        reschedule_session(db.session.merge(case.coordinator), row, row.starts_at + timedelta(hours=2),
                           row.ends_at + timedelta(hours=2))
        db.session.commit()
    respond_yes(app, case, session.id)
    with app.app_context():
        row = db.session.get(ScheduledSession, session.id)
        with clock.travel(row.starts_at - timedelta(hours=3)):
            assert send_due_reminders() >= 1
        cancel_session(db.session.merge(case.coordinator), row, "other")
        db.session.commit()


def test_every_message_a_party_receives_speaks_their_language(app, factory, smtp):
    """For each language: the new-message email and text, the announcement of a session and of its new time, the
    reminder and the cancellation, sent over SMTP and the SMS provider; no English, no address, no name."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    venue = make_venue(app, "Salle Garonne", timezone="Europe/Paris")
    for code in LANGUAGES:
        for channel in ("email", "sms"):
            everything_a_party_is_sent(app, party_case(app, factory, code, coordinator, pair, channel), venue.id,
                                       channel)
    with app.app_context(), clock.travel(clock.now() + timedelta(days=5)):  # the reminders were queued days ahead
        report = dispatch_outbox("test")
    assert report.parked == 0
    texts = app.extensions["sms_provider"].sent
    for code in LANGUAGES:
        received = smtp.inbox.to(f"survivor-{code}@example.org")
        assert len(received) == 5 and len({message["subject"] for message in received}) == 3, \
            (code, [m["subject"] for m in received])
        for message in received:
            for part in ("text", "html"):
                assert_no_english(code, message["subject"] + "\n" + message[part], f"email {message['subject']}")
                assert "Example Street" not in message[part] and f"Alias {code}" not in message[part]
            assert_language(code, message["html"], "email")
        announced = [m for m in received if translation(code, "Your appointment has a new time:") in m["text"]]
        assert len(announced) == 1, code
        mine = [sms["body"] for sms in texts if sms_owner(app, sms["key"]) == code]
        assert len(mine) == 5, code  # the link, two announcements, the reminder, the cancellation
        for body in mine:
            assert_no_english(code, body, "sms")


def respond_yes(app, case: Case, session_id) -> None:
    """The survivor confirms through the service, as the portal does."""
    with app.app_context():
        party = db.session.get(Referral, case.referral.id).survivor
        respond(party, session_id, "confirmed")
        db.session.commit()


def sms_owner(app, key: str) -> str:
    """The language of the party a text went to, found through its outbox row."""
    with app.app_context():
        message = db.session.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).scalar_one()
        return db.session.get(Party, message.recipient_id).preferred_language
