"""The key store: each referral's own data key, wrapped by the programme keys (docs/design.md rules 8 and 11).

Its one table lives in the `keystore` schema (PostgreSQL) or the attached key file (SQLite), apart from the data, so
that backups of the data never carry a key (README.md "Backups"). Destroying a row's wrapped key makes every copy of
that referral's sealed values unreadable, wherever the copy is.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from coordinator.db import KEYSTORE_SCHEMA, UTCDateTime


class ReferralKey(SQLModel, table=True):
    """One referral's 256-bit data key, wrapped (AES-256-GCM) by the programme key named by `key_id`.

    After erasure `wrapped` and `key_id` are empty and `destroyed_at` says when; the row stays so that a late write
    for an erased referral is refused instead of sealed under a fresh key.
    """

    __tablename__ = "referral_keys"
    __table_args__ = {"schema": KEYSTORE_SCHEMA}

    # No foreign key: the referrals table is in another schema, or another file on SQLite.
    referral_id: uuid.UUID = Field(primary_key=True)
    key_id: str | None = Field(default=None, sa_type=String(16), index=True)
    wrapped: str | None = Field(default=None, sa_type=String(128))
    created_at: datetime = Field(sa_type=UTCDateTime)
    destroyed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def wrap_context(referral_id: uuid.UUID) -> str:
    """The associated data that ties a wrapped key to its referral."""
    return f"circlekeeper/v1/referral_keys/{referral_id}"
