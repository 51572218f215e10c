"""The scheduler process (`flask --app app scheduler`): one active instance at a time, any others on standby.

The active instance holds a database lock: a PostgreSQL advisory lock, held by a connection that dies with the
process, or on SQLite a lease row it renews. A standby instance polls for the lock and takes over once the
active one is gone. Leases run on real time, never on the service clock, which tests and demos may move.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import Connection, Engine, String, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime, db, new_id

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("coordinator.scheduler")
ADVISORY_LOCK_KEY = 0x436B5363  # "CkSc": one constant per service, shared by every scheduler process


@dataclass(frozen=True)
class Job:
    """A job and its schedule: every N seconds (from the configuration) or daily at a UTC time."""

    id: str
    description: str
    run: Callable[[], str | None]
    every: Callable[[Mapping], int] | None = None
    daily_at: tuple[int, int] | None = None
    misfire_grace_seconds: int = 60

    def trigger(self, config: Mapping[str, Any]) -> IntervalTrigger | CronTrigger:
        """The APScheduler trigger."""
        from apscheduler.triggers.cron import CronTrigger  # noqa: PLC0415 -- only the scheduler process needs it
        from apscheduler.triggers.interval import IntervalTrigger  # noqa: PLC0415 -- only the scheduler process needs it

        if self.every is not None:
            return IntervalTrigger(seconds=self.every(config), timezone=UTC)
        hour, minute = self._daily_time()
        return CronTrigger(hour=hour, minute=minute, timezone=UTC)

    def last_due(self, now: datetime) -> datetime | None:
        """For a daily job, the latest time it was due at or before `now`."""
        if self.daily_at is None:
            return None
        hour, minute = self.daily_at
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return due if due <= now else due - timedelta(days=1)

    def schedule(self, config: Mapping) -> str:
        """The schedule in words, for `jobs list`."""
        if self.every is not None:
            return f"every {self.every(config)} s"
        return "daily at {:02d}:{:02d} UTC".format(*self._daily_time())

    def _daily_time(self) -> tuple[int, int]:
        # A job runs either every N seconds or daily; one with neither is a mistake in coordinator/jobs.py.
        if self.daily_at is None:
            raise ValueError(f"job {self.id} has neither `every` nor `daily_at`")
        return self.daily_at


class SchedulerLease(SQLModel, table=True):
    """Who runs the jobs, on databases without advisory locks."""

    __tablename__ = "scheduler_lease"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str | None = Field(default=None, sa_type=String(128))
    renewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """One run of one job: when, by which process, and how it ended (a summary without personal data)."""

    __tablename__ = "job_runs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    job_id: str = Field(sa_type=String(48), index=True)
    holder: str = Field(sa_type=String(128))
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="running", sa_type=String(12))
    summary: str | None = Field(default=None, sa_type=String(200))


def process_name() -> str:
    """This process, as job runs and the lease name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AdvisoryLock:
    """PostgreSQL: a session-level advisory lock on a connection kept open for the process's life."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.locked = False  # whether pg_try_advisory_lock succeeded on this connection
        self.guard = threading.Lock()  # the job threads and the main loop share one connection

    def acquire(self) -> bool:
        """Try once; True when this process now holds the lock."""
        with self.guard:
            return self._try_lock()

    def _try_lock(self) -> bool:
        if self.locked:  # the lock is re-entrant in PostgreSQL: taking it twice would need two unlocks
            return True
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.locked = bool(self.connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                                       {"key": ADVISORY_LOCK_KEY}).scalar())
            return self.locked
        except DBAPIError:
            self._drop()
            return False

    def held(self) -> bool:
        """True while this process took the lock and its connection is alive (the lock dies with it)."""
        with self.guard:
            if not self.locked or self.connection is None:
                return False
            try:
                self.connection.execute(text("SELECT 1"))
                return True
            except DBAPIError:
                self._drop()
                return False

    def release(self) -> None:
        """Let a standby instance take over."""
        with self.guard:
            if self.connection is not None:
                with contextlib.suppress(DBAPIError):
                    self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                self._drop()

    def _drop(self) -> None:
        # Invalidate rather than return it to the pool: a pooled connection would keep a session lock it still held.
        if self.connection is not None:
            try:
                self.connection.invalidate()
                self.connection.close()
            except DBAPIError:
                pass
        self.connection, self.locked = None, False


class LeaseLock:
    """SQLite: a row naming the holder, renewed every poll; a lease that stops being renewed can be taken."""

    def __init__(self, engine: Engine, holder: str, lease: timedelta) -> None:
        self.engine, self.holder, self.lease = engine, holder, lease

    def acquire(self) -> bool:
        """Take or renew the lease; True when this process holds it (False too when the database is busy)."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as connection:
                taken = connection.execute(
                    update(SchedulerLease)
                    .where(SchedulerLease.id == 1)
                    .where((SchedulerLease.holder == self.holder) | SchedulerLease.holder.is_(None)
                           | (SchedulerLease.renewed_at < now - self.lease))
                    .values(holder=self.holder, renewed_at=now)
                ).rowcount
        except DBAPIError:
            log.warning("scheduler lease could not be renewed: the database did not answer in time")
            return False
        return taken == 1

    held = acquire  # holding the lease means renewing it

    def release(self) -> None:
        """Give the lease up at once."""
        with self.engine.begin() as connection:
            connection.execute(update(SchedulerLease).where(SchedulerLease.holder == self.holder)
                               .values(holder=None, renewed_at=None))


