"""Helpers for the calendar and reminder tests: a referral whose sessions can be booked, and its sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.db import db
from coordinator.referrals.models import Party, Referral
from coordinator.roster.models import Venue
from coordinator.sessions.booking import book_session, mark_held, reschedule_session, respond
from coordinator.sessions.cancellation import cancel_session
from coordinator.sessions.models import ScheduledSession
from tests.factories import grant_consents

# What must never leave in a calendar file or a reminder: the parties' aliases and addresses, the case.
SURVIVOR = {"alias": "Paloma Escondida", "preferred_language": "en",
            "contact": {"email": "paloma.escondida@example.org", "phone": "+34 600 000 001"}}
RESPONSIBLE = {"alias": "Gregorio Gris", "preferred_language": "en",
               "contact": {"email": "gregorio.gris@example.org"}}
CASE = {"docket_number": "DOCKET-77123", "charges": ["Trafficking for forced labour"]}


@dataclass
class Case:
    """A referral in screening with consents granted, its coordinator and its two facilitators."""

    referral: Referral
    coordinator: object
    facilitators: tuple

    @property
    def secrets(self) -> list[str]:
        """Everything identifying of the case (the reference is only for staff pages)."""
        return [SURVIVOR["alias"], RESPONSIBLE["alias"], SURVIVOR["contact"]["email"],
                RESPONSIBLE["contact"]["email"], SURVIVOR["contact"]["phone"], CASE["docket_number"],
                CASE["charges"][0], self.referral.reference, str(self.referral.id)]


def make_case(app, factory, survivor: dict | None = None, facilitators: tuple | None = None) -> Case:
    """A referral whose preparation meetings and follow-ups can be booked."""
    coordinator = factory.user(Role.coordinator)
    pair = facilitators or (factory.user(Role.facilitator, name="Fiona Lead"),
                            factory.user(Role.facilitator, name="Colm Second"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor=survivor or SURVIVOR, responsible_party=RESPONSIBLE, case=dict(CASE))
    with app.app_context():
        grant_consents(db.session.merge(coordinator), db.session.get(Referral, referral.id))
        db.session.commit()
    return Case(referral, coordinator, pair)


def in_days(days: float, hour: int = 10) -> datetime:
    """A time `days` ahead of the service's clock, on the hour."""
    return (clock.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def book(app, case: Case, *, kind: str = "follow_up", fmt: str = "video", days: float = 4, hour: int = 10,
         minutes: int = 90, venue_id=None) -> uuid.UUID:
    """Book a session through the booking service, as the coordinator; returns its id."""
    with app.app_context():
        start = in_days(days, hour)
        session = book_session(db.session.merge(case.coordinator), db.session.get(Referral, case.referral.id),
                               kind=kind, fmt=fmt, start=start, end=start + timedelta(minutes=minutes),
                               facilitator_ids=[user.id for user in case.facilitators], venue_id=venue_id)
        db.session.commit()
        return session.id


def reschedule(app, case: Case, session_id, *, days: float, hour: int = 10, minutes: int = 90) -> None:
    """Move a session (its SEQUENCE rises; the parties are asked again)."""
    with app.app_context():
        start = in_days(days, hour)
        reschedule_session(db.session.merge(case.coordinator), db.session.get(ScheduledSession, session_id),
                           start, start + timedelta(minutes=minutes))
        db.session.commit()


def cancel(app, case: Case, session_id) -> None:
    """Cancel a session."""
    with app.app_context():
        cancel_session(db.session.merge(case.coordinator), db.session.get(ScheduledSession, session_id), "other")
        db.session.commit()


def answer(app, case: Case, session_id, role: str, response: str = "confirmed") -> None:
    """A party confirms or declines, as the portal lets them."""
    with app.app_context():
        party = db.session.get(Referral, case.referral.id).party(role)
        respond(db.session.get(Party, party.id), session_id, response)
        db.session.commit()


def make_venue(app, name: str, address: str) -> uuid.UUID:
    """An open venue with an (encrypted) address."""
    with app.app_context():
        venue = Venue(name=name, timezone="UTC", opening_hours=[{"weekday": d, "start": "08:00", "end": "20:00"}
                                                                 for d in range(7)])
        venue.address = address
        db.session.add(venue)
        db.session.commit()
        return venue.id


def book_at(app, case: Case, facilitator_ids, starts_at: datetime, minutes: int = 90,
            kind: str = "pre_conference_survivor", held: bool = False) -> uuid.UUID:
    """A session at any time, past ones included: booked through the service three days before it starts (the
    clock travels there) and, when `held`, recorded as held after it ended."""
    with app.app_context():
        actor, referral = db.session.merge(case.coordinator), db.session.get(Referral, case.referral.id)
        with clock.travel(starts_at - timedelta(days=3)):
            session = book_session(actor, referral, kind=kind, fmt="video", start=starts_at,
                                   end=starts_at + timedelta(minutes=minutes), facilitator_ids=list(facilitator_ids))
        if held:
            with clock.travel(starts_at + timedelta(minutes=minutes + 60)):
                mark_held(actor, session, [])
        db.session.commit()
        return session.id


def move_clock(app, to: datetime) -> None:
    """Set the service's clock (web, jobs and services alike)."""
    with app.app_context():
        clock.set_clock(to)
        db.session.commit()


def session_row(app, session_id) -> ScheduledSession:
    """The session as stored now."""
    with app.app_context():
        return db.session.get(ScheduledSession, session_id)
