"""The survivor's portal in a real browser (headless Chromium through Playwright), against the app served by
Werkzeug on a local port: the link, continue, the sheets and the decisions on them, a withdrawal and what it sets
off, then the quick exit. Also, over real HTTP without a browser: opening a link changes nothing."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlmodel import SQLModel

from coordinator.accounts.models import Role
from coordinator.consent.models import ConsentDecision
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage
from coordinator.portal.models import PortalSession
from coordinator.referrals.models import Referral
from coordinator.sessions.models import ScheduledSession
from tests.e2e.conftest import TIMEOUT_MS
from tests.live_server import serving
from tests.portal.helpers import Case, add_session, link_for

NEUTRAL_PAGE = b"<!doctype html><html><head><title>Weather</title></head><body><h1>Weather today</h1></body></html>"


class NeutralSite:
    """Where quick exit leads: an everyday page on another origin (the site has no network); it notes who sent
    visitors to its page."""

    def __init__(self):
        self.referers: list[str | None] = []

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/weather":  # not the browser's own fetches, such as /favicon.ico
            self.referers.append(environ.get("HTTP_REFERER"))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [NEUTRAL_PAGE]


class Slot:
    """A WSGI app filled in once the test's app exists; the server has to know its port before that."""

    def __init__(self):
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@dataclass
class Servers:
    """The coordinator's site and the neutral site quick exit goes to."""

    slot: Slot
    base_url: str
    exit_url: str
    neutral: NeutralSite


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Both servers, stopped after the test whatever happened."""
    slot, neutral = Slot(), NeutralSite()
    with serving(neutral) as neutral_url, serving(slot) as base_url:
        yield Servers(slot, base_url, f"{neutral_url}/weather", neutral)


@pytest.fixture
def app_settings(servers) -> dict[str, str]:
    """Link URLs point at the live server; quick exit at the neutral site."""
    return {"COORDINATOR_BASE_URL": servers.base_url, "PORTAL_EXIT_URL": servers.exit_url}


@pytest.fixture
def site(app, servers) -> str:
    """The live server, now serving the test's app."""
    servers.slot.app = app
    return servers.base_url


@pytest.fixture
def case(factory) -> Case:
    """A coordinator's referral in screening with two facilitators; the survivor reads Spanish."""
    coordinator = factory.user(Role.coordinator)
    pair = (factory.user(Role.facilitator), factory.user(Role.facilitator))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"alias": "Paloma Secreta", "preferred_language": "es",
                                          "contact": {"email": "paloma@example.org", "phone": "+34 600 000 001"}},
                                responsible_party={"alias": "Señor Gris", "contact": {"email": "gris@example.org"}})
    return Case(referral, coordinator, pair)


def snapshot(app) -> dict[str, list]:
    """Every row of every table, to compare before and after."""
    with app.extensions["db_engine"].connect() as connection:
        return {table.name: sorted(map(repr, connection.execute(table.select()).all()))
                for table in SQLModel.metadata.sorted_tables}


def decisions_of(app) -> list[tuple]:
    """Every consent decision, oldest first, as (scope, decision, method, sheet version, sheet language)."""
    with app.app_context():
        rows = db.session.execute(select(ConsentDecision).order_by(ConsentDecision.decided_at)).scalars()
        return [(d.scope, d.decision, d.method, d.sheet_version, d.sheet_language) for d in rows]


def read_and_decide(page, site: str, scope: str, action: str) -> tuple[str, str]:
    """From the portal's home: open the scope's sheet, read it, press the button; returns the sheet shown."""
    page.click(f'[data-action="read-sheet"][data-scope="{scope}"]')
    page.wait_for_url(f"{site}/portal/consent/{scope}")
    sheet = page.locator("article.sheet")
    expect(sheet.locator("h1")).to_be_visible()
    assert len(sheet.inner_text()) > 200  # a sheet to read, not just a title
    shown = (page.locator('input[name="sheet_version"]').get_attribute("value"),
             page.locator('input[name="sheet_language"]').get_attribute("value"))
    button = page.locator(f'[data-action="{action}"][data-scope="{scope}"]')
    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_url(f"{site}/portal")
    expect(page.locator(".flash--success")).to_be_visible()
    return shown


