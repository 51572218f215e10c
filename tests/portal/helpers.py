"""Helpers for the portal tests: a party's phone, a referral in hand, links and decisions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from coordinator import clock
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.portal.service import issue_link
from coordinator.referrals.models import Referral
from coordinator.sessions.booking import book_session
from tests.factories import book, make_ready

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@dataclass
class Phone:
    """A party's phone: a browser with no staff session."""

    client: object

    def open(self, url: str):
        """GET a page (the token part of a link URL is enough)."""
        return self.client.get(url)

    def csrf(self, page) -> str:
        """The CSRF token of a page."""
        return CSRF.search(page.get_data(as_text=True)).group(1)

    def post(self, url: str, data: dict | None = None, page_url: str | None = None):
        """Post a form of the page at `page_url` (default: `url`) with its CSRF token."""
        page = self.client.get(page_url or url)
        return self.client.post(url, data={"csrf_token": self.csrf(page), **(data or {})})

    def continue_link(self, link_path: str, pin: str | None = None, via: str | None = None):
        """Press continue on a link's interstitial (`via`: another page to take the CSRF token from)."""
        return self.post(link_path, {"pin": pin} if pin else {}, page_url=via)


@dataclass
class Case:
    """A referral with its coordinator and facilitators."""

    referral: Referral
    coordinator: object
    facilitators: tuple


def link_for(app, case: Case, party: str = "survivor", channel: str = "handover") -> str:
    """Issue a link as the coordinator; returns its path (/p/<token>)."""
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        _link, url = issue_link(db.session.merge(case.coordinator), referral, party, channel)
        db.session.commit()
    return url.removeprefix(app.config["COORDINATOR_BASE_URL"])


def decide(app, case: Case, party: str, scope: str, decision: str = "granted") -> None:
    """Record a decision in person, as the coordinator."""
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        record_decision(db.session.merge(case.coordinator), referral, party=party, scope=scope, decision=decision,
                        method="in_person")
        db.session.commit()


def add_session(app, case, kind: str = "circle", days: int = 10):
    """An upcoming session booked through the service by the coordinator, its parties invited. A circle needs the
    referral ready, so the referral is first walked there (consents, preparation meetings, an assessment)."""
    with app.app_context():
        actor = db.session.merge(case.coordinator)
        referral = db.session.get(Referral, case.referral.id)
        if kind == "circle" and referral.status not in ("ready", "circle_scheduled"):
            make_ready(actor, referral)
        session = book(actor, referral, kind, clock.now() + timedelta(days=days))
        db.session.commit()
        return session


def inside(app, case: Case, phone, party: str = "survivor") -> Phone:
    """A phone that went through a fresh link of `party` and pressed continue."""
    visitor = phone()
    response = visitor.continue_link(link_for(app, case, party))
    assert response.status_code == 302, response.get_data(as_text=True)
    return visitor


def make_ready_case(app, case: Case) -> None:
    """Walk the case's referral to `ready` through the services (consents, preparation meetings, assessment)."""
    with app.app_context():
        make_ready(db.session.merge(case.coordinator), db.session.get(Referral, case.referral.id))
        db.session.commit()


def book_in_person(app, case: Case, venue_id, start, *, kind: str = "circle", hours: int = 2,
                   interpreter: bool = True):
    """An in-person session at a venue, booked through the service by the coordinator; a circle needs the referral
    ready first (`make_ready_case`). An interpreter is booked, since the test parties' languages vary."""
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        session = book_session(db.session.merge(case.coordinator), referral, kind=kind, fmt="in_person", start=start,
                               end=start + timedelta(hours=hours), venue_id=venue_id,
                               facilitator_ids=sorted(referral.facilitator_ids, key=str), interpreter=interpreter)
        db.session.commit()
        return session
