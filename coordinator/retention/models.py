"""Legal holds, and the codes of the retention schedule: why a referral is erased, and what holds it back."""

import uuid
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id


class ErasureBasis(StrEnum):
    """Why a referral's personal data was erased."""

    closed = "closed"  # ended (completed, or closed for any reason but not_suitable) and kept its full period
    declined = "declined"  # closed as not suitable: the programme declined it, so it is kept for less time
    request = "request"  # a party asked, and a coordinator erased it through the same path


class HoldReason(StrEnum):
    """What postpones an erasure that is due."""

    legal_hold = "legal_hold"  # a coordinator set one, with a reason
    case_open = "case_open"  # the linked criminal case has not reached `closed`
    hearing_ahead = "hearing_ahead"  # the linked criminal case has a hearing today or later


BASIS_LABELS: dict[str, LazyString] = {
    ErasureBasis.closed: _l("Retention period after the referral ended"),
    ErasureBasis.declined: _l("Retention period after the referral was declined"),
    ErasureBasis.request: _l("Erased at a party's request"),
}


class LegalHold(SQLModel, table=True):
    """A coordinator's hold on a referral's erasure, with its reason; lifting it ends the hold, never deletes it."""

    __tablename__ = "legal_holds"
    __sealed_under__ = "referral_id"
    __table_args__ = (Index("ix_legal_holds_referral_id_lifted_at", "referral_id", "lifted_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    reason_enc: str | None = Field(default=None, sa_type=String(4000))
    set_by_id: uuid.UUID = Field(foreign_key="users.id")
    set_at: datetime = Field(sa_type=UTCDateTime)
    lifted_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    reason = sealed("reason_enc")
