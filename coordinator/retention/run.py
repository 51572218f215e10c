"""A run of the retention schedule, shared by the daily job `apply_retention` and `flask --app app retention run`.

Like a job, it is an edge: it commits, once per batch of referrals and once for the rest, so that a crash loses at
most the batch in hand and the next run carries on from there. A dry run commits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coordinator.accounts.models import SYSTEM
from coordinator.audit.service import record
from coordinator.db import db, unit_of_work
from coordinator.envelope import count_legacy
from coordinator.keystore import compact_key_store
from coordinator.retention.schedule import Candidate, count_due_records, due_referrals
from coordinator.retention.service import destroy_keys_left_behind, erase_due, notify_upcoming_erasures, sweep_records


class NotMigrated(RuntimeError):
    """Values still sealed under the programme keys: erasing would not reach their backups."""


@dataclass
class RunReport:
    """What a run did (or, dry, would do): referrals erased, referrals held back, and the other kinds' counts."""

    erased: list[Candidate] = field(default_factory=list)
    held: list[Candidate] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    notified: int = 0

    def summary(self) -> str:
        """One line for the job's record."""
        others = ", ".join(f"{count} {kind}" for kind, count in self.records.items())
        return f"{len(self.erased)} referrals erased, {len(self.held)} held back; {others}"


def plan() -> RunReport:
    """What a run would do now, changing nothing."""
    due = due_referrals()
    return RunReport(erased=[c for c in due if not c.held], held=[c for c in due if c.held],
                     records=count_due_records())


def check_migrated() -> None:
    """Refuse to erase while any referral's value is still under the programme keys (run the migration first)."""
    with unit_of_work():
        left = sum(count_legacy().values())
    if left:
        raise NotMigrated(f"{left} rows still hold values under the programme keys, which erasing a referral's key "
                          "would not reach: run `flask --app app keys migrate-to-envelope` first.")


def run_schedule(progress: Callable[[str], None] = lambda _line: None) -> RunReport:
    """Tell coordinators what is coming, erase what is due and not held, then the other kinds; audited."""
    check_migrated()
    report = plan()
    db.session.rollback()  # the plan was a read; each step below is its own transaction
    with unit_of_work():
        report.notified = notify_upcoming_erasures()
        late = destroy_keys_left_behind()
    session = db.session
    try:
        for step in erase_due():
            session.commit()
            progress(f"{step.table}: {step.done}/{step.total} erased")
    except BaseException:
        session.rollback()
        raise
    if report.erased or late:
        compact_key_store(db.engine)
    with unit_of_work():
        report.records = sweep_records()
        record(SYSTEM, "retention.run", details={"referrals": len(report.erased), "held": len(report.held),
                                                  "keys_destroyed_late": late, **report.records})
    return report
