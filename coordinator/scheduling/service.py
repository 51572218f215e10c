"""What can happen to sessions. Booking, slot search and calendars arrive with the scheduling capability."""

from __future__ import annotations

from sqlalchemy import select

from coordinator import clock
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.scheduling.models import UPCOMING, ScheduledSession, SessionStatus


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
    now = clock.now()
    for session in cancelled:
        session.status = SessionStatus.cancelled
        session.cancelled_at = now
        session.cancel_reason = reason
        session.sequence += 1
        record(actor, "session.cancel", session, referral_id=referral.id, details={"reason": reason})
    db.session.flush()
    return cancelled