def test_the_survivor_decides_withdraws_and_leaves_quickly(app, site, servers, case, chromium):
    """Link, continue, two grants on their sheets, her circle booked, a withdrawal and its effects, then quick exit:
    history does not grow, the neutral site gets no referer, and Back finds neither the portal nor the link."""
    path = link_for(app, case)
    token = path.removeprefix("/p/")
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(TIMEOUT_MS)

        page.goto(site + path)
        page.click('[data-action="continue"]')
        page.wait_for_url(f"{site}/portal")
        assert token not in page.url
        expect(page.locator("time")).to_have_count(0)  # nothing is booked before she agrees

        shown = [read_and_decide(page, site, scope, "consent-grant")
                 for scope in ("participation", "contact_other_party")]
        assert shown == [("v2", "es"), ("v2", "es")]
        assert decisions_of(app) == [("participation", "granted", "secure_link", "v2", "es"),
                                     ("contact_other_party", "granted", "secure_link", "v2", "es")]

        # The staff prepare the circle (the other party agrees in person) and book it; she finds it in her page.
        circle = add_session(app, case)
        page.reload()
        expect(page.locator("time")).to_have_count(1)

        # Later, she changes her mind about taking part.
        assert read_and_decide(page, site, "participation", "consent-withdraw") == ("v2", "es")
        expect(page.locator(".portal-note")).to_be_visible()  # only a fresh consent is offered now
        assert decisions_of(app)[-1] == ("participation", "withdrawn", "secure_link", "v2", "es")
        with app.app_context():
            referral = db.session.get(Referral, case.referral.id)
            responsible_id = referral.responsible_party.id
            cancelled = db.session.get(ScheduledSession, circle.id)
            told = [(m.template, m.recipient_id, m.channel) for m in db.session.execute(
                select(OutboxMessage).where(OutboxMessage.recipient_kind == "party",
                                            OutboxMessage.template == "appointment_cancelled")).scalars()]
        assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "consent_withdrawn")
        assert (referral.status, referral.status_reason) == ("closed", "consent_withdrawn")
        assert told == [("appointment_cancelled", responsible_id, "email")]  # the only address on file

        # Quick exit: off to the neutral site, in place of the portal's history entry.
        entries = page.evaluate("history.length")
        page.click('[data-action="quick-exit"]')
        page.wait_for_url(servers.exit_url)
        expect(page.locator("h1")).to_have_text("Weather today")
        assert page.evaluate("history.length") == entries
        assert servers.neutral.referers == [None]  # the neutral site does not learn where she came from
        with app.app_context():
            assert db.session.execute(select(PortalSession.ended_at)).scalar_one() is not None

        # Back: the page before is fetched again (no-store) and the session is over.
        back = page.go_back()
        assert back is not None and back.status == 401
        assert page.url.startswith(site) and token not in page.url
        assert page.locator('[data-action="read-sheet"], [data-action="consent-grant"]').count() == 0
        assert page.locator('[data-action="quick-exit"]').count() == 1
        # Further back, all the way: no portal page, and no link to continue from either.
        while page.go_back() is not None:
            assert token not in page.url, "the link is still in the tab's history"
            assert page.locator('[data-action="continue"], [data-action="read-sheet"]').count() == 0, page.url
    finally:
        context.close()


def test_opening_a_link_over_http_changes_nothing(app, site, case):
    """GET and HEAD on the real server, three times each: the interstitial, and not one row changes anywhere."""
    url = site + link_for(app, case)
    before = snapshot(app)
    for _ in range(3):
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and 'data-action="continue"' in response.read().decode()
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=30) as response:
            assert response.status == 200 and response.read() == b""
    assert snapshot(app) == before
