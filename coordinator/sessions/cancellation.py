"""Cancelling sessions: the one function every door uses, and who is told (docs/design.md rules 1 and 9).

Staff cancel one session; pausing or closing a referral, a withdrawal and a safety incident cancel what is upcoming.
Each of them comes through `cancel`, so a cancellation always does the same things: the session is cancelled with
a higher calendar SEQUENCE, its facilitators' and venue's time is released, the audit log records it, the people
of the session are told, and a cancelled circle lets the referral book another.

Who is told, whatever the cause (docs/design.md rule 1, "told neutrally, with no reason given"):
- every invited party, on each channel they have, that an appointment will not take place (no reason, time or
  place; the portal shows which one), except the party whose own decision cancelled it (a withdrawal, an "I feel
  unsafe" report): they know, and a message could reach a phone that someone else watches;
- every facilitator of the session but the person cancelling, in the app and by email.
One message per session and recipient: the idempotency keys name both, so a cancellation reached by two paths
(a withdrawal that also closes the referral) tells nobody twice.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import users_by_id
from coordinator.audit.service import record
from coordinator.db import atomic, db, get_row
from coordinator.errors import Conflict, Forbidden
from coordinator.notifications.models import Channel
from coordinator.notifications.service import notify_staff, queue_message
from coordinator.referrals.models import Party, Referral, ReferralStatus, StatusChange
from coordinator.referrals.workflow import on_entering, transition
from coordinator.sessions.models import (
    PARTIES_OF,
    UPCOMING,
    Reservation,
    ScheduledSession,
    SessionFacilitator,
    SessionKind,
    SessionParticipant,
    SessionStatus,
)

BOOKERS = (Role.coordinator, Role.facilitator)
MAX_REASON = 32


def require_booker(actor: Actor) -> None:
    """Coordinators and facilitators book, move and cancel sessions; other roles are refused."""
    if not actor.has_role(*BOOKERS):
        raise Forbidden(_("Your role cannot book sessions."))


def require_upcoming(session: ScheduledSession) -> None:
    """Only a session that is still proposed or confirmed can change."""
    if session.status not in UPCOMING:
        raise Conflict(_("This session has already been held or cancelled."), {"code": "session_closed"})


@atomic
def cancel_session(actor: Actor, session: ScheduledSession, reason: str | None) -> ScheduledSession:
    """A coordinator or facilitator cancels one session (the page and the API)."""
    require_booker(actor)
    require_upcoming(session)
    cancel(actor, session, (reason or "").strip()[:MAX_REASON] or "other")
    return session


def cancel(actor: Actor, session: ScheduledSession, reason: str, decided_by: Party | None = None) -> None:
    """The one cancellation: state, released time, audit, the people told, and the referral's next step.

    `decided_by` is the party whose own decision cancels the session; they are not sent a message about it.
    """
    referral = get_row(Referral, session.referral_id)
    now = clock.now()
    session.status, session.cancelled_at, session.cancel_reason = SessionStatus.cancelled, now, reason
    session.sequence += 1  # calendars replace the event with its cancellation
    session.updated_at = now
    release_reservations(session)
    record(actor, "session.cancel", session, referral_id=referral.id, details={"reason": reason})
    _tell(actor, session, referral, decided_by)
    if session.kind == SessionKind.circle and referral.status == ReferralStatus.circle_scheduled and not any(
            other.kind == SessionKind.circle for other in upcoming_sessions(referral)):
        transition(actor, referral, ReferralStatus.ready, automatic=True)
    db.session.flush()


def cancel_upcoming(actor: Actor, referral: Referral, reason: str, involving: str | None = None,
                    decided_by: Party | None = None) -> list[ScheduledSession]:
    """Cancel every upcoming session of a referral, or only those `involving` one party."""
    sessions = [session for session in upcoming_sessions(referral)
                if involving is None or involving in PARTIES_OF[session.kind]]
    for session in sessions:
        cancel(actor, session, reason, decided_by)
    return sessions


@on_entering(ReferralStatus.paused, ReferralStatus.closed)
def cancel_when_paused_or_closed(status: ReferralStatus, *, referral: Referral, actor: Actor,
                                 change: StatusChange) -> None:
    """Pausing or closing a referral, by any door, cancels everything it has booked (docs/state-machines.md)."""
    cancel_upcoming(actor, referral, change.reason or status.value,
                    decided_by=actor if isinstance(actor, Party) else None)


def upcoming_sessions(referral: Referral) -> list[ScheduledSession]:
    """Sessions of a referral that have not started and are not cancelled, soonest first."""
    return list(db.session.execute(
        select(ScheduledSession)
        .where(ScheduledSession.referral_id == referral.id, ScheduledSession.status.in_(UPCOMING),
               ScheduledSession.starts_at > clock.now())
        .order_by(ScheduledSession.starts_at)
    ).scalars())


def release_reservations(session: ScheduledSession) -> None:
    """Free the facilitators' and the venue's time held by a session."""
    db.session.execute(update(Reservation).where(Reservation.session_id == session.id).values(active=False)
                       .execution_options(synchronize_session=False))


def facilitators_of(session: ScheduledSession) -> list[User]:
    """The session's facilitators."""
    ids = db.session.execute(select(SessionFacilitator.user_id).where(SessionFacilitator.session_id == session.id)
                             ).scalars().all()
    return list(users_by_id(ids).values())


def _tell(actor: Actor, session: ScheduledSession, referral: Referral, decided_by: Party | None) -> None:
    parties = db.session.execute(
        select(Party).join(SessionParticipant, SessionParticipant.party_id == Party.id)
        .where(SessionParticipant.session_id == session.id)
    ).scalars()
    for party in parties:
        if decided_by is not None and party.id == decided_by.id:
            continue
        for channel, address in ((Channel.email, party.email), (Channel.sms, party.phone)):
            if address:
                queue_message(channel, "appointment_cancelled", recipient_kind="party", recipient_id=party.id,
                              key=f"appointment_cancelled:{session.id}:{party.id}:{channel}",
                              referral_id=referral.id)
    staff = [user for user in facilitators_of(session) if user.id != getattr(actor, "id", None)]
    notify_staff(staff, "session_changed", key=f"session_cancelled:{session.id}", referral=referral)
