"""Field encryption at rest (docs/design.md rules 8 and 11): AES-256-GCM per value, bound to its table, column and row.

Two kinds of key seal values. A referral's confidential values are sealed under that referral's own data key
(envelope encryption): a random 256-bit key, kept wrapped by the programme keys in the key store
(`coordinator/keystore.py`). Destroying it erases every copy of those values at once, backups included. Values that
belong to no referral (staff names, venue addresses, second-factor secrets) are sealed under the programme keys
(`COORDINATOR_ENCRYPTION_KEYS`, newest first) directly. Rotating the programme keys re-wraps the data keys and
re-seals only those few programme values.

A model says whose key seals its values with `__sealed_under__`: the name of the attribute holding its referral's id
(`"referral_id"`, or `"id"` on the referral itself), or `Via("parent_id", Parent)` when the row reaches its referral
through a parent row. A model without it is sealed under the programme keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import scoped_session
from sqlmodel import Session

from coordinator import clock
from coordinator.db import Row, db
from coordinator.keystore import ReferralKey, wrap_context

NONCE_BYTES = 12
ENVELOPE = "rk:"  # the prefix of a value sealed under its referral's data key; programme values start with a key id


class DecryptionError(RuntimeError):
    """A value cannot be opened: unknown key, or it was altered or moved to another row."""


class KeyDestroyed(DecryptionError):
    """The referral's data key was destroyed when its data was erased: its values can never be opened again."""


def key_id(key: bytes) -> str:
    """A short public name for a key, stored beside each value it sealed."""
    return hashlib.sha256(b"circlekeeper-key-id:" + key).hexdigest()[:16]


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Lenient decoding ignores stray characters and a last character's spare bits; an altered value must not open.
    if _b64encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _seal(aead: AESGCM, plaintext: bytes, context: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return _b64encode(nonce + aead.encrypt(nonce, plaintext, context.encode("utf-8")))


def _open(aead: AESGCM, body: str, context: str) -> bytes:
    try:
        raw = _b64decode(body)
        return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError("the value was altered or belongs to another row") from None


class Keyring:
    """The configured programme keys, newest first: the newest seals, any of them opens."""

    def __init__(self, keys: list[bytes]):
        self._keys = [(key_id(key), AESGCM(key)) for key in keys]
        self._by_id = dict(self._keys)

    @property
    def newest_id(self) -> str:
        """Key id of the key new values are sealed with."""
        return self._keys[0][0]

    def seal(self, plaintext: str, context: str) -> str:
        """Encrypt under the newest key; `context` (table/column/row) is authenticated, not stored."""
        kid, aead = self._keys[0]
        return f"{kid}:{_seal(aead, plaintext.encode('utf-8'), context)}"

    def open(self, sealed: str, context: str) -> str:
        """Decrypt a value sealed for exactly this context."""
        kid, _, body = sealed.partition(":")
        aead = self._by_id.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid!r}")
        return _open(aead, body, context).decode("utf-8")

    def key_id_of(self, sealed: str) -> str:
        """The id of the key a value was sealed with."""
        return sealed.partition(":")[0]

    def wrap(self, data_key: bytes, context: str) -> str:
        """A data key sealed under the newest programme key."""
        return self.seal(_b64encode(data_key), context)

    def unwrap(self, wrapped: str, context: str) -> bytes:
        """The data key inside a wrapped value."""
        return _b64decode(self.open(wrapped, context))


def keyring() -> Keyring:
    """The keyring of the current app."""
    return current_app.extensions["keyring"]


@dataclass(frozen=True)
class Via:
    """`__sealed_under__` of a row that reaches its referral through a parent row: `Via("agreement_id", Agreement)`."""

    attribute: str
    parent: type[Any]


@dataclass(frozen=True)
class SealedField:
    """Where one encrypted value lives: a model, its plaintext attribute and its ciphertext column."""

    # Any table model class with an `id` column: rotation orders and pages by `model.id` as a SQL expression.
    model: type[Any]
    attribute: str
    column: str

    @property
    def under_referral(self) -> bool:
        """Sealed under its referral's data key (rather than the programme keys)."""
        return getattr(self.model, "__sealed_under__", None) is not None


SEALED_FIELDS: list[SealedField] = []


def seal_context(table: str, column: str, row_id: object) -> str:
    """The associated data that ties a ciphertext to one cell."""
    return f"circlekeeper/v1/{table}/{column}/{row_id}"


def is_erased(value: str | None) -> bool:
    """An empty cell: never set, or cleared when its referral was erased (NOT NULL columns keep '')."""
    return not value


# --- data keys -----------------------------------------------------------------------------------------------------
# Opened data keys are cached on the session for its life, and forgotten on any rollback, so a key created in a
# transaction that did not commit is never used to seal a value.

