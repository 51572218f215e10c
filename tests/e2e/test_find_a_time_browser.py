""""Find a time" in a real browser (headless Chromium): a facilitator's empty search names the no-contact order and
the missing interpreter and links to each fix; ticking the interpreter makes times appear; a Move keeps 120 minutes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from coordinator import clock
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.safety.service import record_protective_order
from coordinator.sessions.models import ScheduledSession
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live_server import serving
from tests.sessions.helpers import bookable, prepare_for_circle


@pytest.fixture
def site(app):
    """The test's app on a live local server."""
    with serving(app) as base_url:
        yield base_url


def test_an_empty_search_explains_itself_and_a_move_keeps_its_length(app, factory, site, chromium):
    """A Vietnamese-speaking survivor, a no-contact order for 20 days, facilitators who speak en, es and fr."""
    case = bookable(app, factory, status="preparation", survivor_language="vi")
    with app.app_context():
        coordinator = db.session.merge(case.coordinator)
        referral = db.session.get(Referral, case.referral.id)
        prepare_for_circle(coordinator, referral)
        order_ends = clock.now().date() + timedelta(days=20)
        record_protective_order(coordinator, referral, "CO-77", True, order_ends)
        db.session.commit()
    referral_id = case.referral.id
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(TIMEOUT_MS)
        page.goto(f"{site}/login")
        page.fill('input[name="email"]', case.lead.email)
        page.fill('input[name="password"]', PASSWORD)
        page.click('form:has(input[name="password"]) button[type="submit"]')
        page.wait_for_url(re.compile(rf"^{re.escape(site)}/referrals"))

        page.goto(f"{site}/referrals/{referral_id}/sessions/new")
        page.select_option('select[name="kind"]', "circle")
        page.select_option('select[name="format"]', "in_person")
        page.fill('input[name="duration"]', "120")
        page.click('[data-action="search-slots"]')
        page.wait_for_url(re.compile(r"kind=circle"))
        expect(page.locator('[data-action="book-slot"]')).to_have_count(0)
        order = page.locator('[data-cause="protective_order"]')
        expect(order).to_be_visible()
        expect(order).to_contain_text("no-contact order")
        expect(order.locator("a[data-fix]")).to_have_attribute(
            "href", f"/referrals/{referral_id}/safety#orders-heading")
        language = page.locator('[data-cause="language_unmatched"]')
        expect(language).to_contain_text("Vietnamese")
        expect(language.locator("a[data-fix]")).to_have_attribute("href", re.compile(r"interpreter=y"))
        expect(page.locator('[data-suggestion="interpreter"]')).to_be_visible()

        page.check('#interpreter')
        page.click('[data-action="search-slots"]')
        page.wait_for_url(re.compile(r"interpreter=y"))
        slots = page.locator('[data-action="book-slot"]')
        expect(slots).to_have_count(10)
        expect(page.locator("[data-explanation]")).to_have_count(0)
        first = page.locator("li.slot form").first
        assert first.locator('input[name="start"]').get_attribute("value")[:10] > order_ends.isoformat()

        slots.first.click()
        page.wait_for_url(f"{site}/referrals/{referral_id}#sessions-heading")
        page.locator("li.session-item:has(strong:text-is('Circle')) a:text-is('Move')").click()
        page.wait_for_url(re.compile(r"move="))
        expect(page.locator('input[name="duration"]')).to_have_value("120")
        expect(page.locator('select[name="format"]')).to_have_value("in_person")
        expect(page.locator('#interpreter')).to_be_checked()
        page.locator('[data-action="book-slot"]').nth(1).click()
        page.wait_for_url(f"{site}/referrals/{referral_id}#sessions-heading")
        expect(page.locator(".flash--success")).to_be_visible()
    finally:
        context.close()

    with app.app_context():
        circle = db.session.execute(select(ScheduledSession).where(ScheduledSession.kind == "circle")).scalar_one()
        assert circle.sequence == 1 and circle.format == "in_person" and circle.interpreter is True
        assert circle.ends_at - circle.starts_at == timedelta(minutes=120)
