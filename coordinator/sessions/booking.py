"""Book, reschedule, cancel and hold sessions; parties confirm or decline through the portal.

The database refuses double booking: each facilitator and the venue get a reservation row for the session's
held span, and PostgreSQL's exclusion constraint rejects overlapping active ones; on SQLite the whole request is
one serialized write transaction (BEGIN IMMEDIATE) and the same overlap is checked before the insert. A circle's
booking runs the readiness gate in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import users_by_id
from coordinator.audit.service import record
from coordinator.consent import gates as consent_gates
from coordinator.consent.queries import consent_overview
from coordinator.consent.service import contact_gate_failure
from coordinator.db import atomic, db, get_row, new_id
from coordinator.errors import Conflict, GateFailed, InvalidRequest, NotFound
from coordinator.gates import Unmet
from coordinator.notifications.service import notify_staff
from coordinator.portal.models import LinkChannel
from coordinator.portal.service import issue_link
from coordinator.referrals.models import ACTIVE, Party, PartyRole, Referral, ReferralStatus
from coordinator.referrals.service import load_referral
from coordinator.referrals.workflow import transition
from coordinator.roster.models import Venue
from coordinator.safety.readiness import CirclePlan, unmet_for
from coordinator.sessions.cancellation import facilitators_of, release_reservations, require_booker, require_upcoming
from coordinator.sessions.models import (
    PARTIES_OF,
    UPCOMING,
    Reservation,
    Response,
    ScheduledSession,
    SessionFacilitator,
    SessionFormat,
    SessionKind,
    SessionParticipant,
    SessionStatus,
)
from coordinator.sessions.search import held_span, stagger_for

MAX_DURATION = timedelta(hours=8)



def load_session(actor: Actor, session_id: uuid.UUID | str) -> ScheduledSession:
    """A session of a referral in the actor's scope; NotFound otherwise."""
    session = get_row(ScheduledSession, session_id)
    load_referral(actor, session.referral_id)
    return session


