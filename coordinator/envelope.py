"""Referrals' sealed values in SQL: which rows belong to which referral, moving values from the programme keys to
their referral's data key (`keys migrate-to-envelope`), and clearing them when a referral is erased.

Which referral a row belongs to is its model's `__sealed_under__` (coordinator/crypto.py); everything here is built
from that one declaration, so a sealed field added to a referral's model is migrated and erased with no change here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, or_, select, update

from coordinator import clock
from coordinator.crypto import ENVELOPE, SEALED_FIELDS, Via, forget_data_keys, keyring, preload_data_keys, seal_context
from coordinator.crypto import seal_value as seal
from coordinator.db import db
from coordinator.keystore import ReferralKey


def owned_models() -> list[Any]:
    """The models whose sealed values belong to a referral, by table name."""
    models = {field.model for field in SEALED_FIELDS if field.under_referral}
    return sorted(models, key=lambda model: model.__tablename__)


def fields_of(model: Any) -> list[str]:
    """The ciphertext columns of a model."""
    return [field.column for field in SEALED_FIELDS if field.model is model]


def referral_of(model: Any) -> tuple[Any, list[tuple[Any, ColumnElement[bool]]]]:
    """The SQL expression of a model's referral id, and the joins it needs."""
    under = model.__sealed_under__
    if isinstance(under, str):
        return getattr(model, under), []
    column, joins = referral_of(under.parent)
    return column, [(under.parent, getattr(model, under.attribute) == under.parent.id), *joins]


def _joined(model: Any, *columns: Any) -> Select:
    """SELECT `columns` from `model` joined to whatever names its referral."""
    _column, joins = referral_of(model)
    query = select(*columns).select_from(model)
    for parent, onclause in joins:
        query = query.join(parent, onclause)
    return query


def with_referral(model: Any, *columns: Any) -> Select:
    """SELECT `columns` and, last, the row's referral id (`referral_id`)."""
    return _joined(model, *columns, referral_of(model)[0].label("referral_id"))


def rows_of_referrals(model: Any, referral_ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """A WHERE clause for `model`'s rows that belong to one of the referrals."""
    under = model.__sealed_under__
    if isinstance(under, str):
        return getattr(model, under).in_(referral_ids)
    if not isinstance(under, Via):
        return false()
    parents = select(under.parent.id).where(rows_of_referrals(under.parent, referral_ids))
    return getattr(model, under.attribute).in_(parents)


def _legacy(model: Any) -> ColumnElement[bool]:
    """Rows with a value still sealed under the programme keys, for a row that does name a referral."""
    column, _joins = referral_of(model)
    cells = [and_(getattr(model, name).is_not(None), getattr(model, name) != "",
                  getattr(model, name).not_like(ENVELOPE + "%")) for name in fields_of(model)]
    return and_(column.is_not(None), or_(*cells))


def count_legacy() -> dict[str, int]:
    """How many rows per table still hold a referral's value under the programme keys (before the migration)."""
    counts = {}
    for model in owned_models():
        counts[model.__tablename__] = db.session.execute(
            _joined(model, func.count()).where(_legacy(model))).scalar_one()
    return counts


@dataclass(frozen=True)
class Progress:
    """Where a batched run stands in one table."""

    table: str
    done: int
    total: int


def migrate_to_envelope(batch_size: int = 500) -> Iterator[Progress]:
    """Re-seal every referral's values under its own data key, in batches; yields after each batch is flushed.

    The caller commits at each yield. What is already moved is skipped, so a run stopped anywhere (a crash
    included) continues where it stopped when started again, and a finished run does nothing.
    """
    ring = keyring()
    for model in owned_models():
        table, columns = model.__tablename__, fields_of(model)
        total = db.session.execute(_joined(model, func.count()).where(_legacy(model))).scalar_one()
        statement = (update(model.__table__).where(model.__table__.c.id == bindparam("b_id"))
                     .values({column: bindparam(f"b_{column}") for column in columns}))
        done, last_id = 0, None
        while done < total:
            query = with_referral(model, model.id, *(getattr(model, column) for column in columns))
            query = query.where(_legacy(model)).order_by(model.id).limit(batch_size)
            if last_id is not None:
                query = query.where(model.id > last_id)
            rows = db.session.execute(query).all()
            if not rows:
                break
            preload_data_keys({row.referral_id for row in rows})
            changes = []
            for row in rows:
                change = {"b_id": row.id}
                for column, value in zip(columns, row[1:-1], strict=True):
                    if value and not value.startswith(ENVELOPE):
                        context = seal_context(table, column, row.id)
                        value = seal(row.referral_id, ring.open(value, context), context)
                    change[f"b_{column}"] = value
                changes.append(change)
            db.session.flush()  # the new data keys first
            db.session.connection().execute(statement, changes)
            done, last_id = done + len(rows), rows[-1].id
            yield Progress(table, done, total)


def clear_values(referral_ids: Collection[uuid.UUID]) -> int:
    """Empty every sealed cell of these referrals (NULL, or '' where the column may not be NULL); returns rows."""
    cleared = 0
    for model in owned_models():
        values = {column: (None if model.__table__.c[column].nullable else "") for column in fields_of(model)}
        result = db.session.execute(update(model).where(rows_of_referrals(model, referral_ids)).values(values)
                                    .execution_options(synchronize_session=False))
        cleared += getattr(result, "rowcount", 0) or 0
    owned = {model: fields_of(model) for model in owned_models()}
    for row in list(db.session.identity_map.values()):  # rows already loaded forget what was just emptied
        if columns := owned.get(type(row)):
            db.session.expire(row, columns)
    return cleared


def destroy_data_keys(referral_ids: Collection[uuid.UUID]) -> None:
    """Destroy these referrals' data keys in the key store: every copy of their sealed values is now unreadable.

    A referral with no key yet gets a destroyed one, so that nothing can ever be sealed for it again.
    """
    now = clock.now()
    db.session.execute(update(ReferralKey).where(ReferralKey.referral_id.in_(referral_ids),
                                                 ReferralKey.destroyed_at.is_(None))
                       .values(wrapped=None, key_id=None, destroyed_at=now)
                       .execution_options(synchronize_session=False))
    present = set(db.session.execute(select(ReferralKey.referral_id)
                                     .where(ReferralKey.referral_id.in_(referral_ids))).scalars())
    db.session.add_all(ReferralKey(referral_id=referral_id, created_at=now, destroyed_at=now)
                       for referral_id in set(referral_ids) - present)
    db.session.flush()
    forget_data_keys(referral_ids)
