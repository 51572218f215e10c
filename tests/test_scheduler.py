"""The scheduler process: one active instance, a standby that takes over, the jobs it runs and `flask jobs`.

The process tests start real `flask --app app scheduler` processes on the test database, with a 1 s outbox period,
a 1 s poll and a 3 s lease, and read what they did from `job_runs` with plain SQL.
"""

from __future__ import annotations

import inspect
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import String, select, text, update

from coordinator import clock
from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM, Role
from coordinator.audit.service import record
from coordinator.db import UTCDateTime, db
from coordinator.jobs import JOBS, JOBS_BY_ID
from coordinator.notifications.models import Channel
from coordinator.notifications.service import queue_message
from coordinator.scheduler import (
    ADVISORY_LOCK_KEY,
    AdvisoryLock,
    Job,
    JobRun,
    LeaseLock,
    SchedulerLease,
    execute_job,
    make_lock,
    process_name,
    run_scheduler,
    take_over,
)

REPO = Path(__file__).resolve().parent.parent
PERIODS = {"OUTBOX_DISPATCH_SECONDS": "1", "SCHEDULER_POLL_SECONDS": "1", "SCHEDULER_LOCK_LEASE_SECONDS": "3",
           "SESSION_SWEEP_SECONDS": "2"}
LEASE = timedelta(seconds=3)
OBSERVE_SECONDS = 6
TAKEOVER_SECONDS = 60


@pytest.fixture
def app_settings() -> dict[str, str]:
    """The app under test has the same short periods as the scheduler processes."""
    return dict(PERIODS)


@dataclass
class JobRunRow:
    """One row of job_runs, as the tests read it."""

    job_id: str
    holder: str
    started_at: datetime
    outcome: str


def job_runs(app) -> list[JobRunRow]:
    """Every recorded run, oldest first, read behind the service's back."""
    query = text("SELECT job_id, holder, started_at, outcome FROM job_runs ORDER BY started_at").columns(
        job_id=String, holder=String, started_at=UTCDateTime, outcome=String)
    with app.extensions["db_engine"].connect() as connection:
        return [JobRunRow(*row) for row in connection.execute(query)]


def lease(app) -> tuple[str | None, datetime | None]:
    """The scheduler_lease row: its holder and when it was last renewed (real time)."""
    query = text("SELECT holder, renewed_at FROM scheduler_lease").columns(holder=String, renewed_at=UTCDateTime)
    with app.extensions["db_engine"].connect() as connection:
        return tuple(connection.execute(query).one())


def sql(app, statement: str, **params) -> list:
    """Run plain SQL and commit; returns the rows of a SELECT."""
    with app.extensions["db_engine"].begin() as connection:
        result = connection.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def wait_for(condition, timeout: float, step: float = 0.25):
    """Poll `condition` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"waited {timeout} s in vain")


class SchedulerProcess:
    """One `flask --app app scheduler` process, its output kept in a file."""

    def __init__(self, app, database_url: str, log_path: Path):
        env = {**os.environ, "COORDINATOR_ENV": "testing", "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
               # The key of the app under test (one from generate_encryption_key()), so both read the same rows.
               "COORDINATOR_ENCRYPTION_KEYS": app.config["COORDINATOR_ENCRYPTION_KEYS"], **PERIODS}
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler"], cwd=REPO,
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        self.holder = f"{socket.gethostname()}:{self.pid}"

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        """True until the process exits."""
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.log.close()


@contextmanager
def schedulers(app, database_url: str, tmp_path: Path):
    """Start scheduler processes with `start()`; every one is stopped on the way out."""
    started: list[SchedulerProcess] = []

    def start() -> SchedulerProcess:
        process = SchedulerProcess(app, database_url, tmp_path / f"scheduler-{len(started) + 1}.log")
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


def outputs(*processes: SchedulerProcess) -> str:
    """The processes' output, for assertion messages."""
    return "\n".join(f"--- pid {process.pid}:\n{process.output()}" for process in processes)


