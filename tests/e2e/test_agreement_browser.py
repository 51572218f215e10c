"""An agreement from drafting to the prosecutor's summary, in a real browser (headless Chromium) against the app
served by Werkzeug: the lead facilitator writes it, each party accepts it on a phone-sized screen through their
private link, and the prosecutor sees only the compliance summary once both parties agreed to share it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from coordinator import clock
from coordinator.agreements.models import Acceptance, Agreement
from coordinator.db import db
from tests.agreements.helpers import held_circle, share_with_court
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live_server import serving
from tests.portal.helpers import Case, link_for

PHONE = {"width": 390, "height": 844}
APOLOGY = "A letter of apology, read at a follow-up meeting"


@pytest.fixture
def servers():
    """A live server whose app is set once the test's app exists (link URLs need the port first)."""
    holder = {}

    def wsgi(environ, start_response):
        return holder["app"](environ, start_response)

    with serving(wsgi) as base_url:
        yield holder, base_url


@pytest.fixture
def app_settings(servers) -> dict[str, str]:
    """Links point at the live server."""
    return {"COORDINATOR_BASE_URL": servers[1]}


@pytest.fixture
def site(app, servers) -> str:
    """The live server, serving the test's app."""
    servers[0]["app"] = app
    return servers[1]


def new_page(chromium, **options):
    """A fresh browser context and its page, with generous timeouts."""
    context = chromium.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)
    return context, page


def sign_in(page, site: str, email: str) -> None:
    page.goto(f"{site}/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form:has(input[name="password"]) button[type="submit"]')
    page.wait_for_url(re.compile(rf"^{re.escape(site)}/"))


def test_drafted_accepted_by_both_on_their_phones_and_summarised_for_the_prosecutor(app, factory, site, chromium):
    held = held_circle(app, factory, survivor={"preferred_language": "en", "alias": "Mira Secret"})
    case = Case(held.referral, held.coordinator, (held.lead, held.co))
    with app.app_context():
        due = (clock.today() + timedelta(days=30)).isoformat()

    context, page = new_page(chromium)
    try:
        sign_in(page, site, held.lead.email)
        page.goto(f"{site}/referrals/{held.referral.id}")
        page.click('[data-action="agreement-draft"]')
        page.select_option('select[name="items-0-kind"]', "apology")
        page.fill('textarea[name="items-0-description"]', APOLOGY)
        page.fill('input[name="items-0-due_on"]', due)
        page.click('[data-action="agreement-save"]')
        page.wait_for_url(re.compile(r"#agreement-heading$"))
        expect(page.locator(".flash--success")).to_be_visible()
        expect(page.locator("#agreement-heading")).to_be_visible()
    finally:
        context.close()

    for party in ("survivor", "responsible_party"):
        context, phone = new_page(chromium, viewport=PHONE, is_mobile=True)
        try:
            phone.goto(site + link_for(app, case, party))
            phone.click('[data-action="continue"]')
            phone.wait_for_url(f"{site}/portal")
            expect(phone.get_by_text(APOLOGY)).to_be_visible()
            accept = phone.locator('[data-action="agreement-accept"]')
            accept.scroll_into_view_if_needed()
            accept.click()
            phone.wait_for_url(f"{site}/portal")
            expect(phone.get_by_text("You accepted this agreement")).to_be_visible()
            expect(phone.locator('[data-action="agreement-accept"]')).to_have_count(0)
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            context.close()

    with app.app_context():
        agreement = db.session.execute(select(Agreement)).scalar_one()
        assert agreement.status == "active"
        methods = sorted(row.method for row in db.session.execute(select(Acceptance)).scalars())
        assert methods == ["secure_link", "secure_link"]

    share_with_court(app, held)
    context, page = new_page(chromium)
    try:
        sign_in(page, site, held.prosecutor.email)
        page.goto(f"{site}/prosecution")
        row = page.locator("tr", has_text=held.referral.reference)
        expect(row).to_contain_text("0/1 completed")
        body = page.content()
        assert APOLOGY not in body and "Mira Secret" not in body
    finally:
        context.close()