def make_lock(app: Flask, holder: str) -> AdvisoryLock | LeaseLock:
    """The lock for this app's database."""
    engine = app.extensions["db_engine"]
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    return LeaseLock(engine, holder, timedelta(seconds=app.config["SCHEDULER_LOCK_LEASE_SECONDS"]))


def execute_job(app: Flask, job: Job, holder: str, lock: AdvisoryLock | LeaseLock | None = None) -> JobRun | None:
    """Run one job now, recording the run; skipped (None) when `lock` says this process is no longer active."""
    with app.app_context():
        if lock is not None and not lock.held():
            log.warning("job %s skipped: this scheduler no longer holds the lock", job.id)
            return None
        run = JobRun(job_id=job.id, holder=holder, started_at=datetime.now(UTC))  # runs keep real time
        db.session.add(run)
        db.session.commit()
        try:
            run.summary = (job.run() or "")[:200]
            run.outcome = "ok"
        except Exception:
            log.exception("job %s failed", job.id)
            db.session.rollback()
            run.outcome, run.summary = "failed", "see the scheduler log"
        run.finished_at = datetime.now(UTC)
        db.session.add(run)
        db.session.commit()
        return run


def take_over(app: Flask, jobs: Sequence[Job], holder: str, now: datetime) -> set[str]:
    """On becoming active: mark runs a dead instance left unfinished, and name the daily jobs it missed.

    A daily job is missed when it was due within its misfire grace and no run started since then.
    """
    with app.app_context():
        db.session.execute(update(JobRun).where(JobRun.outcome == "running", JobRun.holder != holder)
                           .values(outcome="abandoned", finished_at=now))
        last_runs: dict[str, datetime] = dict(db.session.execute(
            select(JobRun.job_id, func.max(JobRun.started_at)).group_by(JobRun.job_id)
        ).all())
        db.session.commit()
    overdue = set()
    for job in jobs:
        due = job.last_due(now)
        if due is None or now - due > timedelta(seconds=job.misfire_grace_seconds):
            continue
        if last_runs.get(job.id) is None or last_runs[job.id] < due:
            overdue.add(job.id)
    return overdue


def run_scheduler(app: Flask, jobs: Sequence[Job], stop: threading.Event | None = None,
                  on_active: Callable[[BackgroundScheduler], None] | None = None) -> None:
    """Wait for the lock, run every job on its schedule while holding it, and step down if it is lost.

    `on_active` is handed the running APScheduler each time this instance becomes active (tests inspect it).
    """
    stop = stop or threading.Event()
    holder = process_name()
    lock = make_lock(app, holder)
    poll = app.config["SCHEDULER_POLL_SECONDS"]
    if 2 * poll >= app.config["SCHEDULER_LOCK_LEASE_SECONDS"]:
        raise ValueError("SCHEDULER_POLL_SECONDS must be less than half of SCHEDULER_LOCK_LEASE_SECONDS")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own log says what ran and how it ended
    standby_logged = False
    while not stop.is_set():
        if not lock.acquire():
            if not standby_logged:
                log.info("scheduler %s on standby: another instance holds the lock", holder)
                standby_logged = True
            stop.wait(poll)
            continue
        log.info("scheduler %s is active", holder)
        standby_logged = False
        from apscheduler.schedulers.background import BackgroundScheduler  # noqa: PLC0415 -- only the scheduler process needs it

        scheduler = BackgroundScheduler(timezone=UTC)
        started = datetime.now(UTC)
        overdue = take_over(app, jobs, holder, started)
        for job in jobs:
            # Interval jobs start at once; a daily job starts at once only if its last due run was missed.
            catch_up = job.every is not None or job.id in overdue
            scheduler.add_job(execute_job, job.trigger(app.config), args=[app, job, holder, lock], id=job.id,
                              name=job.id, misfire_grace_time=job.misfire_grace_seconds, coalesce=True,
                              max_instances=1, replace_existing=True,
                              **({"next_run_time": started} if catch_up else {}))
        scheduler.start()
        try:
            if on_active is not None:
                on_active(scheduler)
            while not stop.wait(poll):
                if not lock.held():
                    log.error("scheduler %s lost the lock; stepping down", holder)
                    break
        finally:
            scheduler.shutdown(wait=True)
        if stop.is_set():
            lock.release()
