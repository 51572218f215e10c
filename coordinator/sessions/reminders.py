"""Reminders before upcoming sessions: facilitators get an in-app notice and an email, parties who confirmed a text.

Each reminder's idempotency key names the session, its SEQUENCE, the offset and the recipient, so running the job
again (or a restarted scheduler catching up) queues nothing twice, while a moved session, whose SEQUENCE rose,
gets fresh reminders for its new time.

A party's reminder carries no new private link: by email it says when (in the zone where they will be, never where),
by text only that an appointment is soon, and it points to the portal's landing page. Minting a link here would
leave a fresh credential on the party's phone at every reminder, issued by nobody in particular, and `issue_link`
sends its own message besides; the party already received a link with the invitation they confirmed, and staff can
issue a new one (docs/design.md sections 5 and 6).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from coordinator import clock
from coordinator.db import db, get_row
from coordinator.notifications.dispatch import may_reach
from coordinator.notifications.models import Channel, OutboxMessage
from coordinator.notifications.service import notify_staff, queue_message
from coordinator.referrals.models import Party, Referral
from coordinator.sessions.booking import facilitators_of, participants_of
from coordinator.sessions.models import UPCOMING, Response, ScheduledSession

TEMPLATE = "session_reminder"


def due_offset(starts_at: datetime, now: datetime, offsets: list[int]) -> int | None:
    """The reminder due now, in hours before the start: the closest offset already reached, if the session is ahead.

    Only the closest is sent, so a scheduler back from a long outage sends one timely reminder, not a pile of late
    ones (the 48-hour reminder is pointless once the 2-hour one is due).
    """
    if now >= starts_at:
        return None
    reached = [hours for hours in offsets if now >= starts_at - timedelta(hours=hours)]
    return min(reached) if reached else None


def reminder_key(session: ScheduledSession, hours: int) -> str:
    """The key shared by every reminder of one session, version and offset (recipients are appended)."""
    return f"{TEMPLATE}:{session.id}:{session.sequence}:{hours}h"


def send_due_reminders() -> int:
    """Queue every reminder due now in the caller's transaction; returns how many messages were newly queued."""
    offsets = sorted({int(hours) for hours in current_app.config["REMINDER_HOURS"]})
    if not offsets:
        return 0
    now = clock.now()
    sessions = db.session.execute(
        select(ScheduledSession)
        .where(ScheduledSession.status.in_(UPCOMING), ScheduledSession.starts_at > now,
               ScheduledSession.starts_at <= now + timedelta(hours=offsets[-1]))
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    ).scalars().all()
    queued = 0
    for session in sessions:
        hours = due_offset(session.starts_at, now, offsets)
        if hours is not None:
            queued += remind(session, hours)
    return queued


def remind(session: ScheduledSession, hours: int) -> int:
    """Queue one session's reminders at one offset; those already queued are left alone. Returns how many are new."""
    key = reminder_key(session, hours)
    existing = set(db.session.execute(
        select(OutboxMessage.idempotency_key)
        .where(OutboxMessage.idempotency_key.startswith(key + ":", autoescape=True))
    ).scalars())
    referral = get_row(Referral, session.referral_id)
    queued = 0

    staff = [user for user in facilitators_of(session)
             if user.active and f"{key}:user:{user.id}:email" not in existing]
    if staff:
        notify_staff(staff, TEMPLATE, key=key, referral=referral)  # adds ":user:<id>" (and ":email") itself
        queued += len(staff)

    for participant in participants_of(session):
        party_key = f"{key}:party:{participant.party_id}"
        if participant.response != Response.confirmed or party_key in existing:
            continue
        party = get_row(Party, participant.party_id)
        channel = Channel.sms if party.phone else Channel.email if party.email else None
        if channel is None or not may_reach(party, TEMPLATE):
            continue  # no address (staff remind them in person), or the survivor withdrew contact since
        # No link: the message leads to the portal's landing page. The session's id lets an email say when, in the
        # party's zone and language (sessions/party_times.py); a text stays neutral, and nothing says where.
        queue_message(channel, TEMPLATE, recipient_kind="party", recipient_id=party.id, key=party_key,
                      referral_id=referral.id, params={"session_id": str(session.id)})
        queued += 1
    db.session.flush()
    return queued