def assert_runs_once_per_period(runs: list[JobRunRow], job_id: str, period: float, until: datetime) -> None:
    """No two runs closer than about the period, and about one run per period from the first run until `until`."""
    starts = [run.started_at for run in runs if run.job_id == job_id]
    assert starts, f"{job_id} never ran"
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(starts)]
    # The interval trigger keeps its grid: a run started late by a loaded machine is followed by an on-time one, so a
    # gap may shrink well below the period; a job run twice for one period would show a gap near zero.
    assert min(gaps, default=period) >= 0.25 * period, (job_id, gaps)
    expected = (until - starts[0]).total_seconds() / period
    assert expected * 0.6 <= len(starts) <= expected + 2, (job_id, len(starts), expected, gaps)


def test_two_schedulers_keep_one_active_and_the_standby_takes_over_after_a_kill(app, database_url, tmp_path):
    """Started together, one runs every job at its period; killed with SIGKILL, the other takes over."""
    with schedulers(app, database_url, tmp_path) as start:
        first, second = start(), start()
        wait_for(lambda: job_runs(app), timeout=TAKEOVER_SECONDS)
        time.sleep(OBSERVE_SECONDS)
        until = datetime.now(UTC)
        runs = job_runs(app)

        holders = {run.holder for run in runs}
        assert len(holders) == 1, (holders, outputs(first, second))
        pid = int(holders.pop().rsplit(":", 1)[1])
        active, standby = (first, second) if pid == first.pid else (second, first)
        assert pid == active.pid and {run.holder for run in runs} == {active.holder}
        assert_runs_once_per_period(runs, "dispatch_outbox", 1, until)
        assert_runs_once_per_period(runs, "expire_access", 2, until)
        assert {run.outcome for run in runs} <= {"ok", "running"}, outputs(active)
        assert first.alive() and second.alive(), outputs(first, second)

        os.kill(pid, signal.SIGKILL)
        active.process.wait(timeout=15)
        killed_at = datetime.now(UTC)
        holder, renewed_at = lease(app)

        takeover = wait_for(lambda: [run for run in job_runs(app) if run.holder == standby.holder],
                            timeout=TAKEOVER_SECONDS)
        assert standby.alive(), outputs(standby)
        first_run = takeover[0].started_at
        if app.extensions["db_engine"].dialect.name == "sqlite":
            # The dead holder's lease stays in place until it runs out; only then may the standby take it.
            assert holder == active.holder
            assert first_run >= renewed_at + LEASE, (first_run, renewed_at)
            assert lease(app)[0] == standby.holder
        else:
            # The advisory lock died with the killed process's connection: no lease to wait for.
            assert first_run - killed_at < timedelta(seconds=15), (first_run, killed_at)
            assert (holder, renewed_at) == (None, None)  # the lease row is SQLite's; PostgreSQL never uses it
        after_kill = [run for run in job_runs(app) if run.started_at > killed_at]
        assert {run.holder for run in after_kill} == {standby.holder}


def test_a_standby_scheduler_runs_no_job_while_the_active_one_lives(app, database_url, tmp_path):
    """A second process started later stays idle, through more than one lease, until the first stops."""
    with schedulers(app, database_url, tmp_path) as start:
        active = start()
        wait_for(lambda: job_runs(app), timeout=TAKEOVER_SECONDS)
        standby = start()
        wait_for(lambda: "starting with" in standby.output(), timeout=TAKEOVER_SECONDS)
        time.sleep(2 * LEASE.total_seconds())

        assert standby.alive() and active.alive(), outputs(active, standby)
        runs = job_runs(app)
        assert {run.holder for run in runs} == {active.holder}
        assert len([run for run in runs if run.job_id == "dispatch_outbox"]) >= 4

        active.process.send_signal(signal.SIGTERM)
        assert active.process.wait(timeout=15) == 0, outputs(active)
        if app.extensions["db_engine"].dialect.name == "sqlite":
            assert lease(app)[0] in (None, standby.holder)  # given up on the way out, not left to run out
        wait_for(lambda: [run for run in job_runs(app) if run.holder == standby.holder], timeout=TAKEOVER_SECONDS)
        assert standby.alive(), outputs(standby)


