"""Secure links for the parties and the short portal sessions they open (docs/design.md section 5)."""

import uuid
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime, new_id


class LinkChannel(StrEnum):
    """How a link reaches its party."""

    email = "email"
    sms = "sms"
    handover = "handover"


CHANNEL_LABELS: dict[str, LazyString] = {
    LinkChannel.email: _l("By email"),
    LinkChannel.sms: _l("By text message"),
    LinkChannel.handover: _l("Handed over in person (link and QR code shown once)"),
}


class SecureLink(SQLModel, table=True):
    """A 256-bit random token bound to one party of one referral; only its SHA-256 is stored."""

    __tablename__ = "secure_links"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    party_id: uuid.UUID = Field(foreign_key="parties.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    channel: str = Field(sa_type=String(12))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pin_hash: str | None = Field(default=None, sa_type=String(255))
    pin_failures: int = 0
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def usable(self, now: datetime) -> bool:
        """Neither expired, revoked nor locked."""
        return self.revoked_at is None and self.locked_at is None and self.expires_at > now


class PortalSession(SQLModel, table=True):
    """A party's 30-minute session, opened by a link's continue button; the cookie carries only its token."""

    __tablename__ = "portal_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    link_id: uuid.UUID = Field(foreign_key="secure_links.id", index=True)
    party_id: uuid.UUID = Field(foreign_key="parties.id")
    token_hash: str = Field(sa_type=String(64), unique=True)
    language: str = Field(sa_type=String(8))
    started_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
