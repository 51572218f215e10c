"""Booking a circle in a real browser (headless Chromium through Playwright) against the app served by Werkzeug:
a coordinator signs in, searches the slot picker, books the first option and is back on the referral's page."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.sessions.models import Reservation, ScheduledSession, SessionFacilitator
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live_server import serving
from tests.sessions.helpers import bookable


@pytest.fixture
def site(app):
    """The test's app on a live local server."""
    with serving(app) as base_url:
        yield base_url


def test_a_coordinator_books_a_circle_from_the_slot_picker(app, factory, site, chromium):
    """Sign in, search (circle, in person, 120 minutes), book the first slot: the referral page lists the session,
    and the database holds one circle there with both facilitators and the venue reserved."""
    case = bookable(app, factory)
    referral_id = case.referral.id
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.set_default_navigation_timeout(TIMEOUT_MS)

        page.goto(f"{site}/login")
        page.fill('input[name="email"]', case.coordinator.email)
        page.fill('input[name="password"]', PASSWORD)
        page.click('form:has(input[name="password"]) button[type="submit"]')
        page.wait_for_url(re.compile(rf"^{re.escape(site)}/referrals"))

        page.goto(f"{site}/referrals/{referral_id}/sessions/new")
        page.select_option('select[name="kind"]', "circle")
        page.select_option('select[name="format"]', "in_person")
        page.fill('input[name="duration"]', "120")
        page.click('[data-action="search-slots"]')
        page.wait_for_url(re.compile(r"kind=circle"))
        book = page.locator('[data-action="book-slot"]').first
        expect(book).to_be_visible()
        chosen = page.locator("li.slot form").first
        start = datetime.fromisoformat(chosen.locator('input[name="start"]').get_attribute("value"))
        end = datetime.fromisoformat(chosen.locator('input[name="end"]').get_attribute("value"))

        book.click()
        page.wait_for_url(f"{site}/referrals/{referral_id}#sessions-heading")
        expect(page.locator(".flash--success")).to_be_visible()
        # Beside the two preparation meetings already held: the new circle, at the chosen time, proposed.
        listed = page.locator(f'li.session-item:has(time[datetime="{start.isoformat()}"])')
        expect(listed).to_have_count(1)
        expect(listed.locator("strong")).to_have_text("Circle")
        expect(listed.locator(".badge")).to_have_text("Proposed")
    finally:
        context.close()

    with app.app_context():
        sessions = db.session.execute(select(ScheduledSession).where(ScheduledSession.kind == "circle")
                                      ).scalars().all()
        assert [(s.referral_id, s.format, s.starts_at, s.ends_at) for s in sessions] == [
            (referral_id, "in_person", start, end)]
        session = sessions[0]
        facilitators = set(db.session.execute(
            select(SessionFacilitator.user_id).where(SessionFacilitator.session_id == session.id)).scalars())
        assert facilitators == {case.lead.id, case.co.id}
        reserved = {(r.resource_type, r.resource_id) for r in db.session.execute(
            select(Reservation).where(Reservation.session_id == session.id, Reservation.active.is_(True))
        ).scalars()}
        assert reserved == {("facilitator", case.lead.id), ("facilitator", case.co.id), ("venue", case.venue.id)}
        assert session.venue_id == case.venue.id
        assert db.session.get(Referral, referral_id).status == "circle_scheduled"
