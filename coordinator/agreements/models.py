"""Agreements reached in a circle: their items, each party's acceptance and the progress on every item."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_babel.speaklater import LazyString
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.crypto import Via, sealed
from coordinator.db import UTCDateTime, new_id


class AgreementStatus(StrEnum):
    """draft -> active -> completed / not_completed (docs/design.md section 2)."""

    draft = "draft"
    active = "active"
    completed = "completed"
    not_completed = "not_completed"


class ItemKind(StrEnum):
    """What a party commits to."""

    apology = "apology"
    restitution = "restitution"
    service = "service"
    programme = "programme"
    no_contact = "no_contact"
    other = "other"


class ItemStatus(StrEnum):
    """Where an item stands; `missed` can still be completed or waived later."""

    open = "open"
    completed = "completed"
    missed = "missed"
    waived = "waived"


class AcceptanceMethod(StrEnum):
    """How a party's acceptance reached us."""

    secure_link = "secure_link"
    in_person = "in_person"
    via_advocate = "via_advocate"


DONE = (ItemStatus.completed, ItemStatus.waived)

# A context keeps these apart from the same English words said of referrals (gender and part of speech differ).
AGREEMENT_STATUS_LABELS: dict[str, LazyString] = {
    AgreementStatus.draft: lazy_pgettext("agreement", "Draft"),
    AgreementStatus.active: lazy_pgettext("agreement", "Active"),
    AgreementStatus.completed: lazy_pgettext("agreement", "Completed"),
    AgreementStatus.not_completed: lazy_pgettext("agreement", "Not completed"),
}

ITEM_KIND_LABELS: dict[str, LazyString] = {
    ItemKind.apology: _l("Apology"),
    ItemKind.restitution: _l("Restitution"),
    ItemKind.service: _l("Service"),
    ItemKind.programme: _l("Programme"),
    ItemKind.no_contact: _l("No contact"),
    ItemKind.other: _l("Other"),
}

ITEM_STATUS_LABELS: dict[str, LazyString] = {
    ItemStatus.open: lazy_pgettext("agreement item", "Open"),
    ItemStatus.completed: lazy_pgettext("agreement item", "Completed"),
    ItemStatus.missed: lazy_pgettext("agreement item", "Missed"),
    ItemStatus.waived: lazy_pgettext("agreement item", "Waived"),
}

ACCEPTANCE_METHOD_LABELS: dict[str, LazyString] = {
    AcceptanceMethod.secure_link: _l("Through their secure link"),
    AcceptanceMethod.in_person: _l("In person"),
    AcceptanceMethod.via_advocate: _l("Through an advocate"),
}


class Agreement(SQLModel, table=True):
    """An agreement of a referral; `version` rises whenever a draft's items are rewritten.

    A referral has one at a time, the newest: another is drafted only after the last one ended and the referral,
    reopened, held a new circle.
    """

    __tablename__ = "agreements"
    __sealed_under__ = "referral_id"  # no sealed value of its own; its items reach their referral's key through it
    __table_args__ = (Index("ix_agreements_referral_id_created_at", "referral_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    status: str = Field(default=AgreementStatus.draft, sa_type=String(16), index=True)
    version: int = 1
    drafted_by_id: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AgreementItem(SQLModel, table=True):
    """One commitment; restitution carries the amount due, paid in instalments recorded as progress."""

    __tablename__ = "agreement_items"
    __sealed_under__ = Via("agreement_id", Agreement)
    __table_args__ = (Index("ix_agreement_items_status_due_on", "status", "due_on"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    agreement_id: uuid.UUID = Field(foreign_key="agreements.id", index=True)
    position: int
    kind: str = Field(sa_type=String(16))
    description_enc: str | None = Field(default=None, sa_type=String(8000), nullable=False)
    due_on: date | None = None
    amount_cents: int | None = None
    currency: str | None = Field(default=None, sa_type=String(3))
    paid_cents: int = 0
    status: str = Field(default=ItemStatus.open, sa_type=String(12))
    overdue_notified_on: date | None = None  # the due date last reported overdue, so the job tells it once

    description = sealed("description_enc")


class ItemProgress(SQLModel, table=True):
    """One entry of an item's progress: a status change, an instalment paid, or both, with a note."""

    __tablename__ = "agreement_item_progress"
    __sealed_under__ = Via("item_id", AgreementItem)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    item_id: uuid.UUID = Field(foreign_key="agreement_items.id", index=True)
    status: str = Field(sa_type=String(12))
    paid_cents: int | None = None
    note_enc: str | None = Field(default=None, sa_type=String(8000))
    recorded_by_id: uuid.UUID = Field(foreign_key="users.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)

    note = sealed("note_enc")


class Acceptance(SQLModel, table=True):
    """A party's acceptance of one version of the agreement; both parties on the same version activate it."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (UniqueConstraint("agreement_id", "version", "party_role"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    agreement_id: uuid.UUID = Field(foreign_key="agreements.id")
    version: int
    party_role: str = Field(sa_type=String(24))
    method: str = Field(sa_type=String(16))
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    accepted_at: datetime = Field(sa_type=UTCDateTime)
