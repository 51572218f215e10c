"""The command line of docs/api.md: `flask --app app db|users|keys|audit|clock|seed-demo ...`."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts import mfa
from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM, Role
from coordinator.audit.service import record
from coordinator.crypto import rewrap_data_keys, rotate_all
from coordinator.db import db, unit_of_work
from coordinator.envelope import count_legacy, migrate_to_envelope
from coordinator.errors import ServiceError
from coordinator.keygen import generate_audit_key, generate_key
from coordinator.scheduler import JobRun, execute_job, process_name, run_scheduler

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from werkzeug.local import LocalProxy

    from coordinator.retention.run import RunReport

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

db_cli = AppGroup("db", help="Database migrations.")
users_cli = AppGroup("users", help="Staff accounts and API tokens.")
keys_cli = AppGroup("keys", help="Field-encryption keys.")
audit_cli = AppGroup("audit", help="The audit log.")
clock_cli = AppGroup("clock", help="Move the service's clock (development and testing only).")
jobs_cli = AppGroup("jobs", help="Scheduled jobs.")
retention_cli = AppGroup("retention", help="The retention schedule: erase what is due.")


def register(app: Flask) -> None:
    """Attach every command group to the app."""
    for group in (db_cli, users_cli, keys_cli, audit_cli, clock_cli, jobs_cli, retention_cli):
        app.cli.add_command(group)
    app.cli.add_command(seed_demo)
    app.cli.add_command(scheduler_command)


def alembic_config(connection=None) -> AlembicConfig:
    """Alembic's configuration, pointed at migrations/ and, when given, a live connection."""
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_database(revision: str = "head") -> None:
    """Apply migrations up to `revision` on the current app's database."""
    with db.engine.begin() as connection:
        from alembic import command as alembic_command  # noqa: PLC0415 -- heavy, rarely used: not at worker start

        alembic_command.upgrade(alembic_config(connection), revision)


def _fail(error: ServiceError) -> click.ClickException:
    details = error.details if isinstance(error.details, dict) else {}
    lines = [error.message] + [f"  {field}: {'; '.join(messages)}" for field, messages in details.items()]
    return click.ClickException("\n".join(lines))


def _current_app_object() -> Flask:
    # The scheduler's threads need the app itself. Flask types `current_app` as the Flask it stands for; it is the
    # werkzeug proxy, whose target is that app.
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (to the newest unless REVISION is given)."""
    upgrade_database(revision)
    click.echo(f"Database is at {revision}.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    number = len(list((MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))) + 1
    with db.engine.begin() as connection:
        from alembic import command as alembic_command  # noqa: PLC0415 -- heavy, rarely used: not at worker start

        alembic_command.revision(alembic_config(connection), message=message, autogenerate=True,
                                 rev_id=f"{number:04d}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--name", required=True)
@click.option("--password", default=None, help="Generated and printed when omitted.")
@click.option("--language", type=click.Choice(["en", "es", "fr"]), default="en")
def users_create(email: str, role: str, name: str, password: str | None, language: str) -> None:
    """Create a staff account."""
    with unit_of_work():
        try:
            user, generated = accounts.create_user(SYSTEM, email=email, role=role, name=name, password=password,
                                                   language=language)
        except ServiceError as error:
            raise _fail(error) from None
    click.echo(f"Created {user.role} {user.email}.")
    if generated:
        click.echo(f"Password (shown once): {generated}")


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default="command line", help="What the token is for.")
def users_token(email: str, label: str) -> None:
    """Print a new API token for EMAIL as the last line."""
    with unit_of_work():
        user = accounts.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No account has the address {email}.")
        try:
            _token, plaintext = accounts.issue_token(SYSTEM, user, label)
        except ServiceError as error:
            raise _fail(error) from None
    click.echo(plaintext)


@users_cli.command("mfa-secret")
@click.argument("email")
def users_mfa_secret(email: str) -> None:
    """Enrol EMAIL's TOTP second factor (again, if enrolled); print recovery codes, then the secret as the last line."""
    with unit_of_work():
        user = accounts.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No account has the address {email}.")
        secret, codes = mfa.enrol_from_command(user)
    click.echo(f"Second factor enrolled for {user.email}. Recovery codes (each works once; shown once):")
    for code in codes:
        click.echo(f"  {code}")
    click.echo("TOTP secret (base32), on the next line:")
    click.echo(secret)


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Deactivate an account: its sessions end and its tokens are revoked."""
    with unit_of_work():
        user = accounts.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No account has the address {email}.")
        accounts.deactivate_user(SYSTEM, user)
    click.echo(f"Deactivated {email}.")


# One command, also offered before the service is configured (coordinator/keygen.py).
keys_cli.add_command(generate_key)


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every referral's data key, and re-encrypt the values of no referral, under the newest key."""
    with unit_of_work() as session:
        rewrapped = rewrap_data_keys(session)
        changed = rotate_all(session)
        legacy = sum(count_legacy().values())
        record(SYSTEM, "keys.rotate", details={"key_id": current_app.extensions["keyring"].newest_id,
                                                "data_keys": rewrapped, **changed})
    click.echo(f"referral data keys: {rewrapped} re-wrapped")
    for table, count in changed.items():
        click.echo(f"{table}: {count} values re-encrypted")
    if legacy:
        click.echo(f"{legacy} rows still hold values under the programme keys: run `keys migrate-to-envelope` "
                   "before removing an old key.", err=True)


