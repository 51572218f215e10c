"""The coordinator's queue: one task per event that needs a person (docs/design.md section 7a), and who is on call."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id


class TaskKind(StrEnum):
    """What needs attention (docs/api.md "The coordinator's queue")."""

    unsafe_report = "unsafe_report"
    consent_withdrawn = "consent_withdrawn"
    regrant_after_withdrawal = "regrant_after_withdrawal"
    circle_not_ready = "circle_not_ready"
    item_overdue = "item_overdue"
    message_parked = "message_parked"
    link_expiring = "link_expiring"
    erasure_due = "erasure_due"


class TaskState(StrEnum):
    """open -> done (acted on) or dismissed (with a reason)."""

    open = "open"
    done = "done"
    dismissed = "dismissed"


# The queue's order: an unsafe report before anything else, then by due time.
URGENT = 0
ROUTINE = 1

TASK_LABELS: dict[str, LazyString] = {
    TaskKind.unsafe_report: _l("Someone reported feeling unsafe"),
    TaskKind.consent_withdrawn: _l("Consent withdrawn"),
    TaskKind.regrant_after_withdrawal: _l("Consent granted again after a withdrawal: decide whether to reopen"),
    TaskKind.circle_not_ready: _l("A booked circle is no longer ready"),
    TaskKind.item_overdue: _l("An agreement item is overdue"),
    TaskKind.message_parked: _l("A message could not be sent"),
    TaskKind.link_expiring: _l("A secure link expires before a booked session"),
    TaskKind.erasure_due: _l("Personal data is due to be erased"),
}

STATE_LABELS: dict[str, LazyString] = {
    TaskState.open: _l("Open"),
    TaskState.done: _l("Done"),
    TaskState.dismissed: _l("Dismissed"),
}


class Task(SQLModel, table=True):
    """One thing a person must look at. It names no person: its kind, its referral and ids only."""

    __tablename__ = "tasks"
    __sealed_under__ = "referral_id"  # the note or reason, under the referral's key; a task may have no referral
    __table_args__ = (
        UniqueConstraint("kind", "source_key"),  # one event, one task: raising it again changes nothing
        Index("ix_tasks_state_priority_due_at", "state", "priority", "due_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(sa_type=String(32))
    source_key: str = Field(sa_type=String(200))
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referrals.id", index=True)
    subject_id: uuid.UUID | None = Field(default=None, index=True)  # what acting on closes it (a session, a message)
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # codes and counts only
    priority: int = ROUTINE
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=TaskState.open, sa_type=String(12))
    note_enc: str | None = Field(default=None, sa_type=String(4096))
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")

    note = sealed("note_enc")


ON_CALL_ID = uuid.UUID(int=1)  # the one row


class OnCall(SQLModel, table=True):
    """The programme's on-call coordinator: one row. An unsafe report reaches them at once by email and text."""

    __tablename__ = "on_call"

    id: uuid.UUID = Field(default=ON_CALL_ID, primary_key=True)
    coordinator_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    phone_enc: str | None = Field(default=None, sa_type=String(1024))  # sealed under the programme key
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")

    phone = sealed("phone_enc")
