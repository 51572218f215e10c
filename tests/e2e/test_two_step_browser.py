"""A coordinator sets up two-step sign-in in a real browser on a phone-sized screen, then signs in with a code."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pyotp
import pytest

from coordinator.accounts.models import Role
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live_server import serving

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def app_settings():
    """The second factor is required, as in production."""
    return {"COORDINATOR_REQUIRE_MFA": "on"}


def sign_in(page, site: str, email: str) -> None:
    """The password step, typed with the keyboard as a person would."""
    page.goto(f"{site}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()


def fits(page) -> bool:
    """Nothing is wider than the phone's screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_enrol_on_a_phone_then_sign_in_with_a_code(app, factory, chromium):
    """Enrolment shows a QR code and the key; the app's code turns it on; the next sign-in asks for a code."""
    user = factory.user(Role.coordinator)
    with serving(app) as site:
        context = chromium.new_context(viewport=PHONE, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, site, user.email)

        assert page.url.endswith("/account/two-step")
        assert page.locator(".qr svg").is_visible() and fits(page)
        if os.environ.get("CK_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["CK_SCREENSHOTS"], "enrol.png"), full_page=True)
        secret = page.locator("[data-mfa-secret]").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        page.get_by_label("Code from the app").fill(totp.now())
        with page.expect_navigation():
            page.get_by_role("button", name="Turn on two-step sign-in").click()
        assert page.locator("[data-recovery-code]").count() == 10 and fits(page)
        if os.environ.get("CK_SCREENSHOTS"):
            page.screenshot(path=os.path.join(os.environ["CK_SCREENSHOTS"], "recovery-codes.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()

        sign_in(page, site, user.email)
        assert page.url.endswith("/login/code") and fits(page)
        page.get_by_label("Code").fill(totp.at(datetime.now(UTC).timestamp() + 30))
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()
        assert page.url.endswith("/referrals")
        context.close()
