"""JSON routes for slots and sessions (docs/api.md "Scheduling")."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import Response as FlaskResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from coordinator.api import api_actor, api_blueprint
from coordinator.cases.service import booking_warnings
from coordinator.db import db
from coordinator.inputs import Day, Moment, QueryModel
from coordinator.referrals.models import Party, PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral
from coordinator.sessions import booking, cancellation
from coordinator.sessions.bookable import SlotRequest
from coordinator.sessions.calendar import session_ics
from coordinator.sessions.explain import find_a_time, search_args, search_page
from coordinator.sessions.models import ScheduledSession, SessionFormat, SessionKind, SessionStatus
from coordinator.sessions.search import Slot

bp = api_blueprint("sessions_api", __name__, "sessions")


class SlotQuery(QueryModel):
    """`GET /api/v1/referrals/{id}/slots`."""

    kind: SessionKind
    format: SessionFormat
    duration: int = Field(default=90, ge=15, le=480, description="minutes")
    from_: Day | None = Field(default=None, alias="from", description="first day to search (UTC), YYYY-MM-DD")
    to: Day | None = Field(default=None, description="last day to search (UTC), YYYY-MM-DD")
    limit: int = Field(default=10, ge=1, le=50)
    interpreter: bool = Field(default=False, description="an interpreter is booked")


class SlotOut(BaseModel):
    """One bookable option."""

    start: datetime
    end: datetime
    facilitator_ids: list[uuid.UUID]
    venue_id: uuid.UUID | None


class CauseOut(BaseModel):
    """Why no time was offered: a readiness or booking code (docs/design.md section 3), `language_unmatched`,
    `facilitator_unavailable`, `venue_unavailable`, `no_common_time`, `outside_horizon`; `fix` is the page that
    puts it right."""

    code: str
    message: str
    fix: str | None


class SlotSuggestionOut(BaseModel):
    """A change that gives times (`interpreter`, `format`, `longer_range`): the search with it, and the first time."""

    code: str
    message: str
    query: dict[str, str]
    count: int
    first: SlotOut


class SlotsOut(BaseModel):
    """The first times booking would accept, earliest first; when there are none, every cause and the single
    changes that would give times."""

    slots: list[SlotOut]
    explanation: list[CauseOut]
    suggestions: list[SlotSuggestionOut]


class SessionIn(Strict):
    """`POST /api/v1/referrals/{id}/sessions`."""

    kind: SessionKind
    format: SessionFormat
    start: Moment
    end: Moment
    facilitator_ids: list[uuid.UUID] = Field(min_length=1, max_length=2)
    venue_id: uuid.UUID | None = None
    interpreter: bool = False


class ParticipantOut(BaseModel):
    """A party invited to a session: their own times and answer."""

    party: PartyRole
    arrive_at: datetime
    leave_at: datetime
    response: str
    attended: bool | None


class SessionOut(BaseModel):
    """A session."""

    id: uuid.UUID
    referral_id: uuid.UUID
    kind: SessionKind
    format: SessionFormat
    status: SessionStatus
    start: datetime
    end: datetime
    facilitator_ids: list[uuid.UUID]
    venue_id: uuid.UUID | None
    sequence: int
    participants: list[ParticipantOut]


class WarningOut(BaseModel):
    """Something to weigh that does not block the booking, e.g. `near_trial`."""

    code: str
    message: str


class BookedSessionOut(SessionOut):
    """A booked session, with the warnings its booking raised (an empty list when none)."""

    warnings: list[WarningOut]


class SessionsOut(BaseModel):
    """A referral's sessions."""

    items: list[SessionOut]


class SessionPath(BaseModel):
    """A session's id in the path."""

    session_id: str


class CancelIn(Strict):
    """`POST /api/v1/sessions/{id}/cancel`."""

    reason: str | None = Field(default=None, max_length=32, description="a short code, e.g. party_request")


class RescheduleIn(Strict):
    """`POST /api/v1/sessions/{id}/reschedule`: the session keeps its format and venue unless others are given."""

    start: Moment
    end: Moment
    format: SessionFormat | None = None
    venue_id: uuid.UUID | None = None


class HeldIn(Strict):
    """`POST /api/v1/sessions/{id}/held`: which parties came."""

    attended: list[PartyRole] = Field(default_factory=list)


def session_json(session: ScheduledSession) -> dict:
    """The API shape of a session."""
    parties = dict(db.session.execute(select(Party.id, Party.role).where(Party.referral_id == session.referral_id)
                                      ).all())
    return SessionOut(
        id=session.id, referral_id=session.referral_id, kind=session.kind, format=session.format,
        status=session.status, start=session.starts_at, end=session.ends_at,
        facilitator_ids=[user.id for user in booking.facilitators_of(session)], venue_id=session.venue_id,
        sequence=session.sequence,
        participants=[ParticipantOut(party=parties[p.party_id], arrive_at=p.arrive_at, leave_at=p.leave_at,
                                     response=p.response, attended=p.attended)
                      for p in booking.participants_of(session)],
    ).model_dump(mode="json")