def _cache() -> dict[uuid.UUID, AESGCM | None]:
    return db.session.info.setdefault("data_keys", {})


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_on_rollback(session: OrmSession, _previous: object) -> None:
    session.info.pop("data_keys", None)
    session.info.pop("referral_of", None)


def data_key(referral_id: uuid.UUID, *, create: bool = False) -> AESGCM:
    """The referral's data key, opened; with `create`, a new one when it has none yet."""
    cache = _cache()
    if referral_id not in cache:
        with db.session.no_autoflush:
            row = db.session.get(ReferralKey, referral_id)
        if row is None and not create:
            raise DecryptionError("this referral has no data key")
        if row is None:
            raw = os.urandom(32)
            db.session.add(ReferralKey(referral_id=referral_id, key_id=keyring().newest_id,
                                       wrapped=keyring().wrap(raw, wrap_context(referral_id)), created_at=clock.now()))
            cache[referral_id] = AESGCM(raw)
        else:
            cache[referral_id] = _unwrapped(row.referral_id, row.wrapped)
    aead = cache[referral_id]
    if aead is None:
        raise KeyDestroyed("this referral's data was erased: its key no longer exists")
    return aead


def _unwrapped(referral_id: uuid.UUID, wrapped: str | None) -> AESGCM | None:
    if wrapped is None:
        return None
    return AESGCM(keyring().unwrap(wrapped, wrap_context(referral_id)))


def keep_data_key(referral_id: uuid.UUID, row: ReferralKey | None) -> None:
    """Open a referral's key read by the caller's own statement (an outer join on `ReferralKey`), sparing a query."""
    cache = _cache()
    if row is not None and referral_id not in cache:
        cache[referral_id] = _unwrapped(row.referral_id, row.wrapped)


def preload_data_keys(referral_ids: Iterable[uuid.UUID]) -> None:
    """Open many referrals' keys in one query (for lists); missing ones are looked up one by one later."""
    cache = _cache()
    wanted = {referral_id for referral_id in referral_ids if referral_id not in cache}
    if wanted:
        # Two columns, not key objects: a list opens dozens of keys and needs nothing else of them.
        with db.session.no_autoflush:
            rows = db.session.execute(select(ReferralKey.referral_id, ReferralKey.wrapped)
                                      .where(ReferralKey.referral_id.in_(wanted)))
            for referral_id, wrapped in rows:
                cache[referral_id] = _unwrapped(referral_id, wrapped)


def forget_data_keys(referral_ids: Iterable[uuid.UUID]) -> None:
    """Mark keys destroyed in this session's cache (after erasure destroyed them in the store)."""
    cache = _cache()
    for referral_id in referral_ids:
        cache[referral_id] = None


def seal_under(referral_id: uuid.UUID, plaintext: str, context: str) -> str:
    """Encrypt under the referral's data key, creating the key with its first value."""
    return ENVELOPE + _seal(data_key(referral_id, create=True), plaintext.encode("utf-8"), context)


def open_value(value: str, context: str, referral_id: uuid.UUID | None) -> str:
    """Decrypt a stored value, under its referral's data key or a programme key as its prefix says."""
    if not value.startswith(ENVELOPE):
        return keyring().open(value, context)
    if referral_id is None:
        raise DecryptionError("the value is sealed under a referral's key, but its row names no referral")
    return _open(data_key(referral_id), value[len(ENVELOPE):], context).decode("utf-8")


def seal_value(referral_id: uuid.UUID | None, plaintext: str, context: str) -> str:
    """Encrypt under the referral's data key, or the programme keys for a value that belongs to no referral."""
    return seal_under(referral_id, plaintext, context) if referral_id else keyring().seal(plaintext, context)


def referral_id_of(row: Any) -> uuid.UUID | None:
    """The referral whose data key seals this row's values, from the model's `__sealed_under__`; None for none."""
    under = getattr(type(row), "__sealed_under__", None)
    if under is None:
        return None
    if isinstance(under, str):
        return getattr(row, under)
    parent_id = getattr(row, under.attribute)
    if parent_id is None:
        return None
    known: dict = db.session.info.setdefault("referral_of", {})
    key = (under.parent.__tablename__, parent_id)
    if key not in known:
        parent = next((obj for obj in db.session.new if type(obj) is under.parent and obj.id == parent_id), None)
        if parent is None:
            with db.session.no_autoflush:
                parent = db.session.get(under.parent, parent_id)
        if parent is None:
            return None
        known[key] = referral_id_of(parent)
    return known[key]


