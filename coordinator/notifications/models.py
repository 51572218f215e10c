"""The outbox of outgoing messages and the staff's in-app notices (docs/design.md section 6)."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, Index, String
from sqlmodel import Field, SQLModel

from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id


class Channel(StrEnum):
    """How a message leaves the service."""

    email = "email"
    sms = "sms"


class DeliveryStatus(StrEnum):
    """Where a message stands: queued -> sending -> sent, or parked after too many failures."""

    queued = "queued"
    sending = "sending"
    sent = "sent"
    parked = "parked"
    discarded = "discarded"


DELIVERY_LABELS: dict[str, LazyString] = {
    DeliveryStatus.queued: _l("Waiting to be sent"),
    DeliveryStatus.sending: _l("Being sent"),
    DeliveryStatus.sent: _l("Sent"),
    DeliveryStatus.parked: _l("Could not be sent"),
    DeliveryStatus.discarded: _l("Discarded"),
}


class OutboxMessage(SQLModel, table=True):
    """One message to one recipient, written in the transaction of the change that causes it.

    It holds ids and codes only: the address is looked up when it is sent, and a secret link (a party's secure
    link) is kept encrypted and wiped once the message is sent or discarded.
    """

    __tablename__ = "outbox_messages"
    __sealed_under__ = "referral_id"  # a party's link, under the referral's key; a staff message has no referral
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    idempotency_key: str = Field(sa_type=String(200), unique=True)
    channel: str = Field(sa_type=String(8))
    template: str = Field(sa_type=String(48))
    recipient_kind: str = Field(sa_type=String(8))
    recipient_id: uuid.UUID
    referral_id: uuid.UUID | None = Field(default=None, index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    link_enc: str | None = Field(default=None, sa_type=String(2048))
    status: str = Field(default=DeliveryStatus.queued, sa_type=String(12))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(128))
    last_error: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    link = sealed("link_enc")


class StaffNotice(SQLModel, table=True):
    """An in-app notification for one staff member: the bell counts the unread ones."""

    __tablename__ = "staff_notices"
    __table_args__ = (
        Index("ix_staff_notices_user_id_read_at", "user_id", "read_at"),
        Index("ix_staff_notices_user_id_created_at", "user_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    key: str = Field(sa_type=String(200), unique=True)  # the same notice is never shown twice
    user_id: uuid.UUID = Field(foreign_key="users.id")
    template: str = Field(sa_type=String(48))
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    referral_id: uuid.UUID | None = Field(default=None, foreign_key="referrals.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