@bp.get("/referrals/<referral_id>/slots", responses={"200": SlotsOut})
def slots(path: ReferralPath, query: SlotQuery):
    """Times booking would accept: both facilitators (or, with none assigned, an eligible pair) and a venue free,
    and for a circle the readiness gate met on that date; when there are none, why, and what would give some."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    booking.require_booker(actor)
    request = SlotRequest(query.kind, query.format, timedelta(minutes=query.duration), query.from_, query.to,
                          query.limit, query.interpreter)
    answer = find_a_time(referral, request, search_page(referral.id))
    return {"slots": [slot_json(slot) for slot in answer.slots],
            "explanation": [cause.as_dict() for cause in answer.explanation],
            "suggestions": [SlotSuggestionOut(code=s.code, message=s.label, query=_query_of(s.request),
                                              count=len(s.slots), first=_slot_out(s.slots[0])).model_dump(mode="json")
                            for s in answer.suggestions]}


def _slot_out(slot: Slot) -> SlotOut:
    return SlotOut(start=slot.start, end=slot.end, facilitator_ids=list(slot.facilitator_ids), venue_id=slot.venue_id)


def slot_json(slot: Slot) -> dict:
    """A slot in the API's shape."""
    return _slot_out(slot).model_dump(mode="json")


def _query_of(request: SlotRequest) -> dict[str, str]:
    """A search as this endpoint's query parameters."""
    args = search_args(request)
    renamed = {"start_on": "from", "end_on": "to", "interpreter": "interpreter"}
    return {renamed.get(key, key): ("true" if key == "interpreter" else value) for key, value in args.items()}


@bp.post("/referrals/<referral_id>/sessions", responses={"201": BookedSessionOut})
def book(path: ReferralPath, body: SessionIn):
    """Book a session: 409 `conflict` on a clash, 409 `gate_failed` when the readiness gate fails.

    A circle in the 7 days before a trial hearing is booked with a `near_trial` warning.
    """
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    session = booking.book_session(actor, referral, kind=body.kind, fmt=body.format, start=body.start, end=body.end,
                                   facilitator_ids=body.facilitator_ids, venue_id=body.venue_id,
                                   interpreter=body.interpreter)
    warnings = booking_warnings(referral, session.kind, session.starts_at)
    return {**session_json(session), "warnings": [warning.as_dict() for warning in warnings]}, 201


@bp.get("/referrals/<referral_id>/sessions", responses={"200": SessionsOut})
def list_sessions(path: ReferralPath):
    """A referral's sessions, soonest first."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    booking.require_booker(actor)
    return {"items": [session_json(session) for session in booking.sessions_of(referral)]}


@bp.get("/sessions/<session_id>", responses={"200": SessionOut})
def get_session(path: SessionPath):
    """One session."""
    actor = api_actor()
    booking.require_booker(actor)
    return session_json(booking.load_session(actor, path.session_id))


@bp.post("/sessions/<session_id>/cancel", responses={"200": SessionOut})
def cancel(path: SessionPath, body: CancelIn):
    """Cancel; the parties and the facilitators are told."""
    actor = api_actor()
    return session_json(cancellation.cancel_session(actor, booking.load_session(actor, path.session_id), body.reason))


@bp.post("/sessions/<session_id>/reschedule", responses={"200": SessionOut})
def reschedule(path: SessionPath, body: RescheduleIn):
    """Move a session; the same checks as booking."""
    actor = api_actor()
    session = booking.load_session(actor, path.session_id)
    return session_json(booking.reschedule_session(actor, session, body.start, body.end, body.format, body.venue_id))


@bp.post("/sessions/<session_id>/held", responses={"200": SessionOut})
def held(path: SessionPath, body: HeldIn):
    """Record that the session took place and who came."""
    actor = api_actor()
    session = booking.load_session(actor, path.session_id)
    return session_json(booking.mark_held(actor, session, [role.value for role in body.attended]))


@bp.get("/sessions/<session_id>/ics")
def ics(path: SessionPath):
    """The session as an iCalendar file (text/calendar)."""
    actor = api_actor()
    booking.require_booker(actor)
    session = booking.load_session(actor, path.session_id)
    return FlaskResponse(session_ics(session), mimetype="text/calendar",
                         headers={"Content-Disposition": f'attachment; filename="session-{session.id}.ics"'})