def _check_request(referral: Referral, kind: str, fmt: str, start: datetime, end: datetime,
                   facilitator_ids: Sequence[uuid.UUID | str], venue_id: uuid.UUID | str | None,
                   ) -> tuple[list[User], Venue | None]:
    """Field by field; returns the facilitators and the venue."""
    fields: dict[str, list[str]] = {}
    if kind not in SessionKind.__members__:
        fields["kind"] = [_("Choose what the session is for.")]
    if fmt not in SessionFormat.__members__:
        fields["format"] = [_("Choose how the session takes place.")]
    if start.tzinfo is None or end.tzinfo is None:
        fields["start"] = [_("Give times with their offset, for example 2027-03-10T09:00:00+01:00.")]
    elif not timedelta(minutes=15) <= end - start <= MAX_DURATION:
        fields["end"] = [_("A session lasts between 15 minutes and 8 hours.")]
    elif start < clock.now() + timedelta(hours=current_app.config["SLOT_NOTICE_HOURS"]):
        fields["start"] = [_("Sessions are booked at least 48 hours ahead.")]
    people = users_by_id(facilitator_ids)
    if not 1 <= len(facilitator_ids) <= 2 or len(set(map(str, facilitator_ids))) != len(facilitator_ids) or any(
            str(i) not in people or not people[str(i)].active or people[str(i)].role != Role.facilitator
            for i in facilitator_ids):
        fields["facilitator_ids"] = [_("Choose one or two active facilitators.")]
    elif kind == SessionKind.circle and {str(i) for i in facilitator_ids} != {str(i) for i in
                                                                               referral.facilitator_ids}:
        fields["facilitator_ids"] = [_("A circle is held by the referral's lead and co-facilitator.")]
    venue = None
    if fmt == SessionFormat.in_person:
        try:
            venue = db.session.get(Venue, uuid.UUID(str(venue_id))) if venue_id else None
        except ValueError:
            venue = None
        if venue is None or not venue.suits(kind):
            fields["venue_id"] = [_("Choose an open venue suited to this session.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    return [people[str(i)] for i in facilitator_ids], venue


def check_parties(referral: Referral, kind: str, fmt: str, start: datetime, venue: Venue | None,
                   interpreter: bool) -> None:
    """Consent for every party of the session; for a circle, the whole readiness gate on its date. Nothing is booked
    for a paused or ended referral (pausing and closing cancel what was booked: docs/state-machines.md)."""
    if kind != SessionKind.circle and referral.status not in ACTIVE:
        code = "referral_paused" if referral.status == ReferralStatus.paused else "referral_ended"
        raise Conflict(_("Nothing can be booked while the referral is paused or after it has ended."), {"code": code})
    if kind == SessionKind.circle:
        if unmet := unmet_for(CirclePlan(referral, fmt, start.date(), venue, interpreter)):
            raise GateFailed(_("The circle cannot be booked yet."), [item.as_dict() for item in unmet])
        return
    overview = consent_overview(referral)
    unmet = []
    if PartyRole.responsible_party in PARTIES_OF[kind] and not consent_gates.contact_allowed(overview):
        raise contact_gate_failure()
    for role in PARTIES_OF[kind]:
        if not consent_gates.participates(overview, role):
            code = "consent_survivor_participation" if role == PartyRole.survivor \
                else "consent_responsible_participation"
            unmet.append(Unmet(code, _("This party has not agreed to take part.")))
    if unmet:
        raise GateFailed(_("The session cannot be booked yet."), [item.as_dict() for item in unmet])


def _reserve(session: ScheduledSession, facilitators: list[User], venue: Venue | None) -> None:
    """Hold the facilitators and the venue; a clash with another active reservation is a Conflict."""
    held_from, held_to = held_span(session.starts_at, session.ends_at, stagger_for(session.kind, session.format))
    resources = [("facilitator", user.id) for user in facilitators] + ([("venue", venue.id)] if venue else [])
    clash = db.session.execute(
        select(Reservation.resource_type).where(
            Reservation.resource_id.in_([resource_id for _type, resource_id in resources]),
            Reservation.active.is_(True), Reservation.session_id != session.id,
            Reservation.starts_at < held_to, Reservation.ends_at > held_from)
    ).first()
    if clash is not None:
        raise _double_booking(clash[0])
    for resource_type, resource_id in resources:
        db.session.add(Reservation(session_id=session.id, resource_type=resource_type, resource_id=resource_id,
                                   starts_at=held_from, ends_at=held_to))
    try:
        db.session.flush()
    except IntegrityError:  # PostgreSQL's exclusion constraint: another booking won the race
        raise _double_booking("facilitator") from None


def _double_booking(resource_type: str) -> Conflict:
    message = (_("A facilitator is already booked at that time.") if resource_type == "facilitator"
               else _("The venue is already booked at that time."))
    return Conflict(message, {"code": "double_booking", "resource": resource_type})


def _place_participants(session: ScheduledSession, referral: Referral) -> None:
    """Invite the session's parties; at a joint in-person meeting the responsible party comes earlier."""
    stagger = stagger_for(session.kind, session.format)
    for role in PARTIES_OF[session.kind]:
        party = referral.require_party(role)
        early = stagger if role == PartyRole.responsible_party else timedelta(0)
        participant = db.session.get(SessionParticipant, (session.id, party.id)) or SessionParticipant(
            session_id=session.id, party_id=party.id, arrive_at=session.starts_at, leave_at=session.ends_at)
        participant.arrive_at, participant.leave_at = session.starts_at - early, session.ends_at + early
        participant.response, participant.responded_at = Response.pending, None
        db.session.add(participant)


def _invite(actor: Actor, session: ScheduledSession, referral: Referral, moved: bool = False) -> None:
    """Each party is told of the session, with its time in their zone, and gets a fresh private link to confirm or
    decline that lasts until after their last session (handed over in person if they have no address)."""
    for role in PARTIES_OF[session.kind]:
        party = referral.require_party(role)
        channel = LinkChannel.email if party.email else LinkChannel.sms if party.phone else None
        if channel is not None:
            issue_link(actor, referral, role, channel, message="session_invitation",
                       params={"session_id": str(session.id), "moved": moved})


@atomic
def book_session(actor: Actor, referral: Referral, *, kind: str, fmt: str, start: datetime, end: datetime,
                 facilitator_ids: Sequence[uuid.UUID | str], venue_id: uuid.UUID | str | None = None,
                 interpreter: bool = False) -> ScheduledSession:
    """Book a session; 409 on a clash or an unmet gate. A circle moves the referral to circle_scheduled."""
    require_booker(actor)
    facilitators, venue = _check_request(referral, kind, fmt, start, end, facilitator_ids, venue_id)
    check_parties(referral, kind, fmt, start, venue, interpreter)
    now = clock.now()
    session = ScheduledSession(referral_id=referral.id, kind=kind, format=fmt, starts_at=start.astimezone(UTC),
                               ends_at=end.astimezone(UTC), venue_id=venue.id if venue else None,
                               interpreter=interpreter, created_by_id=actor.id, created_at=now, updated_at=now)
    db.session.add(session)
    db.session.flush()
    for user in facilitators:
        db.session.add(SessionFacilitator(session_id=session.id, user_id=user.id))
    _reserve(session, facilitators, venue)
    _place_participants(session, referral)
    record(actor, "session.book", session, referral_id=referral.id,
           details={"kind": kind, "format": fmt})
    if kind == SessionKind.circle and referral.status in (ReferralStatus.preparation, ReferralStatus.ready):
        if referral.status == ReferralStatus.preparation:
            transition(actor, referral, ReferralStatus.ready, automatic=True)
        transition(actor, referral, ReferralStatus.circle_scheduled, automatic=True)
    _invite(actor, session, referral)
    notify_staff(facilitators, "session_booked", key=f"session_booked:{session.id}", referral=referral)
    return session




@atomic
def reschedule_session(actor: Actor, session: ScheduledSession, start: datetime, end: datetime,
                       fmt: str | None = None, venue_id: uuid.UUID | str | None = None) -> ScheduledSession:
    """Move a session: the same checks as booking, a higher SEQUENCE, fresh answers from the parties. It keeps its
    format and venue unless others are given (a venue only in person)."""
    require_booker(actor)
    require_upcoming(session)
    referral = get_row(Referral, session.referral_id)
    facilitators = facilitators_of(session)
    fmt = fmt or session.format
    venue_id = (venue_id or session.venue_id) if fmt == SessionFormat.in_person else None
    _, venue = _check_request(referral, session.kind, fmt, start, end, [u.id for u in facilitators], venue_id)
    check_parties(referral, session.kind, fmt, start, venue, session.interpreter)
    release_reservations(session)
    db.session.execute(delete(Reservation).where(Reservation.session_id == session.id)
                       .execution_options(synchronize_session=False))
    session.starts_at, session.ends_at = start.astimezone(UTC), end.astimezone(UTC)
    session.format, session.venue_id = fmt, venue.id if venue else None
    session.status, session.sequence, session.updated_at = SessionStatus.proposed, session.sequence + 1, clock.now()
    db.session.flush()
    _reserve(session, facilitators, venue)
    _place_participants(session, referral)
    record(actor, "session.reschedule", session, referral_id=referral.id, details={"format": fmt})
    _invite(actor, session, referral, moved=True)
    notify_staff(facilitators, "session_changed", key=f"session_changed:{session.id}:{session.sequence}",
                 referral=referral)
    return session





@atomic
def mark_held(actor: Actor, session: ScheduledSession, attended: list[str]) -> ScheduledSession:
    """Record that a session took place and who came; a held circle moves the referral to circle_held."""
    require_booker(actor)
    require_upcoming(session)
    if session.starts_at > clock.now():
        raise Conflict(_("A session is marked held only once it has started."), {"code": "not_started"})
    referral = get_row(Referral, session.referral_id)
    for participant in db.session.execute(
            select(SessionParticipant).where(SessionParticipant.session_id == session.id)).scalars():
        participant.attended = get_row(Party, participant.party_id).role in attended
    session.status, session.updated_at = SessionStatus.held, clock.now()
    release_reservations(session)
    record(actor, "session.held", session, referral_id=referral.id, details={"attended": sorted(attended)})
    if session.kind == SessionKind.circle and referral.status == ReferralStatus.circle_scheduled:
        transition(actor, referral, ReferralStatus.circle_held, automatic=True)
    return session


@atomic
def respond(party: Party, session_id: uuid.UUID | str, answer: str) -> ScheduledSession:
    """A party confirms or declines; the session is confirmed once every invited party confirmed."""
    if answer not in (Response.confirmed, Response.declined):
        raise InvalidRequest.field(_("Check the highlighted fields."), "response", _("Confirm or decline."))
    try:
        participant = db.session.get(SessionParticipant, (uuid.UUID(str(session_id)), party.id))
    except ValueError:
        participant = None
    if participant is None:
        raise NotFound(_("Not found."))
    session = db.session.get(ScheduledSession, participant.session_id)
    if session is None or session.status not in UPCOMING or session.starts_at <= clock.now():
        raise NotFound(_("Not found."))
    participant.response, participant.responded_at = answer, clock.now()
    db.session.flush()
    answers = db.session.execute(select(SessionParticipant.response)
                                 .where(SessionParticipant.session_id == session.id)).scalars().all()
    session.status = SessionStatus.confirmed if all(a == Response.confirmed for a in answers) \
        else SessionStatus.proposed
    referral = get_row(Referral, session.referral_id)
    record(party, f"session.{answer}", session, referral_id=referral.id)
    if answer == Response.declined:
        notify_staff(facilitators_of(session), "session_declined", key=f"session_declined:{new_id()}",
                     referral=referral)
    return session


def participants_of(session: ScheduledSession) -> list[SessionParticipant]:
    """The invited parties of a session."""
    return list(db.session.execute(select(SessionParticipant).where(SessionParticipant.session_id == session.id)
                                   ).scalars())


def sessions_of(referral: Referral) -> list[ScheduledSession]:
    """Every session of a referral, soonest first."""
    return list(db.session.execute(
        select(ScheduledSession).where(ScheduledSession.referral_id == referral.id)
        .order_by(ScheduledSession.starts_at)
    ).scalars())


def session_overview(referral: Referral) -> list[tuple[ScheduledSession, list[SessionParticipant], list[uuid.UUID]]]:
    """Each session of a referral with its participants and facilitator ids, in three statements."""
    sessions = sessions_of(referral)
    ids = [session.id for session in sessions]
    participants: dict[uuid.UUID, list[SessionParticipant]] = {i: [] for i in ids}
    facilitators: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        for participant in db.session.execute(
                select(SessionParticipant).where(SessionParticipant.session_id.in_(ids))).scalars():
            participants[participant.session_id].append(participant)
        for session_id, user_id in db.session.execute(
                select(SessionFacilitator.session_id, SessionFacilitator.user_id)
                .where(SessionFacilitator.session_id.in_(ids))).all():
            facilitators[session_id].append(user_id)
    return [(session, participants[session.id], facilitators[session.id]) for session in sessions]