def test_jobs_are_registered_coalescing_one_at_a_time_with_their_misfire_grace(app):
    """The running APScheduler holds every job of JOBS, called with (app, job, holder, lock) only."""
    stop, active = threading.Event(), threading.Event()
    seen = {}

    def on_active(scheduler):
        seen["jobs"] = {job.id: job for job in scheduler.get_jobs()}
        active.set()

    thread = threading.Thread(target=run_scheduler, args=(app, JOBS, stop), kwargs={"on_active": on_active})
    thread.start()
    try:
        assert active.wait(timeout=30), "the scheduler never became active"
        registered = seen["jobs"]
        assert set(registered) == {job.id for job in JOBS}
        for job in JOBS:
            scheduled = registered[job.id]
            assert scheduled.coalesce is True
            assert scheduled.max_instances == 1
            assert scheduled.misfire_grace_time == job.misfire_grace_seconds
            assert scheduled.func is execute_job
            assert len(scheduled.args) == 4 and scheduled.args[:3] == (app, job, process_name())
            assert isinstance(scheduled.args[3], AdvisoryLock | LeaseLock)
            assert scheduled.kwargs == {}
            if job.every is not None:
                assert isinstance(scheduled.trigger, IntervalTrigger)
                assert scheduled.trigger.interval == timedelta(seconds=job.every(app.config))
            else:
                assert isinstance(scheduled.trigger, CronTrigger)
                fields = {field.name: str(field) for field in scheduled.trigger.fields}
                assert (fields["hour"], fields["minute"]) == tuple(str(part) for part in job.daily_at)
                assert (scheduled.next_run_time.hour, scheduled.next_run_time.minute) == job.daily_at
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    # Stopping released the lock: another instance gets it at once.
    with app.app_context():
        other = make_lock(app, "another-host:1")
        assert other.acquire()
        other.release()


def test_jobs_take_no_arguments_so_never_personal_data():
    """The scheduler calls execute_job(app, job, holder, lock), and every job's function takes nothing."""
    assert list(inspect.signature(execute_job).parameters) == ["app", "job", "holder", "lock"]
    for job in JOBS:
        assert inspect.signature(job.run).parameters == {}, job.id