@keys_cli.command("migrate-to-envelope")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
def keys_migrate_to_envelope(batch_size: int) -> None:
    """Move every referral's values under its own data key, in batches; safe to stop and start again."""
    session = db.session
    moved: dict[str, int] = {}
    try:
        for step in migrate_to_envelope(batch_size):
            session.commit()  # each batch stands on its own: a crash loses at most the batch in hand
            moved[step.table] = step.done
            click.echo(f"{step.table}: {step.done}/{step.total} rows")
    except BaseException:
        session.rollback()
        raise
    with unit_of_work():
        left = sum(count_legacy().values())
        record(SYSTEM, "keys.migrate_to_envelope", details={"rows": sum(moved.values()), "left": left})
    click.echo(f"Done: {sum(moved.values())} rows moved under their referral's key, {left} left.")


@audit_cli.command("verify")
@click.option("--full", is_flag=True, help="Check every entry, not only those after the last verified one.")
def audit_verify(full: bool) -> None:
    """Exit 0 when the audit chain is intact and holds the latest signed checkpoint; otherwise name the first bad
    entry (or the missing tail) and exit 1."""
    from coordinator.audit.checkpoints import (  # noqa: PLC0415 -- not at worker start
        CheckpointError,
        latest_checkpoint,
        verify_all,
    )

    try:
        with unit_of_work():
            report = verify_all(full=full)
            checkpoint = latest_checkpoint()
    except CheckpointError as error:
        click.echo(f"Audit checkpoint not trusted: {error}", err=True)
        raise SystemExit(1) from None
    if not report.intact:
        click.echo(f"Audit chain broken at entry {report.bad_seq}: {report.problem}", err=True)
        raise SystemExit(1)
    if report.start_seq == 1:
        click.echo(f"Audit chain intact: {report.checked} entries.")
    else:
        click.echo(f"Audit chain intact: {report.checked} entries checked after entry {report.start_seq - 1}, "
                   f"the last verified; {report.last_seq} in all (--full checks every one).")
    click.echo(f"Latest signed checkpoint: entry {checkpoint.seq} at {checkpoint.at}, held by the chain."
               if checkpoint else "No signed checkpoint yet: run `flask --app app audit checkpoint`.")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the chain, then sign its head and append it to the checkpoint file and the log."""
    from coordinator.audit.checkpoints import CheckpointError, verify_and_checkpoint  # noqa: PLC0415 -- not at worker start

    try:
        with unit_of_work():
            report, checkpoint = verify_and_checkpoint()
    except CheckpointError as error:
        click.echo(f"Audit checkpoint not trusted: {error}", err=True)
        raise SystemExit(1) from None
    if checkpoint is None:
        click.echo(f"Audit chain broken at entry {report.bad_seq}: {report.problem}. No checkpoint written.",
                   err=True)
        raise SystemExit(1)
    click.echo(f"Checkpoint signed: entry {checkpoint.seq} at {checkpoint.at}.")


audit_cli.add_command(generate_audit_key)  # also offered before the service is configured (coordinator/keygen.py)


@clock_cli.command("set")
@click.argument("moment", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                                                       "%Y-%m-%d"]))
def clock_set(moment: datetime) -> None:
    """Move "now" to MOMENT (ISO 8601; UTC unless an offset is given)."""
    try:
        with unit_of_work():
            clock.set_clock(moment)
    except clock.ClockRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Clock set to {clock.now().isoformat(timespec='seconds')}.")


@clock_cli.command("clear")
def clock_clear() -> None:
    """Go back to real time."""
    try:
        with unit_of_work():
            clock.clear_clock()
    except clock.ClockRefused as error:
        raise click.ClickException(str(error)) from None
    click.echo("Clock follows real time.")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    """Build the fictional demo programme and print its logins."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Demo data is refused in production.")
    from coordinator import demo  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    with unit_of_work():
        portal_link = demo.seed(if_empty=if_empty)
    if portal_link:
        click.echo("Demo programme created.")
        click.echo(f"A survivor's private link, to try the portal (valid 7 days): {portal_link}")
    for line in demo.login_lines():
        click.echo(line)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in the foreground (one active instance; others wait on standby)."""
    from coordinator.jobs import JOBS  # noqa: PLC0415 -- not at worker start

    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    app = _current_app_object()
    click.echo(f"Scheduler {process_name()} starting with {len(JOBS)} jobs.")
    run_scheduler(app, JOBS, stop)


@jobs_cli.command("list")
def jobs_list() -> None:
    """Every job with its schedule and its last run."""
    from coordinator.jobs import JOBS  # noqa: PLC0415 -- not at worker start

    last_runs: dict[str, JobRun] = {}
    for job_run in db.session.execute(select(JobRun).order_by(JobRun.started_at)).scalars():
        last_runs[job_run.job_id] = job_run
    width = max(len(job.id) for job in JOBS)
    for job in JOBS:
        run = last_runs.get(job.id)
        last = f"last {run.outcome} at {run.started_at:%Y-%m-%d %H:%M:%S} UTC" if run else "never run"
        click.echo(f"{job.id:<{width}} {job.schedule(current_app.config):<22} {last:<40} {job.description}")


@jobs_cli.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run one job now, once, in this process."""
    from coordinator.jobs import JOBS_BY_ID  # noqa: PLC0415 -- not at worker start

    job = JOBS_BY_ID.get(name)
    if job is None:
        raise click.ClickException(f"No job is called {name!r}; `jobs list` shows them.")
    run = execute_job(_current_app_object(), job, f"cli:{process_name()}")
    if run is None:  # only a scheduler that lost its lock skips a run; this process holds none
        raise click.ClickException(f"{job.id} was skipped.")
    click.echo(f"{job.id}: {run.outcome}: {run.summary}")
    if run.outcome != "ok":
        raise SystemExit(1)


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="Change nothing; print what would go, per kind.")
def retention_run(dry_run: bool) -> None:
    """Erase what the retention schedule marks as due, except what a legal hold or a pending case keeps."""
    from coordinator.retention.run import NotMigrated, plan, run_schedule  # noqa: PLC0415 -- not at worker start

    if dry_run:
        report = plan()
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
    else:
        try:
            report = run_schedule(click.echo)
        except NotMigrated as error:
            raise click.ClickException(str(error)) from None
    _print_retention(report, "would be erased" if dry_run else "erased")


def _print_retention(report: RunReport, verb: str) -> None:
    # References and codes only: nothing that names or describes a person.
    click.echo(f"referrals: {len(report.erased)} {verb}")
    for candidate in report.erased:
        click.echo(f"  {candidate.reference} ({candidate.basis}, due {candidate.due_at.date().isoformat()})")
    click.echo(f"referrals held back: {len(report.held)}")
    for candidate in report.held:
        click.echo(f"  {candidate.reference}: {', '.join(blocker.code for blocker in candidate.blockers)}")
    for kind, count in report.records.items():
        click.echo(f"{kind}: {count} {verb}")