class sealed(property):  # noqa: N801 - a descriptor, named and used like `property`
    """A plaintext attribute over an encrypted column: `alias = sealed("alias_enc")`.

    On a row it reads and writes `str | None`; on the class it is the descriptor itself. It stays a `property`, which
    pydantic ignores, so it is neither a model field nor a column.
    The row's id (and its referral, see `__sealed_under__`) must be set before a value is assigned; models use
    client-side UUIDs, so the id always is.
    """

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.owner = owner
        SEALED_FIELDS.append(SealedField(owner, name, self.column))

    def _context(self, obj: Row) -> str:
        return seal_context(obj.__tablename__, self.column, obj.id)

    def read(self, value: str | None, row_id: uuid.UUID, referral_id: uuid.UUID | None) -> str | None:
        """The plaintext of a cell read by a column query (no row object built): `value` is the encrypted column of
        row `row_id`, sealed under `referral_id`'s data key (None: the programme keys, as `__sealed_under__` says)."""
        if value is None or is_erased(value):
            return None
        return open_value(value, seal_context(self.owner.__tablename__, self.column, row_id), referral_id)

    @overload
    def __get__(self, obj: None, owner: type | None = None, /) -> Self: ...

    @overload
    def __get__(self, obj: Row, owner: type | None = None, /) -> str | None: ...

    def __get__(self, obj: Row | None, owner: type | None = None, /) -> Self | str | None:
        if obj is None:
            return self
        value = getattr(obj, self.column)
        if is_erased(value):
            return None
        return open_value(value, self._context(obj), referral_id_of(obj))

    def __set__(self, obj: Row, plaintext: str | None, /) -> None:
        value = None if plaintext in (None, "") else seal_value(_sealing_referral(obj), plaintext, self._context(obj))
        setattr(obj, self.column, value)


def _sealing_referral(row: Any) -> uuid.UUID | None:
    """The referral to seal a new value under; refuses a row of a referral that cannot yet say which one it is."""
    referral_id = referral_id_of(row)
    under = getattr(type(row), "__sealed_under__", None)
    # Only a row whose referral column may be empty (a staff member's message) belongs to no referral.
    may_have_none = isinstance(under, str) and type(row).__table__.c[under].nullable
    if referral_id is None and under is not None and not may_have_none:
        raise ValueError(f"{type(row).__name__}: set its referral ({under}) before a sealed value, and add a "
                         "parent row to the session first, so the value is sealed under its referral's key")
    return referral_id


# --- rotation ------------------------------------------------------------------------------------------------------

def rewrap_data_keys(session: Session | scoped_session[Session], batch_size: int = 1000) -> int:
    """Re-wrap every live data key under the newest programme key; returns how many were re-wrapped.

    The values they seal are not touched: that is the point of envelope encryption.
    """
    ring = keyring()
    table = ReferralKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
    statement = (update(table).where(table.c.referral_id == bindparam("b_referral"))
                 .values(wrapped=bindparam("b_wrapped"), key_id=bindparam("b_key")))
    count = 0
    while True:
        rows = session.execute(
            select(ReferralKey.referral_id, ReferralKey.wrapped)
            .where(ReferralKey.wrapped.is_not(None), ReferralKey.key_id != ring.newest_id)
            .order_by(ReferralKey.referral_id).limit(batch_size)
        ).all()
        if not rows:
            break
        session.connection().execute(statement, [
            {"b_referral": referral_id, "b_key": ring.newest_id,
             "b_wrapped": ring.wrap(ring.unwrap(wrapped, wrap_context(referral_id)), wrap_context(referral_id))}
            for referral_id, wrapped in rows])
        count += len(rows)
    return count


def rotate_all(session: Session | scoped_session[Session], batch_size: int = 500) -> dict[str, int]:
    """Re-seal every value kept under the programme keys under the newest one; returns how many changed per table.

    Values sealed under a referral's data key are left alone (`rewrap_data_keys` re-wraps their keys).
    """
    ring = keyring()
    changed: dict[str, int] = {}
    models = {field.model for field in SEALED_FIELDS if not field.under_referral}
    for model in sorted(models, key=lambda m: m.__tablename__):
        fields = [field for field in SEALED_FIELDS if field.model is model]
        count = 0
        last_id = None
        while True:
            query = select(model).order_by(model.id).limit(batch_size)
            if last_id is not None:
                query = query.where(model.id > last_id)
            rows = session.execute(query).scalars().all()
            if not rows:
                break
            for row in rows:
                for field in fields:
                    value = getattr(row, field.column)
                    if not is_erased(value) and ring.key_id_of(value) != ring.newest_id:
                        setattr(row, field.attribute, getattr(row, field.attribute))
                        count += 1
            session.flush()
            last_id = rows[-1].id
        changed[model.__tablename__] = count
    return changed
