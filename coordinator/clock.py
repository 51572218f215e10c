"""The service's one clock (docs/api.md `clock set`): real UTC time, shifted on demand outside production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from sqlmodel import Field, SQLModel

from coordinator.db import db


class ServiceClock(SQLModel, table=True):
    """A single row holding how far "now" is moved from real time (development and testing only)."""

    __tablename__ = "service_clock"

    id: int = Field(default=1, primary_key=True)
    offset_seconds: float


class ClockRefused(RuntimeError):
    """Moving time is refused in production."""


def now() -> datetime:
    """The current time, aware UTC, as every service must read it."""
    real = datetime.now(UTC)
    if not has_app_context() or current_app.config["ENV_NAME"] == "production":
        return real
    return real + _offset()


def today() -> date:
    """Today's date in the programme's time zone: due dates and hearing dates are the programme's days."""
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"] if has_app_context() else "UTC"
    return now().astimezone(ZoneInfo(zone)).date()


def _offset() -> timedelta:
    # Read once per application context (a request, a job run): one cheap query, never in production.
    if "clock_offset" not in g:
        row = db.session.get(ServiceClock, 1)
        g.clock_offset = timedelta(seconds=row.offset_seconds) if row else timedelta(0)
    return g.clock_offset


def set_clock(target: datetime) -> timedelta:
    """Move "now" to `target` for the web server, jobs and commands alike; returns the offset."""
    _refuse_in_production()
    if target.tzinfo is None:
        target = target.replace(tzinfo=UTC)
    offset = target - datetime.now(UTC)
    row = db.session.get(ServiceClock, 1) or ServiceClock(id=1, offset_seconds=0)
    row.offset_seconds = offset.total_seconds()
    db.session.add(row)
    db.session.flush()
    g.clock_offset = offset
    return offset


@contextmanager
def travel(target: datetime) -> Iterator[None]:
    """Inside the block, "now" is `target` for this app context only (development and testing): the demo and the
    test factories record a history as it would have happened, through the same services, without a shortcut."""
    _refuse_in_production()
    saved = g.pop("clock_offset", None)
    g.clock_offset = target - datetime.now(UTC)
    try:
        yield
    finally:
        g.pop("clock_offset", None)
        if saved is not None:
            g.clock_offset = saved


def clear_clock() -> None:
    """Return to real time."""
    _refuse_in_production()
    row = db.session.get(ServiceClock, 1)
    if row:
        db.session.delete(row)
        db.session.flush()
    g.clock_offset = timedelta(0)


def _refuse_in_production() -> None:
    if current_app.config["ENV_NAME"] == "production":
        raise ClockRefused("The clock cannot be moved in production.")
