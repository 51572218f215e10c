"""Sessions with the parties: preparation meetings, the circle itself and follow-ups (docs/design.md section 4)."""

import uuid
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime, new_id
from coordinator.referrals.models import PartyRole


class SessionKind(StrEnum):
    """What a session is for; only `circle` brings the parties together."""

    pre_conference_survivor = "pre_conference_survivor"
    pre_conference_responsible = "pre_conference_responsible"
    circle = "circle"
    follow_up = "follow_up"

class SessionFormat(StrEnum):
    """How the session takes place."""

    in_person = "in_person"
    video = "video"
    shuttle = "shuttle"
    letter = "letter"

class SessionStatus(StrEnum):
    """Where a session stands."""

    proposed = "proposed"
    confirmed = "confirmed"
    held = "held"
    cancelled = "cancelled"


UPCOMING = (SessionStatus.proposed, SessionStatus.confirmed)

# Who each kind of session invites.
PARTIES_OF: dict[str, tuple[PartyRole, ...]] = {
    SessionKind.pre_conference_survivor: (PartyRole.survivor,),
    SessionKind.pre_conference_responsible: (PartyRole.responsible_party,),
    SessionKind.circle: (PartyRole.survivor, PartyRole.responsible_party),
    SessionKind.follow_up: (PartyRole.survivor, PartyRole.responsible_party),
}

KIND_LABELS: dict[str, LazyString] = {
    SessionKind.pre_conference_survivor: _l("Preparation meeting with the survivor"),
    SessionKind.pre_conference_responsible: _l("Preparation meeting with the responsible party"),
    SessionKind.circle: _l("Circle"),
    SessionKind.follow_up: _l("Follow-up"),
}

FORMAT_LABELS: dict[str, LazyString] = {
    SessionFormat.in_person: _l("In person"),
    SessionFormat.video: _l("By video"),
    SessionFormat.shuttle: _l("Shuttle (facilitators pass messages)"),
    SessionFormat.letter: _l("Letter"),
}

SESSION_STATUS_LABELS: dict[str, LazyString] = {
    SessionStatus.proposed: _l("Proposed"),
    SessionStatus.confirmed: _l("Confirmed"),
    SessionStatus.held: _l("Held"),
    SessionStatus.cancelled: _l("Cancelled"),
}

class ScheduledSession(SQLModel, table=True):
    """One session of a referral; `sequence` rises on every change, as calendar files require."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_referral_id_starts_at", "referral_id", "starts_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    kind: str = Field(sa_type=String(32))
    format: str = Field(sa_type=String(16))
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=SessionStatus.proposed, sa_type=String(12))
    sequence: int = 0
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, sa_type=String(32))
    venue_id: uuid.UUID | None = Field(default=None, foreign_key="venues.id")
    interpreter: bool = False
    ical_uid: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)  # random: it says nothing of the case
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

class SessionFacilitator(SQLModel, table=True):
    """A facilitator of a session."""

    __tablename__ = "session_facilitators"

    session_id: uuid.UUID = Field(foreign_key="sessions.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, index=True)

class Response(StrEnum):
    """A participant's answer to an invitation."""

    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"


RESPONSE_LABELS: dict[str, LazyString] = {
    Response.pending: _l("not answered yet"),
    Response.confirmed: _l("confirmed"),
    Response.declined: _l("declined"),
}

class SessionParticipant(SQLModel, table=True):
    """A party invited to a session, with their own arrival and departure (staggered for joint meetings)."""

    __tablename__ = "session_participants"

    session_id: uuid.UUID = Field(foreign_key="sessions.id", primary_key=True)
    party_id: uuid.UUID = Field(foreign_key="parties.id", primary_key=True, index=True)
    arrive_at: datetime = Field(sa_type=UTCDateTime)
    leave_at: datetime = Field(sa_type=UTCDateTime)
    response: str = Field(default=Response.pending, sa_type=String(12))
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool | None = None

class Reservation(SQLModel, table=True):
    """A facilitator's or a venue's time held by an active session, buffer included.

    PostgreSQL refuses overlapping active reservations of one resource with an exclusion constraint (see the
    migration); on SQLite the booking transaction, serialized by BEGIN IMMEDIATE, checks before it inserts.
    """

    __tablename__ = "session_reservations"
    __table_args__ = (Index("ix_session_reservations_resource_id_starts_at", "resource_id", "starts_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="sessions.id", index=True)
    resource_type: str = Field(sa_type=String(12))
    resource_id: uuid.UUID
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    active: bool = True

# The circle as the prosecution's view names it.
CIRCLE_STATUS_LABELS: dict[str, LazyString] = {
    "not_scheduled": _l("No circle scheduled"),
    "scheduled": _l("Circle scheduled"),
    "held": _l("Circle held"),
    "cancelled": _l("Circle cancelled"),
}

class PartyUnavailability(SQLModel, table=True):
    """A time a party has said they cannot attend; slot search avoids it."""

    __tablename__ = "party_unavailability"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    party_id: uuid.UUID = Field(foreign_key="parties.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)

class CalendarFeed(SQLModel, table=True):
    """A facilitator's private calendar feed: the URL carries a token stored here only as its hash."""

    __tablename__ = "calendar_feeds"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
