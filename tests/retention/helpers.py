"""Helpers for the data lifecycle's tests: referrals that ended, time that passes, and every stored row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import inspect, select, text

from coordinator import clock
from coordinator.cases.service import change_stage
from coordinator.clock import set_clock
from coordinator.crypto import SEALED_FIELDS, DecryptionError, Keyring, open_value, seal_context
from coordinator.db import KEYSTORE_SCHEMA, db
from coordinator.envelope import rows_of_referrals
from coordinator.keystore import ReferralKey
from coordinator.referrals.models import Referral
from coordinator.referrals.workflow import transition

# Past any retention period of the default schedule (24 months after a referral ended).
PAST_RETENTION = timedelta(days=800)


@dataclass
class Ended:
    """A referral closed by its coordinator."""

    id: object
    reference: str
    coordinator: object


def ended_referral(app, factory, *, reason: str = "other", case_stage: str | None = "closed", coordinator=None,
                   note: str = "Closed after a conversation with the programme", **overrides) -> Ended:
    """A referral received, then closed by a coordinator (with `reason` and a note), its criminal case moved to
    `case_stage`."""
    coordinator = coordinator or factory.user("coordinator")
    referral = factory.referral(by=coordinator, **overrides)
    with app.app_context():
        actor, stored = db.session.merge(coordinator), db.session.get(Referral, referral.id)
        transition(actor, stored, "closed", reason=reason, note=note)
        if case_stage:
            change_stage(actor, stored, case_stage)
        db.session.commit()
    return Ended(referral.id, referral.reference, coordinator)


def pass_time(app, delta: timedelta) -> None:
    """Move the service's clock (pages, jobs and commands alike) forward by `delta`."""
    with app.app_context():
        set_clock(clock.now() + delta)
        db.session.commit()


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, the key store's included, in a stable order."""
    tables = {}
    with app.extensions["db_engine"].connect() as connection:
        inspector = inspect(connection)
        names = [(None, name) for name in inspector.get_table_names()]
        names += [(KEYSTORE_SCHEMA, name) for name in inspector.get_table_names(schema=KEYSTORE_SCHEMA)]
        for schema, name in names:
            qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
            rows = connection.execute(text(f"SELECT * FROM {qualified}")).all()
            tables[qualified] = sorted(tuple(str(value) for value in row) for row in rows)
    return tables


def sealed_cells_of(app, referral_id) -> list[tuple[str, str, str, str]]:
    """Every filled sealed cell of the referral's rows, as (table, column, row id, ciphertext)."""
    with app.app_context():
        from_owned = []
        for field in SEALED_FIELDS:
            if not field.under_referral:
                continue
            column = getattr(field.model, field.column)
            rows = db.session.execute(select(field.model.id, column)
                                      .where(rows_of_referrals(field.model, [referral_id]), column.is_not(None),
                                             column != "")).all()
            from_owned += [(field.model.__tablename__, field.column, str(row_id), value) for row_id, value in rows]
        return from_owned


def openable_with_remaining_keys(app, cells) -> list[tuple[str, str, str]]:
    """The cells that any key still in existence opens: every live data key, and every programme key."""
    opened = []
    with app.app_context():
        ring: Keyring = app.extensions["keyring"]
        live = [row.referral_id for row in db.session.execute(select(ReferralKey)).scalars() if row.wrapped]
        for table, column, row_id, value in cells:
            context = seal_context(table, column, row_id)
            for referral_id in live:
                try:
                    open_value(value, context, referral_id)
                except DecryptionError:
                    continue
                opened.append((table, column, row_id))
            try:
                ring.open(value.removeprefix("rk:"), context)
            except DecryptionError:
                continue
            opened.append((table, column, row_id))
    return opened
