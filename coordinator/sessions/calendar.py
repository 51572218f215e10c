"""Calendar files for staff (RFC 5545, methods from RFC 5546): one session's .ics and a facilitator's private feed.

What a calendar holds leaves the service for phones, cloud accounts and shared calendars, so it says as little as
possible (docs/design.md rules 5 and 8, section 4): the UID is the session's random `ical_uid`, the title names only the
kind of meeting, the place is a venue's name (its address stays encrypted here) or "Video", times are UTC, and no
party, alias, reference or charge appears anywhere. SEQUENCE is the session's own counter, raised on every change,
so a calendar replaces the event it already holds instead of adding another. At a staggered meeting the description
gives each participant's own arrival and leaving, in the venue's zone and without saying who is who.

A party's own calendar file is coordinator/sessions/party_calendar.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from coordinator import clock, times
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import sha256_hex
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden
from coordinator.roster.models import Venue
from coordinator.sessions.booking import facilitators_of
from coordinator.sessions.models import (
    CalendarFeed,
    ScheduledSession,
    SessionFacilitator,
    SessionFormat,
    SessionKind,
    SessionParticipant,
    SessionStatus,
)

if TYPE_CHECKING:
    from icalendar import Calendar, Event, vCalAddress

PRODID = "-//Circlekeeper//Sessions//EN"
UID_DOMAIN = "circlekeeper"
FEED_PAST = timedelta(days=30)  # a feed keeps a month of history; older events stay in the calendars that have them
FEED_REFRESH = timedelta(hours=1)

# Neutral on purpose: a calendar is often seen by others, so "survivor" or "responsible party" never appears.
TITLES: dict[str, LazyString] = {
    SessionKind.pre_conference_survivor: _l("Preparation meeting"),
    SessionKind.pre_conference_responsible: _l("Preparation meeting"),
    SessionKind.circle: _l("Circle"),
    SessionKind.follow_up: _l("Follow-up"),
}
EVENT_STATUS: dict[str, str] = {
    SessionStatus.proposed: "TENTATIVE",
    SessionStatus.confirmed: "CONFIRMED",
    SessionStatus.held: "CONFIRMED",
    SessionStatus.cancelled: "CANCELLED",
}


def event_uid(session: ScheduledSession) -> str:
    """The event's UID: the session's random UUID, which says nothing about the case."""
    return f"{session.ical_uid}@{UID_DOMAIN}"


def _calendar(method: str) -> Calendar:
    from icalendar import Calendar  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _organizer() -> vCalAddress:
    """The service itself (its no-reply sender): RFC 5546 asks for an organizer, and no person should be it."""
    from icalendar import vCalAddress  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1] or f"no-reply@{UID_DOMAIN}.invalid"
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = "Circlekeeper"
    return organizer


def _location(session: ScheduledSession) -> str | None:
    """The venue's name only (never its address), or "Video"."""
    if session.venue_id is not None:
        venue = db.session.get(Venue, session.venue_id)
        if venue is not None:
            return venue.name
    if session.format == SessionFormat.video:
        return _("Video")
    return None


def _arrivals(session: ScheduledSession, participants: Sequence[SessionParticipant]) -> str | None:
    """Each participant's own arrival and leaving at a staggered meeting, in the venue's zone, naming nobody."""
    if not any(p.arrive_at != session.starts_at or p.leave_at != session.ends_at for p in participants):
        return None
    venue = db.session.get(Venue, session.venue_id) if session.venue_id else None
    place = times.zone(venue.timezone if venue else None, current_app.config["BABEL_DEFAULT_TIMEZONE"])
    locale = get_locale() or "en"
    spans = [_("%(arrive)s to %(leave)s", arrive=times.clock_time(p.arrive_at, place, locale),
               leave=times.clock_time(p.leave_at, place, locale))
             for p in sorted(participants, key=lambda p: (p.arrive_at, p.leave_at))]
    return _("Staggered arrivals (%(zone)s): %(spans)s.", zone=times.zone_label(place, locale), spans="; ".join(spans))


