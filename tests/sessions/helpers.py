"""Helpers for the scheduling tests: facilitators on the roster with availability, a venue, a bookable referral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete

from coordinator import clock
from coordinator.accounts.models import SYSTEM
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.models import AvailabilityWindow, Venue
from coordinator.roster.profiles import set_facilitator_profile
from tests.factories import grant_consents, prepare_for_circle


def available(app, user, timezone: str = "UTC", start: time = time(8), end: time = time(20),
              languages=("en", "es", "fr")) -> None:
    """Every day of the week between `start` and `end` in `timezone`."""
    with app.app_context():
        merged = db.session.merge(user)
        set_facilitator_profile(SYSTEM, merged, list(languages),
                                {"trafficking_specialist": clock.now().date() + timedelta(days=365)},
                                timezone=timezone)
        db.session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id))
        for weekday in range(7):
            db.session.add(AvailabilityWindow(user_id=user.id, weekday=weekday, start_time=start, end_time=end))
        db.session.commit()


def make_venue(app, name: str = "Room A", timezone: str = "UTC", waiting_rooms: bool = True, capacity: int = 10,
               start: str = "07:00", end: str = "21:00") -> Venue:
    """An open venue, every day."""
    with app.app_context():
        venue = Venue(name=name, timezone=timezone, separate_waiting_rooms=waiting_rooms, accessible=True,
                      capacity=capacity,
                      opening_hours=[{"weekday": d, "start": start, "end": end} for d in range(7)])
        venue.address = f"{name}, 1 Example Street"
        db.session.add(venue)
        db.session.commit()
        return venue


@dataclass
class Bookable:
    """A referral ready for its circle, with its people."""

    referral: Referral
    coordinator: object
    lead: object
    co: object
    venue: Venue


def bookable(app, factory, status: str = "ready", survivor_language: str = "es") -> Bookable:
    """A referral in `status` whose pair is available every day, with a suitable venue."""
    coordinator = factory.user("coordinator")
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    for user in (lead, co):
        available(app, user)
    referral = factory.referral(by=coordinator, facilitators=(lead, co), status=status,
                                survivor={"contact": {"email": "survivor@example.org"},
                                          "preferred_language": survivor_language},
                                responsible_party={"contact": {"email": "responsible@example.org"}})
    return Bookable(referral, coordinator, lead, co, make_venue(app))


def in_days(app, days: int, hour: int = 10) -> datetime:
    """A time `days` from the service's now, at `hour`:00 UTC."""
    with app.app_context():
        day = (clock.now() + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), tzinfo=UTC)


__all__ = ["available", "bookable", "grant_consents", "in_days", "make_venue", "prepare_for_circle"]
