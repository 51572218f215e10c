"""Field encryption at rest (docs/design.md rule 8): AES-256-GCM per value, bound to its table, column and row."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Self, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import scoped_session
from sqlmodel import Session

from coordinator.db import Row

NONCE_BYTES = 12


class DecryptionError(RuntimeError):
    """A value cannot be opened: unknown key, or it was altered or moved to another row."""


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


class Keyring:
    """The configured keys, newest first: the newest seals, any of them opens."""

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
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{kid}:{_b64encode(nonce + ciphertext)}"

    def open(self, sealed: str, context: str) -> str:
        """Decrypt a value sealed for exactly this context."""
        kid, _, body = sealed.partition(":")
        aead = self._by_id.get(kid)
        if aead is None:
            raise DecryptionError(f"no configured key has id {kid!r}")
        try:
            raw = _b64decode(body)
            plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError("the value was altered or belongs to another row") from None
        return plaintext.decode("utf-8")

    def key_id_of(self, sealed: str) -> str:
        """The id of the key a value was sealed with."""
        return sealed.partition(":")[0]


def keyring() -> Keyring:
    """The keyring of the current app."""
    return current_app.extensions["keyring"]


@dataclass(frozen=True)
class SealedField:
    """Where one encrypted value lives: a model, its plaintext attribute and its ciphertext column."""

    # Any table model class with an `id` column: `rotate_all` orders and pages by `model.id` as a SQL expression.
    model: type[Any]
    attribute: str
    column: str


SEALED_FIELDS: list[SealedField] = []


def seal_context(table: str, column: str, row_id: object) -> str:
    """The associated data that ties a ciphertext to one cell."""
    return f"circlekeeper/v1/{table}/{column}/{row_id}"


class sealed(property):  # noqa: N801 - a descriptor, named and used like `property`
    """A plaintext attribute over an encrypted column: `alias = sealed("alias_enc")`.

    On a row it reads and writes `str | None`; on the class it is the descriptor itself. It stays a `property`, which
    pydantic ignores, so it is neither a model field nor a column.
    The row's id must be set before a value is assigned; models use client-side UUIDs, so it always is.
    """

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def __set_name__(self, owner: type[Any], name: str) -> None:
        SEALED_FIELDS.append(SealedField(owner, name, self.column))

    def _context(self, obj: Row) -> str:
        return seal_context(obj.__tablename__, self.column, obj.id)

    @overload
    def __get__(self, obj: None, owner: type | None = None, /) -> Self: ...

    @overload
    def __get__(self, obj: Row, owner: type | None = None, /) -> str | None: ...

    def __get__(self, obj: Row | None, owner: type | None = None, /) -> Self | str | None:
        if obj is None:
            return self
        value = getattr(obj, self.column)
        return None if value is None else keyring().open(value, self._context(obj))

    def __set__(self, obj: Row, plaintext: str | None, /) -> None:
        value = None if plaintext in (None, "") else keyring().seal(plaintext, self._context(obj))
        setattr(obj, self.column, value)


def rotate_all(session: Session | scoped_session[Session], batch_size: int = 500) -> dict[str, int]:
    """Re-seal every encrypted value under the newest key; returns how many values changed per table."""
    ring = keyring()
    changed: dict[str, int] = {}
    models = {field.model for field in SEALED_FIELDS}
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
                    if value is not None and ring.key_id_of(value) != ring.newest_id:
                        setattr(row, field.attribute, getattr(row, field.attribute))
                        count += 1
            session.flush()
            last_id = rows[-1].id
        changed[model.__tablename__] = count
    return changed