def _event(session: ScheduledSession, stamp: datetime, attendees: Sequence[User] = (),
           participants: Sequence[SessionParticipant] = ()) -> Event:
    """One VEVENT for a session, as staff see it."""
    from icalendar import Event, vCalAddress  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    event = Event()
    event.add("uid", event_uid(session))
    event.add("sequence", session.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", str(TITLES[session.kind]))
    if location := _location(session):
        event.add("location", location)
    if arrivals := _arrivals(session, participants):
        event.add("description", arrivals)
    event.add("status", EVENT_STATUS.get(session.status, "TENTATIVE"))
    event.add("transp", "TRANSPARENT" if session.status == SessionStatus.cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    if session.updated_at is not None:
        event.add("last-modified", session.updated_at)
    event.add("organizer", _organizer())
    for user in attendees:
        attendee = vCalAddress(f"mailto:{user.email}")  # a staff work address; no name, no party
        attendee.params.update({"cutype": "INDIVIDUAL", "role": "REQ-PARTICIPANT", "rsvp": "FALSE"})
        event.add("attendee", attendee)
    return event


def session_ics(session: ScheduledSession) -> bytes:
    """One session as an invitation (METHOD:REQUEST), or its cancellation (METHOD:CANCEL, STATUS:CANCELLED)."""
    cancelled = session.status == SessionStatus.cancelled
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_event(session, clock.now(), sorted(facilitators_of(session), key=lambda u: u.email),
                                  _participants_of([session.id]).get(session.id, [])))
    return calendar.to_ical()


def _participants_of(session_ids: list) -> dict:
    """The participants of several sessions, in one statement."""
    found: dict = {session_id: [] for session_id in session_ids}
    if session_ids:
        for participant in db.session.execute(
                select(SessionParticipant).where(SessionParticipant.session_id.in_(session_ids))).scalars():
            found[participant.session_id].append(participant)
    return found


def feed_sessions(user: User) -> list[ScheduledSession]:
    """The facilitator's sessions for their feed: the last 30 days and everything ahead, cancelled ones included."""
    return list(db.session.execute(
        select(ScheduledSession)
        .join(SessionFacilitator, SessionFacilitator.session_id == ScheduledSession.id)
        .where(SessionFacilitator.user_id == user.id, ScheduledSession.ends_at >= clock.now() - FEED_PAST)
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    ).scalars())


def feed_ics(user: User) -> bytes:
    """A facilitator's subscribed calendar (METHOD:PUBLISH), titled in their language.

    Cancelled sessions stay in it as STATUS:CANCELLED with a higher SEQUENCE, so subscribed calendars drop them.
    """
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", "Circlekeeper")
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", FEED_REFRESH)
    stamp = clock.now()
    with force_locale(user.language if user.language in current_app.config["LANGUAGES"] else "en"):
        sessions = feed_sessions(user)
        participants = _participants_of([session.id for session in sessions])
        for session in sessions:
            calendar.add_component(_event(session, stamp, participants=participants[session.id]))
    return calendar.to_ical()


def feed_url(token: str) -> str:
    """A feed's address, built from the configured base URL (never the request's Host header)."""
    return f"{current_app.config['COORDINATOR_BASE_URL']}/calendar/feed/{token}.ics"


def active_feed(user: User) -> CalendarFeed | None:
    """The user's working feed, if any."""
    return db.session.execute(
        select(CalendarFeed).where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.created_at.desc())
    ).scalars().first()


def _require_facilitator(actor: Actor) -> None:
    if not actor.has_role(Role.facilitator):
        raise Forbidden(_("Only facilitators have a calendar feed."))


@atomic
def create_feed(actor: User) -> tuple[CalendarFeed, str]:
    """A new private feed for the facilitator, replacing any earlier one; returns it with its URL, shown once."""
    _require_facilitator(actor)
    revoke_feed(actor)
    token = secrets.token_urlsafe(32)  # 256 bits; only its SHA-256 is kept
    feed = CalendarFeed(user_id=actor.id, token_hash=sha256_hex(token), created_at=clock.now())
    db.session.add(feed)
    db.session.flush()
    record(actor, "calendar_feed.create", feed)
    return feed, feed_url(token)


@atomic
def revoke_feed(actor: User) -> int:
    """Stop the facilitator's feed at once; returns how many feeds were stopped (0 or 1)."""
    _require_facilitator(actor)
    stopped = 0
    while (feed := active_feed(actor)) is not None:
        feed.revoked_at = clock.now()
        db.session.flush()
        record(actor, "calendar_feed.revoke", feed)
        stopped += 1
    return stopped


def feed_owner(token: str) -> User | None:
    """The active facilitator behind a feed token; None for an unknown, revoked or orphaned one."""
    feed = db.session.execute(
        select(CalendarFeed).where(CalendarFeed.token_hash == sha256_hex(token), CalendarFeed.revoked_at.is_(None))
    ).scalar_one_or_none()
    if feed is None:
        return None
    user = db.session.get(User, feed.user_id)
    if user is None or not user.active or not user.has_role(Role.facilitator):
        return None
    return user
