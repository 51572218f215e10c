"""A facilitator's week, day by day in their own time zone: availability windows, exceptions and sessions.

Times are aware UTC inside and turned into the facilitator's zone here, per session, so a week that crosses a
daylight-saving change shows each session at the local time it was agreed for (STYLE.md habit 10).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.db import db
from coordinator.errors import Forbidden, NotFound
from coordinator.referrals.models import Referral
from coordinator.referrals.service import visible_to
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, FacilitatorProfile, Venue
from coordinator.sessions.models import ScheduledSession, SessionFacilitator

VIEWERS = (Role.coordinator, Role.facilitator)


@dataclass(frozen=True)
class WeekSession:
    """A session as the week shows it: local start and end, the venue's name, the referral if the viewer may see it."""

    session: ScheduledSession
    starts: datetime
    ends: datetime
    venue_name: str | None
    referral: Referral | None


@dataclass
class Day:
    """One local day: the weekly windows that apply, whether an exception closes it, and its sessions."""

    date: date
    windows: list[tuple[time, time]] = field(default_factory=list)
    unavailable: bool = False
    sessions: list[WeekSession] = field(default_factory=list)


@dataclass(frozen=True)
class Week:
    """Seven local days from a Monday."""

    user: User
    timezone: str
    start: date
    days: list[Day]

    @property
    def previous(self) -> date:
        """The Monday before."""
        return self.start - timedelta(days=7)

    @property
    def next(self) -> date:
        """The Monday after."""
        return self.start + timedelta(days=7)

    @property
    def end(self) -> date:
        """The Sunday."""
        return self.start + timedelta(days=6)


def facilitators() -> list[User]:
    """Every facilitator, for a coordinator to choose whose week to see."""
    return sorted(db.session.execute(select(User).where(User.role == Role.facilitator)).scalars(),
                  key=lambda user: ((user.name or "").lower(), user.email))


def load_week_owner(actor: User, user_id: uuid.UUID | str | None) -> User:
    """Whose week the actor asked for: coordinators may see any facilitator's, facilitators only their own."""
    if not actor.has_role(*VIEWERS):
        raise Forbidden(_("Your role has no week calendar."))
    if user_id in (None, ""):
        if not actor.has_role(Role.facilitator):
            raise NotFound(_("Not found."))
        return actor
    try:
        user = db.session.get(User, uuid.UUID(str(user_id)))
    except ValueError:
        user = None
    if actor.has_role(Role.facilitator) and (user is None or user.id != actor.id):
        raise Forbidden(_("You can see only your own week."))
    if user is None or not user.has_role(Role.facilitator):
        raise NotFound(_("Not found."))
    return user


def zone_of(user: User) -> str:
    """The facilitator's time zone from the roster (UTC when none or an unknown one is set)."""
    profile = db.session.get(FacilitatorProfile, user.id)
    name = profile.timezone if profile else "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def monday_of(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def facilitator_week(actor: Actor, user: User, start: date | None = None) -> Week:
    """The week from the Monday of `start` (default: this week where the facilitator lives)."""
    timezone = zone_of(user)
    zone = ZoneInfo(timezone)
    monday = monday_of(start or clock.now().astimezone(zone).date())
    days = [Day(monday + timedelta(days=offset)) for offset in range(7)]
    by_date = {day.date: day for day in days}

    for window in db.session.execute(
            select(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id)
            .order_by(AvailabilityWindow.start_time)).scalars():
        for day in days:
            if day.date.weekday() == window.weekday:
                day.windows.append((window.start_time, window.end_time))
    for exception in db.session.execute(
            select(AvailabilityException).where(AvailabilityException.user_id == user.id,
                                                AvailabilityException.on_date.between(days[0].date, days[-1].date),
                                                AvailabilityException.unavailable.is_(True))).scalars():
        by_date[exception.on_date].unavailable = True

    # The local week's bounds in UTC: both midnights are taken in the zone, so a 23- or 25-hour day is whole.
    week_from = datetime.combine(days[0].date, time(0), tzinfo=zone).astimezone(UTC)
    week_to = datetime.combine(days[-1].date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    sessions = list(db.session.execute(
        select(ScheduledSession)
        .join(SessionFacilitator, SessionFacilitator.session_id == ScheduledSession.id)
        .where(SessionFacilitator.user_id == user.id, ScheduledSession.starts_at < week_to,
               ScheduledSession.ends_at > week_from)
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    ).scalars())
    venues = _venue_names({s.venue_id for s in sessions if s.venue_id})
    referrals = _visible_referrals(actor, {s.referral_id for s in sessions})
    for session in sessions:
        starts, ends = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
        day = by_date.get(starts.date(), days[0])  # a session begun the Sunday before is shown on Monday
        day.sessions.append(WeekSession(session, starts, ends, venues.get(session.venue_id),
                                        referrals.get(session.referral_id)))
    return Week(user, timezone, monday, days)


def _venue_names(ids: set) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(select(Venue.id, Venue.name).where(Venue.id.in_(ids))).all())


def _visible_referrals(actor: Actor, ids: set) -> dict:
    """The referrals the viewer may know exist; a session of any other is shown without its reference."""
    if not ids:
        return {}
    rows = db.session.execute(select(Referral).where(Referral.id.in_(ids), visible_to(actor))).scalars()
    return {referral.id: referral for referral in rows}
