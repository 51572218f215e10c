"""Feedback where the action was (issue 14): a refused transition's message, and a confirmation, are in view right
after the page loads, beside the "Next steps" section, on a desktop and on a phone; each is shown once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live_server import serving

SCREENS = {"desktop": {"width": 1280, "height": 720}, "phone": {"width": 390, "height": 844}}
IN_VIEW = """element => { const box = element.getBoundingClientRect();
                         return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight; }"""


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_refused_transition_is_explained_in_view(app, factory, chromium, screen):
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    with serving(app) as site:
        context = chromium.new_context(viewport=SCREENS[screen], is_mobile=screen == "phone")
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{site}/login")
            page.fill('input[name="email"]', coordinator.email)
            page.fill('input[name="password"]', PASSWORD)
            page.click('form:has(input[name="password"]) button[type="submit"]')
            page.wait_for_url(re.compile(rf"^{re.escape(site)}/referrals"))
            page.goto(f"{site}/referrals/{referral.id}")

            # Not ready: no risk assessment, no preparation meetings. The gate refuses, and says why, in view.
            with page.expect_navigation():
                page.get_by_role("button", name="Mark as ready for a circle").click()
            page.wait_for_load_state()
            error = page.locator("[data-transition-error]")
            expect(error).to_be_visible()
            assert error.evaluate(IN_VIEW), page.evaluate("window.scrollY")
            assert page.evaluate("document.activeElement.hasAttribute('data-transition-error')")
            assert page.locator(".flashes").count() == 0

            # A move that works: the button names the action, the confirmation is beside the section, once.
            page.get_by_role("button", name="Pause", exact=True).click()
            page.wait_for_url(f"{site}/referrals/{referral.id}#status-heading")
            confirmation = page.locator(".section-feedback")
            expect(confirmation).to_contain_text("The referral is now: Paused.")
            assert confirmation.evaluate(IN_VIEW)
            assert page.get_by_text("The referral is now: Paused.").count() == 1
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            page.goto(f"{site}/referrals")  # the list: one card per referral on a phone, nothing wider than it
            expect(page.get_by_role("link", name=referral.reference)).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        finally:
            context.close()