def test_jobs_list_shows_every_job_with_its_schedule(app):
    """One line per job: its id and its schedule in words."""
    result = app.test_cli_runner().invoke(args=["jobs", "list"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(JOBS)
    for job, line in zip(JOBS, lines, strict=True):
        assert line.split()[0] == job.id
        assert job.schedule(app.config) in line
    assert "every 1 s" in lines[0] and "daily at 03:00 UTC" in result.output


def test_jobs_run_dispatch_outbox_runs_once_and_records_it(app, factory):
    """The due message is handed over, and one run is recorded as ok."""
    user = factory.user(Role.facilitator)
    with app.app_context():
        queue_message(Channel.email, "referral_assigned", recipient_kind="user", recipient_id=user.id,
                      key="scheduler-test:1", params={"referral_id": "00000000-0000-0000-0000-000000000001"})
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["jobs", "run", "dispatch_outbox"])

    assert result.exit_code == 0, result.output
    assert "dispatch_outbox: ok: sent 1, retrying 0, parked 0" in result.output
    runs = job_runs(app)
    assert [(run.job_id, run.outcome) for run in runs] == [("dispatch_outbox", "ok")]
    assert runs[0].holder == f"cli:{process_name()}"
    assert sql(app, "SELECT status FROM outbox_messages") == [("sent",)]
    listed = app.test_cli_runner().invoke(args=["jobs", "list"]).output
    assert "last ok at" in next(line for line in listed.splitlines() if line.startswith("dispatch_outbox"))


def test_jobs_run_names_an_unknown_job(app):
    """A clear message, a non-zero exit and nothing recorded."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "no_such_job"])

    assert result.exit_code != 0
    assert "No job is called 'no_such_job'" in result.output
    assert job_runs(app) == []


def test_expire_access_ends_idle_sessions_and_revokes_expired_tokens(app, factory, browser):
    """Past the idle timeout the session is ended; a token past its expiry is revoked, the others are not."""
    user = factory.user(Role.facilitator)
    staff = browser(user)
    assert staff.signed_in
    with app.app_context():
        user = db.session.merge(user)
        accounts.issue_token(SYSTEM, user, "short-lived", expires_in=timedelta(minutes=10))
        accounts.issue_token(SYSTEM, user, "long-lived", expires_in=timedelta(days=30))
        accounts.issue_token(SYSTEM, user, "no expiry")
        db.session.commit()
    assert sql(app, "SELECT ended_at FROM staff_sessions") == [(None,)]

    with app.app_context():
        clock.set_clock(clock.now() + app.config["SESSION_IDLE_TIMEOUT"] + timedelta(minutes=1))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["jobs", "run", "expire_access"])

    assert result.exit_code == 0, result.output
    assert "expire_access: ok: 1 sessions ended, 1 tokens revoked" in result.output
    assert [(reason, ended is not None) for ended, reason in
            sql(app, "SELECT ended_at, end_reason FROM staff_sessions")] == [("expired", True)]
    tokens = sql(app, "SELECT label, revoked_at FROM api_tokens")
    assert {label: revoked_at is not None for label, revoked_at in tokens} == {
        "short-lived": True, "long-lived": False, "no expiry": False}
    assert sql(app, "SELECT action FROM audit_entries ORDER BY seq DESC LIMIT 1") == [("access.expire",)]

    again = app.test_cli_runner().invoke(args=["jobs", "run", "expire_access"])
    assert "0 sessions ended, 0 tokens revoked" in again.output


def test_verify_audit_chain_alerts_active_coordinators_once_a_day(app, factory):
    """A tampered chain: the run says where, and each active coordinator gets one notice and one email a day."""
    coordinators = [factory.user(Role.coordinator), factory.user(Role.coordinator)]
    factory.user(Role.facilitator)
    retired = factory.user(Role.coordinator)
    with app.app_context():
        accounts.deactivate_user(SYSTEM, db.session.merge(retired))
        db.session.commit()
    runner = app.test_cli_runner()

    intact = runner.invoke(args=["jobs", "run", "verify_audit_chain"])
    assert intact.exit_code == 0, intact.output
    assert "verify_audit_chain: ok: intact," in intact.output
    assert sql(app, "SELECT count(*) FROM staff_notices") == [(0,)]

    sql(app, "UPDATE audit_entries SET action = 'tampered' WHERE seq = 2")
    for _ in range(2):
        result = runner.invoke(args=["jobs", "run", "verify_audit_chain"])
        assert result.exit_code == 0, result.output

    summaries = [row[0] for row in sql(app, "SELECT summary FROM job_runs WHERE job_id = 'verify_audit_chain' "
                                            "ORDER BY started_at")]
    assert summaries[1:] == ["BROKEN at entry 2", "BROKEN at entry 2"], summaries
    expected = sorted(user.email for user in coordinators)
    notices = sql(app, "SELECT u.email, n.template, n.read_at FROM staff_notices n JOIN users u ON u.id = n.user_id")
    assert sorted(email for email, _, _ in notices) == expected
    assert {(template, read_at) for _, template, read_at in notices} == {("audit_chain_broken", None)}
    emails = sql(app, "SELECT u.email, m.recipient_kind, m.channel, m.template, m.status FROM outbox_messages m "
                      "JOIN users u ON u.id = m.recipient_id")
    assert sorted(email for email, *_ in emails) == expected
    assert {tuple(row[1:]) for row in emails} == {("user", "email", "audit_chain_broken", "queued")}
    assert sql(app, "SELECT count(*) FROM outbox_messages") == [(len(expected),)]


def test_a_run_is_skipped_when_this_process_does_not_hold_the_lock(app):
    """execute_job checks the lock first: a standby's lock records nothing, the active one's records the run."""
    job = JOBS_BY_ID["dispatch_outbox"]
    active, standby = make_lock(app, "active-host:1"), make_lock(app, "standby-host:2")
    try:
        assert active.acquire()
        assert not standby.acquire()

        assert execute_job(app, job, "standby-host:2", standby) is None
        assert job_runs(app) == []

        run = execute_job(app, job, "active-host:1", active)
        assert (run.outcome, run.holder) == ("ok", "active-host:1")
    finally:
        active.release()
        standby.release()
    assert [(run.job_id, run.holder) for run in job_runs(app)] == [("dispatch_outbox", "active-host:1")]


def test_a_failing_job_is_recorded_and_its_changes_rolled_back(app):
    """The run ends `failed` with a summary free of the error's text; what the job wrote is undone."""

    def explode() -> str:
        record(SYSTEM, "test.partial")
        raise RuntimeError("details that might name someone")

    run = execute_job(app, Job("explodes", "Always fails", explode, every=lambda config: 60), "test-host:1")

    assert (run.outcome, run.summary) == ("failed", "see the scheduler log")
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert [(row.job_id, row.outcome) for row in job_runs(app)] == [("explodes", "failed")]
    assert sql(app, "SELECT count(*) FROM audit_entries WHERE action = 'test.partial'") == [(0,)]


def take_the_lock_away(app) -> None:
    """Behind the scheduler's back: another holder takes the SQLite lease, or PostgreSQL drops the lock's session."""
    if app.extensions["db_engine"].dialect.name == "sqlite":
        with app.extensions["db_engine"].begin() as connection:
            connection.execute(update(SchedulerLease).values(holder="thief:1", renewed_at=datetime.now(UTC)))
        return
    terminated = sql(app, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                          "AND granted AND classid = 0 AND objid = :key AND database = "
                          "(SELECT oid FROM pg_database WHERE datname = current_database())", key=ADVISORY_LOCK_KEY)
    assert terminated == [(True,)]


def test_a_scheduler_that_loses_its_lock_steps_down_and_comes_back(app):
    """Its APScheduler is shut down before it runs jobs again, once it holds the lock anew."""
    stop = threading.Event()
    activations: list[tuple] = []  # (scheduler, whether every earlier one was already shut down)
    became_active = threading.Semaphore(0)

    def on_active(scheduler):
        activations.append((scheduler, not any(earlier.running for earlier, _ in activations)))
        became_active.release()

    thread = threading.Thread(target=run_scheduler, args=(app, JOBS, stop), kwargs={"on_active": on_active})
    thread.start()
    try:
        assert became_active.acquire(timeout=30)
        take_the_lock_away(app)
        # SQLite: after the thief's lease runs out; PostgreSQL: as soon as it takes the lock on a new connection.
        assert became_active.acquire(timeout=TAKEOVER_SECONDS)
        assert [all_shut_down for _, all_shut_down in activations] == [True, True]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert {run.holder for run in job_runs(app)} == {process_name()}


def test_a_new_active_instance_catches_up_a_missed_daily_job(app):
    """Due within its grace and never run since: run it at once; runs a dead instance left are marked abandoned."""
    now = datetime.now(UTC)
    due = now - timedelta(minutes=20)
    missed = Job("missed", "due 20 minutes ago", lambda: None, daily_at=(due.hour, due.minute),
                 misfire_grace_seconds=3600)
    done = Job("done", "due 20 minutes ago, ran since", lambda: None, daily_at=(due.hour, due.minute),
               misfire_grace_seconds=3600)
    too_late = Job("too_late", "due 20 minutes ago, grace 10", lambda: None, daily_at=(due.hour, due.minute),
                   misfire_grace_seconds=600)
    with app.app_context():
        db.session.add(JobRun(job_id="done", holder="old:1", started_at=due + timedelta(minutes=1), outcome="ok"))
        db.session.add(JobRun(job_id="missed", holder="old:1", started_at=due - timedelta(days=1),
                              outcome="running"))
        db.session.commit()

    assert take_over(app, [missed, done, too_late], "new:2", now) == {"missed"}
    with app.app_context():
        outcomes = dict(db.session.execute(select(JobRun.job_id, JobRun.outcome)).all())
    assert outcomes == {"done": "ok", "missed": "abandoned"}
