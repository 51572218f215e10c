"""Benchmark: `audit verify` after 150,000 entries (budget: 2 s when incremental), on PostgreSQL by default.

Run with `make bench` or `.venv/bin/python -m bench.audit_verify [--backend sqlite|postgresql] [--entries N]`.
A fresh scratch database is filled with a valid chain of N entries (hashed as the service hashes them, inserted in
bulk), then, in this process:

1. a full verification (every entry; it stores the verified point) and a signed checkpoint of the head;
2. 1,000 entries appended through `record()`, ten per transaction, as requests would;
3. an incremental verification (the new entries, the stored point and the checkpoint).

Figures are printed; the exit status is non-zero when the incremental run is over budget or either run finds the
chain broken. The scratch database and the checkpoint file are removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

os.environ.setdefault("COORDINATOR_ENV", "testing")

from sqlalchemy import insert, update

from bench.scratch import filled, scratch_database
from config import TestConfig, generate_encryption_key
from coordinator.accounts.models import SYSTEM
from coordinator.audit.checkpoints import verify_all, write_checkpoint
from coordinator.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from coordinator.audit.service import ChainReport, entry_hash, record
from coordinator.db import db
from coordinator.factory import create_app

BUDGET_SECONDS = 2.0
APPENDED = 1_000
ACTIONS = ["referral.view", "consent.view", "risk.view", "prosecution.disclose", "referral.list", "session.book"]


def build(app, entries: int, batch: int = 5_000) -> int:
    """Insert a valid chain of `entries` entries in bulk and move the head to its end."""
    rng = random.Random(15)
    referrals = [uuid.uuid4() for _ in range(2_000)]
    actors = [str(uuid.uuid4()) for _ in range(50)]
    start = datetime.now(UTC) - timedelta(days=30)
    previous = GENESIS_HASH
    with app.app_context():
        connection = db.session.connection()
        for first in range(1, entries + 1, batch):
            rows = []
            for seq in range(first, min(first + batch, entries + 1)):
                action = rng.choice(ACTIONS)
                referral_id = rng.choice(referrals)
                listed = action.endswith(("disclose", "list"))
                details = {"ids": [str(rng.choice(referrals)) for _ in range(25)]} if listed else {"view": "detail"}
                row = {"seq": seq, "at": start + timedelta(seconds=seq * 17), "actor_type": "user",
                       "actor_id": rng.choice(actors), "action": action, "object_type": "referrals",
                       "object_id": str(referral_id), "referral_id": referral_id, "details": details,
                       "prev_hash": previous}
                row["hash"] = previous = entry_hash(SimpleNamespace(**row))  # what the service hashes, built faster
                rows.append(row)
            connection.execute(insert(AuditEntry), rows)
        connection.execute(update(AuditHead).where(AuditHead.id == 1).values(last_seq=entries, last_hash=previous))
        db.session.commit()
    return entries


def timed(app, **options) -> tuple[float, ChainReport]:
    """Seconds for one `verify_all()` in its own transaction, and its report."""
    with app.app_context():
        started = time.perf_counter()
        report = verify_all(**options)
        db.session.commit()
        return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--entries", type=int, default=150_000)
    args = parser.parse_args()
    key = generate_encryption_key()
    folder = tempfile.mkdtemp(prefix="ck-bench-audit-")
    try:
        with scratch_database(args.backend) as url:
            started = time.perf_counter()
            filled(url, key, build, entries=args.entries)
            print(f"audit verify [{args.backend}]: {args.entries:,} entries built in "
                  f"{time.perf_counter() - started:.1f} s")
            app = create_app(TestConfig({"DATABASE_URL": url, "COORDINATOR_ENCRYPTION_KEYS": key,
                                         "COORDINATOR_AUDIT_CHECKPOINT_PATH": f"{folder}/checkpoints.jsonl"}))
            full_seconds, full = timed(app, full=True)
            with app.app_context():
                write_checkpoint(full)
            started = time.perf_counter()
            for number in range(APPENDED // 10):
                with app.app_context():
                    for position in range(10):
                        record(SYSTEM, "bench.append", details={"n": number, "p": position})
                    db.session.commit()
            append_seconds = time.perf_counter() - started
            incremental_seconds, incremental = timed(app)
            app.extensions["db_engine"].dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"  full verify:        {full.checked:>7,} entries in {full_seconds:6.2f} s")
    print(f"  append {APPENDED:,} entries through record(), 10 per commit: {append_seconds:.2f} s "
          f"({append_seconds / APPENDED * 1000:.2f} ms each)")
    print(f"  incremental verify: {incremental.checked:>7,} entries in {incremental_seconds:6.2f} s "
          f"(budget {BUDGET_SECONDS:.0f} s)")
    failures = []
    for name, report in (("full", full), ("incremental", incremental)):
        if not report.intact:
            failures.append(f"{name} verification found the chain broken: {report.problem}")
    if incremental_seconds > BUDGET_SECONDS:
        failures.append(f"incremental verify took {incremental_seconds:.2f} s, over the {BUDGET_SECONDS:.0f} s budget")
    for failure in failures:
        print(f"  OVER BUDGET / FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
