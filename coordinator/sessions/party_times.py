"""How a party sees a session (docs/design.md section 7): its time in the right zone, their own arrival, the place.

This module is the one owner of that rule. In person, the times are the venue's, where the party will be; for a
remote format (video, shuttle, letter) they are in the party's own zone, recorded at intake, or the programme's
when none was recorded. The portal, every message a party receives and the party's calendar file all go through
`party_view()` and `describe()`, so a page and a message can never disagree. Times stay aware UTC until here and
are converted per session, so a session booked before a daylight-saving change shows the local time it was booked
for.

The venue's address is not read here: only the party's own page of one session decrypts it (`reveal_place()`),
audited, and no message ever carries it ("open your page for the place").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import select

from coordinator import clock, times
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.errors import NotFound
from coordinator.notifications.messages import message_context
from coordinator.party_i18n import _p
from coordinator.referrals.models import Party
from coordinator.roster.models import Venue
from coordinator.sessions.models import UPCOMING, ScheduledSession, SessionFormat, SessionParticipant


def party_zone(session: ScheduledSession, party: Party, venue: Venue | None) -> ZoneInfo:
    """Where the party will be: the venue's zone in person, otherwise theirs, otherwise the programme's."""
    programme = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if session.format == SessionFormat.in_person and venue is not None:
        return times.zone(venue.timezone, programme)
    return times.zone(party.timezone, programme)


@dataclass(frozen=True)
class PartyView:
    """One session as one party sees it: local start and end, their own arrival and leaving, the venue."""

    session: ScheduledSession
    participant: SessionParticipant
    party: Party
    zone: ZoneInfo
    venue: Venue | None

    @property
    def starts(self) -> datetime:
        """The session's start where the party will be."""
        return self.session.starts_at.astimezone(self.zone)

    @property
    def ends(self) -> datetime:
        """The session's end where the party will be."""
        return self.session.ends_at.astimezone(self.zone)

    @property
    def arrives(self) -> datetime:
        """When this party is asked to arrive (earlier than the start at a staggered meeting)."""
        return self.participant.arrive_at.astimezone(self.zone)

    @property
    def leaves(self) -> datetime:
        """When this party leaves (later than the end at a staggered meeting)."""
        return self.participant.leave_at.astimezone(self.zone)

    @property
    def staggered(self) -> bool:
        """This party's arrival or leaving differs from the session's start or end."""
        return self.arrives != self.starts or self.leaves != self.ends

    @property
    def in_person(self) -> bool:
        """The party comes to a venue."""
        return self.session.format == SessionFormat.in_person and self.venue is not None


def party_view(session: ScheduledSession, party: Party, participant: SessionParticipant | None = None,
               venue: Venue | None = None) -> PartyView:
    """One session as `party` sees it."""
    if participant is None:
        participant = db.session.get(SessionParticipant, (session.id, party.id))
        if participant is None:
            raise NotFound(_p("Not found."))
    if venue is None and session.venue_id is not None:
        venue = db.session.get(Venue, session.venue_id)
    return PartyView(session, participant, party, party_zone(session, party, venue), venue)


def upcoming_views(party: Party) -> list[PartyView]:
    """The party's upcoming sessions, soonest first, with their own times (three statements however many)."""
    rows = db.session.execute(
        select(ScheduledSession, SessionParticipant)
        .join(SessionParticipant, SessionParticipant.session_id == ScheduledSession.id)
        .where(SessionParticipant.party_id == party.id, ScheduledSession.status.in_(UPCOMING),
               ScheduledSession.starts_at > clock.now())
        .order_by(ScheduledSession.starts_at)
    ).all()
    venue_ids = {session.venue_id for session, _participant in rows if session.venue_id}
    venues = {venue.id: venue for venue in db.session.execute(
        select(Venue).where(Venue.id.in_(venue_ids))).scalars()} if venue_ids else {}
    views = []
    for session, participant in rows:
        venue = venues.get(session.venue_id) if session.venue_id else None
        views.append(PartyView(session, participant, party, party_zone(session, party, venue), venue))
    return views


def upcoming_view(party: Party, session_id: uuid.UUID | str) -> PartyView:
    """One of the party's own upcoming sessions; NotFound for any other (another party's, past, cancelled)."""
    for view in upcoming_views(party):
        if str(view.session.id) == str(session_id):
            return view
    raise NotFound(_p("Not found."))


@dataclass(frozen=True)
class When:
    """A party's session in words, in the current language: each part, and the sentences built from them."""

    date: str
    start: str
    end: str
    zone: str
    arrive: str
    leave: str
    start_iso: str
    arrive_iso: str

    @property
    def text(self) -> str:
        """ "Tuesday 8 December 2026, from 14:00 to 16:00 (Central European Time)"."""
        return _p("%(date)s, from %(start)s to %(end)s (%(zone)s)", date=self.date, start=self.start, end=self.end,
                  zone=self.zone)


def describe(view: PartyView) -> When:
    """The session's time as this party reads it, in the current locale (the portal's, or the message's)."""
    locale = get_locale() or "en"
    parts = times.span(view.session.starts_at, view.session.ends_at, view.zone, locale)
    return When(date=parts.date, start=parts.start, end=parts.end, zone=parts.zone,
                arrive=times.clock_time(view.participant.arrive_at, view.zone, locale),
                leave=times.clock_time(view.participant.leave_at, view.zone, locale),
                start_iso=parts.start_iso, arrive_iso=view.arrives.isoformat())


def reveal_place(view: PartyView) -> tuple[str, str | None]:
    """The venue's address and entrance for the party's own page of this session: decrypted here only, audited."""
    if not view.in_person or view.venue is None:
        raise NotFound(_p("Not found."))
    record(view.party, "portal.place", view.venue, referral_id=view.party.referral_id,
           details={"session": str(view.session.id)})
    return view.venue.address or "", view.venue.entrance


@message_context("session_invitation", "session_reminder")
def when_for_message(params: dict, party: Party) -> dict:
    """What a party's message about a session says of it: when, in their zone and language; never where."""
    try:
        session = db.session.get(ScheduledSession, uuid.UUID(str(params.get("session_id"))))
        view = party_view(session, party) if session is not None else None
    except (ValueError, NotFound):
        view = None
    if view is None:
        return {"when": None, "in_person": False, "moved": False}
    return {"when": describe(view), "in_person": view.in_person, "moved": bool(params.get("moved"))}
