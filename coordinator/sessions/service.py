"""Reading and recording sessions outside booking: upcoming ones, a preparation meeting noted as held, reservations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from coordinator import clock
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.roster.models import Venue
from coordinator.sessions.models import UPCOMING, Reservation, ScheduledSession, SessionStatus


def upcoming_sessions(referral, kinds: tuple[str, ...] | None = None) -> list[ScheduledSession]:
    """Sessions of a referral that have not started and are not cancelled, soonest first."""
    query = (select(ScheduledSession)
             .where(ScheduledSession.referral_id == referral.id, ScheduledSession.status.in_(UPCOMING),
                    ScheduledSession.starts_at > clock.now())
             .order_by(ScheduledSession.starts_at))
    if kinds is not None:
        query = query.where(ScheduledSession.kind.in_(kinds))
    return list(db.session.execute(query).scalars())


def cancel_upcoming_sessions(actor, referral, reason: str, kinds: tuple[str, ...] | None = None
                             ) -> list[ScheduledSession]:
    """Cancel the upcoming sessions of a referral (all, or of `kinds`) in the caller's transaction."""
    cancelled = upcoming_sessions(referral, kinds)
    for session in cancelled:
        mark_cancelled(actor, session, reason)
        record(actor, "session.cancel", session, referral_id=referral.id, details={"reason": reason})
    db.session.flush()
    return cancelled



def record_held_session(actor, referral, kind: str, fmt: str, starts_at: datetime, minutes: int = 90
                        ) -> ScheduledSession:
    """Note a session that took place (preparation meetings count towards readiness)."""
    session = ScheduledSession(referral_id=referral.id, kind=kind, format=fmt, starts_at=starts_at,
                               ends_at=starts_at + timedelta(minutes=minutes), status=SessionStatus.held,
                               created_by_id=actor.id, created_at=clock.now())
    db.session.add(session)
    db.session.flush()
    record(actor, "session.held", session, referral_id=referral.id, details={"kind": kind})
    return session


def mark_cancelled(actor, session: ScheduledSession, reason: str) -> None:
    """The state change of a cancellation: status, a higher SEQUENCE for calendars, its time released."""
    session.status, session.cancelled_at, session.cancel_reason = SessionStatus.cancelled, clock.now(), reason
    session.sequence += 1
    session.updated_at = clock.now()
    release_reservations(session)


def release_reservations(session: ScheduledSession) -> None:
    """Free the facilitators' and the venue's time held by a session."""
    db.session.execute(update(Reservation).where(Reservation.session_id == session.id).values(active=False)
                       .execution_options(synchronize_session=False))


def venues_by_id(ids) -> dict:
    """Venues keyed by id, in one statement; empty ids are skipped."""
    keys = {venue_id for venue_id in ids if venue_id}
    if not keys:
        return {}
    return {venue.id: venue for venue in db.session.execute(select(Venue).where(Venue.id.in_(keys))).scalars()}
