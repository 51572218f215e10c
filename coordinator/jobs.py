"""Every scheduled job, in one place: its id, schedule, misfire grace and what it does.

Jobs are thin: they take no arguments (so never personal data), call services, and commit. They run in the
scheduler process (`flask --app app scheduler`), or once on demand with `flask --app app jobs run NAME`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, text

from coordinator import clock
from coordinator.accounts.models import SYSTEM
from coordinator.accounts.service import expire_stale_access
from coordinator.agreements.service import notify_overdue_items
from coordinator.audit.checkpoints import CheckpointError, verify_all, verify_and_checkpoint
from coordinator.audit.service import ChainReport, record
from coordinator.cases.report import prepare_court_reports
from coordinator.db import db, execute_counted, unit_of_work
from coordinator.notifications.dispatch import dispatch_outbox, worker_name
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.portal.service import flag_links_expiring_before_sessions
from coordinator.retention.run import run_schedule
from coordinator.safety.service import alert_unready_circles
from coordinator.scheduler import Job, JobRun
from coordinator.sessions.reminders import send_due_reminders
from coordinator.statistics.rollup import rebuild_rollup, refresh_state

JOB_RUNS_KEPT = timedelta(days=14)



def send_outbox() -> str:
    """Send every due message of the outbox."""
    report = dispatch_outbox(worker_name())
    return f"sent {report.sent}, retrying {report.retrying}, parked {report.parked}"


def expire_access() -> str:
    """End stale staff sessions and revoke expired API tokens."""
    with unit_of_work():
        ended, revoked = expire_stale_access()
        if ended or revoked:
            record(SYSTEM, "access.expire", details={"sessions": ended, "tokens": revoked})
    return f"{ended} sessions ended, {revoked} tokens revoked"


def check_audit_chain() -> str:
    """Verify the whole audit chain against the latest signed checkpoint; when it is broken, alert every coordinator
    (once a day)."""
    # The walk reads one snapshot (REPEATABLE READ on PostgreSQL): its outcome is recorded in a transaction of its
    # own, or chaining that entry would trip over the head moved by requests meanwhile.
    with unit_of_work():
        try:
            report = verify_all(full=True)
        except CheckpointError as error:
            report = ChainReport(0, None, str(error))
    with unit_of_work():
        record(SYSTEM, "audit.verify", details={"intact": report.intact, "checked": report.checked,
                                                 "bad_seq": report.bad_seq})
        if not report.intact:
            notify_staff(coordinators(), "audit_chain_broken", key=f"audit_chain_broken:{clock.now().date()}",
                         params={"seq": report.bad_seq})
    return f"intact, {report.checked} entries" if report.intact else f"BROKEN at entry {report.bad_seq}"


def checkpoint_audit_chain() -> str:
    """Verify the audit chain from the last verified entry, then sign its head into the checkpoint file and the log
    (docs/design.md rule 7); a broken chain is not checkpointed (the daily verification alerts)."""
    with unit_of_work():
        report, checkpoint = verify_and_checkpoint()
    if checkpoint is None:
        return f"BROKEN at entry {report.bad_seq}: no checkpoint written"
    return f"checkpoint at entry {checkpoint.seq}"


def recheck_circles() -> str:
    """Re-check the readiness gate for booked circles and alert their facilitators (docs/design.md section 3)."""
    with unit_of_work():
        checked, failed = alert_unready_circles()
    return f"{checked} booked circles checked, {failed} no longer ready"


def send_reminders() -> str:
    """Queue the reminders due before upcoming sessions (each one once, whatever the number of runs)."""
    with unit_of_work():
        queued = send_due_reminders()
    return f"{queued} reminders queued"


def check_overdue_items() -> str:
    """Tell facilitators about agreement items that became overdue (each item and due date once)."""
    with unit_of_work():
        told = notify_overdue_items()
    return f"{told} overdue items reported"


def check_expiring_links() -> str:
    """Raise a task for each party whose links all expire before their next booked session."""
    with unit_of_work():
        flagged = flag_links_expiring_before_sessions()
    return f"{flagged} parties' links expire before their next session"


def prepare_reports() -> str:
    """Prepare court reports for sentencing hearings fourteen days away and tell the coordinators."""
    with unit_of_work():
        prepared = prepare_court_reports()
    return f"{prepared} court reports prepared"


def apply_retention() -> str:
    """Tell coordinators what will be erased within 30 days, then erase what the retention schedule says is due."""
    return run_schedule().summary()


def refresh_statistics() -> str:
    """Rebuild the statistics rollup when it is STATISTICS_REFRESH_SECONDS old or a coordinator asked for a new count,
    so the page reads counts instead of every record."""
    max_age = timedelta(seconds=current_app.config["STATISTICS_REFRESH_SECONDS"])
    with unit_of_work():
        if not refresh_state().due(clock.now(), max_age):
            return "counted recently; nothing asked"
        as_of = rebuild_rollup()
    return f"counted as of {as_of.isoformat(timespec='seconds')}"


def maintain_database() -> str:
    """Refresh the query planner's statistics (SQLite; PostgreSQL's autovacuum does it) and prune old job runs."""
    with unit_of_work():
        pruned = execute_counted(delete(JobRun).where(JobRun.started_at < datetime.now(UTC) - JOB_RUNS_KEPT))
        if db.dialect == "sqlite":
            db.session.execute(text("PRAGMA optimize"))
    return f"{pruned} old job runs pruned"


JOBS: list[Job] = [
    Job("dispatch_outbox", "Send due messages from the outbox", send_outbox,
        every=lambda config: config["OUTBOX_DISPATCH_SECONDS"], misfire_grace_seconds=30),
    Job("expire_access", "End stale staff sessions and revoke expired API tokens", expire_access,
        every=lambda config: config["SESSION_SWEEP_SECONDS"], misfire_grace_seconds=120),
    Job("verify_audit_chain", "Verify the audit chain and alert coordinators if it is broken", check_audit_chain,
        daily_at=(3, 0), misfire_grace_seconds=6 * 3600),
    Job("checkpoint_audit_chain", "Sign the audit chain's head into the checkpoint file outside the database",
        checkpoint_audit_chain, daily_at=(3, 10), misfire_grace_seconds=6 * 3600),
    Job("recheck_circles", "Re-check the readiness of booked circles and alert their facilitators",
        recheck_circles, daily_at=(6, 0), misfire_grace_seconds=6 * 3600),
    Job("send_reminders", "Queue reminders before upcoming sessions", send_reminders,
        every=lambda _config: 5 * 60, misfire_grace_seconds=10 * 60),
    Job("check_overdue_items", "Tell facilitators about agreement items that became overdue", check_overdue_items,
        daily_at=(7, 0), misfire_grace_seconds=6 * 3600),
    Job("check_expiring_links", "Raise a task when a party's links expire before their next booked session",
        check_expiring_links, daily_at=(6, 30), misfire_grace_seconds=6 * 3600),
    Job("prepare_court_reports", "Prepare court reports for sentencing hearings in fourteen days",
        prepare_reports, daily_at=(7, 15), misfire_grace_seconds=6 * 3600),
    Job("refresh_statistics", "Count the programme statistics again when they are old or a coordinator asked",
        refresh_statistics, every=lambda config: config["STATISTICS_CHECK_SECONDS"], misfire_grace_seconds=10 * 60),
    Job("maintain_database", "Refresh planner statistics and prune old job runs", maintain_database,
        daily_at=(3, 30), misfire_grace_seconds=6 * 3600),
    Job("apply_retention", "Announce erasures due within 30 days and erase what the retention schedule marks due",
        apply_retention, daily_at=(2, 30), misfire_grace_seconds=6 * 3600),
]
JOBS_BY_ID = {job.id: job for job in JOBS}
