"""The key store: each referral's own data key, wrapped by the programme keys (docs/design.md rules 8 and 11).

Its one table lives in the `keystore` schema (PostgreSQL) or the attached key file (SQLite), apart from the data, so
that backups of the data never carry a key (README.md "Backups"). Destroying a row's wrapped key makes every copy of
that referral's sealed values unreadable, wherever the copy is.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import Engine, String
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, SQLModel

from coordinator.db import KEYSTORE_SCHEMA, UTCDateTime

log = logging.getLogger(__name__)


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


def compact_key_store(engine: Engine) -> bool:
    """Make the database drop the old copies of destroyed keys from its own files; False if it could not now.

    A destroyed key is overwritten in the table, but PostgreSQL keeps the old row version until the table is
    rewritten (VACUUM FULL), and SQLite keeps old pages in its write-ahead log until a checkpoint truncates it (its
    key file also zeroes what it frees: `secure_delete`, coordinator/db.py).
    """
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("SET lock_timeout = '10s'")
                connection.exec_driver_sql(f"VACUUM FULL {KEYSTORE_SCHEMA}.referral_keys")
        else:
            raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
            try:
                raw.cursor().execute(f"PRAGMA {KEYSTORE_SCHEMA}.wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
    except DBAPIError:
        log.warning("the key store could not be compacted now; the next run tries again")
        return False
    return True
