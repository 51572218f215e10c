"""Benchmark: the data lifecycle's commands on the 20,000-referral programme of `bench/programme_views.py` (budget:
60 s each, per backend, measured as a whole `flask --app app ...` process from start to exit).

Run with `.venv/bin/python -m bench.data_lifecycle --backend sqlite` (or `postgresql`, or `both`, the default).
For each backend it builds the programme in a fresh scratch database (its builder seals every party alias and item
description under its referral's own data key), then, in order:

1. `keys migrate-to-envelope`: the programme is first put back as the release before the key store wrote it (every
   referral's value under the programme key, no data key), then the command moves it all under data keys again;
2. `keys rotate` with a new programme key first: it re-wraps every data key (and re-seals the staff names);
3. `retention run`: every referral that ended is given the status change the services would have written when it
   ended, every criminal case is closed, and the clock moves three years ahead, so that every ended referral is due
   (about 3,400); the command erases them, in batches, each with its audit entry.

Each result is checked (every value under a data key after 1; every data key wrapped by the new key after 2; every
due referral erased, its key destroyed and its sealed cells empty after 3). Scratch databases are removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("COORDINATOR_ENV", "testing")

from sqlalchemy import delete, func, insert, select, update

from bench.programme_views import build
from bench.scratch import filled, scratch_database
from config import TestConfig, generate_encryption_key
from coordinator import clock
from coordinator.crypto import ENVELOPE, keyring, open_value, seal_context
from coordinator.db import db
from coordinator.envelope import fields_of, owned_models, with_referral
from coordinator.factory import create_app
from coordinator.keystore import ReferralKey
from coordinator.referrals.models import TERMINAL, CriminalCase, Referral, StatusChange

BUDGET_SECONDS = 60.0
ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"referrals": 20_000, "cases": 2_000, "own_cases": 400, "prosecutors": 40, "facilitators": 100}


def app_for(url: str, keys: str):
    """An app on the scratch database with these programme keys."""
    return create_app(TestConfig({"DATABASE_URL": url, "COORDINATOR_ENCRYPTION_KEYS": keys}))


def command(url: str, keys: str, *args: str) -> tuple[float, str]:
    """Run one `flask --app app` command in its own process; returns (seconds, output)."""
    env = {**os.environ, "COORDINATOR_ENV": "testing", "DATABASE_URL": url, "COORDINATOR_ENCRYPTION_KEYS": keys}
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def as_before_the_key_store(app) -> int:
    """Re-seal every referral's value under the programme key and drop the data keys; returns the values moved."""
    moved = 0
    with app.app_context():
        ring = keyring()
        for model in owned_models():
            columns = fields_of(model)
            rows = db.session.execute(with_referral(model, model.id, *(getattr(model, c) for c in columns))).all()
            changes = []
            for row in rows:
                values = {}
                for column, value in zip(columns, row[1:-1], strict=True):
                    if value and value.startswith(ENVELOPE):
                        context = seal_context(model.__tablename__, column, row.id)
                        value = ring.seal(open_value(value, context, row.referral_id), context)
                        moved += 1
                    values[column] = value
                changes.append({"id": row.id, **values})
            for start in range(0, len(changes), 5000):
                db.session.execute(update(model), changes[start:start + 5000])  # by primary key
        db.session.execute(delete(ReferralKey))
        db.session.commit()
    return moved


def ended_as_the_services_record_it(app) -> int:
    """The status change into `completed`/`closed` each ended referral would have; every case closed."""
    with app.app_context():
        ended = db.session.execute(select(Referral.id, Referral.status, Referral.updated_at)
                                   .where(Referral.status.in_(TERMINAL))).all()
        db.session.execute(insert(StatusChange), [
            {"id": uuid.uuid4(), "referral_id": referral_id, "from_status": "monitoring", "to_status": status,
             "reason": None, "note_enc": None, "actor_type": "system", "actor_id": None, "at": at}
            for referral_id, status, at in ended])
        db.session.execute(update(CriminalCase).values(stage="closed"))
        db.session.commit()
        return len(ended)


def count(app, query) -> int:
    """One scalar count."""
    with app.app_context():
        return db.session.execute(query).scalar_one()


def run(backend: str) -> list[dict]:
    """Build, then time the three commands on one backend."""
    key_a, key_b = generate_encryption_key(), generate_encryption_key()
    results = []
    with scratch_database(backend) as url:
        started = time.perf_counter()
        built = filled(url, key_a, build, **OPTIONS)
        print(f"[{backend}] built {built['counts']['referrals']:,} referrals in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        app = app_for(url, key_a)
        try:
            moved = as_before_the_key_store(app)
            seconds, output = command(url, key_a, "keys", "migrate-to-envelope", "--batch-size", "1000")
            assert "0 left." in output, output
            keys = count(app, select(func.count()).select_from(ReferralKey))
            results.append({"backend": backend, "command": "keys migrate-to-envelope", "seconds": round(seconds, 2),
                            "values": moved, "data_keys": keys})
            print(f"[{backend}] keys migrate-to-envelope: {moved:,} values under {keys:,} data keys "
                  f"in {seconds:.2f} s", flush=True)

            seconds, output = command(url, f"{key_b},{key_a}", "keys", "rotate")
            rewrapped = int(output.split("referral data keys: ")[1].split()[0])
            app_b = app_for(url, f"{key_b},{key_a}")
            with app_b.app_context():
                newest = keyring().newest_id
            stale = count(app, select(func.count()).select_from(ReferralKey).where(ReferralKey.key_id != newest))
            assert rewrapped == keys and stale == 0, (rewrapped, keys, stale)
            results.append({"backend": backend, "command": "keys rotate", "seconds": round(seconds, 2),
                            "data_keys": rewrapped})
            print(f"[{backend}] keys rotate: {rewrapped:,} data keys re-wrapped in {seconds:.2f} s", flush=True)

            ended = ended_as_the_services_record_it(app)
            with app.app_context():
                ahead = clock.now().year + 3
            command(url, f"{key_b},{key_a}", "clock", "set", f"{ahead}-06-01T00:00:00")
            seconds, output = command(url, f"{key_b},{key_a}", "retention", "run")
            erased = count(app, select(func.count()).select_from(Referral).where(Referral.erased_at.is_not(None)))
            destroyed = count(app, select(func.count()).select_from(ReferralKey)
                              .where(ReferralKey.destroyed_at.is_not(None)))
            assert erased == ended == destroyed, (erased, ended, destroyed)
            assert f"referrals: {ended} erased" in output, output[-400:]
            results.append({"backend": backend, "command": "retention run", "seconds": round(seconds, 2),
                            "referrals_erased": erased, "referrals_total": OPTIONS["referrals"]})
            print(f"[{backend}] retention run: {erased:,} of {OPTIONS['referrals']:,} referrals erased in "
                  f"{seconds:.2f} s", flush=True)
            app_b.extensions["db_engine"].dispose()
        finally:
            app.extensions["db_engine"].dispose()
    return results


def main() -> int:
    """Run the benchmark; exit 1 when a command is over its budget."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [row for backend in backends for row in run(backend)]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "data_lifecycle.json").write_text(json.dumps(results, indent=2))
    over = [row for row in results if row["seconds"] > BUDGET_SECONDS]
    for row in over:
        print(f"OVER BUDGET: {row['backend']} {row['command']}: {row['seconds']} s > {BUDGET_SECONDS:.0f} s",
              file=sys.stderr)
    print(f"{'All' if not over else 'Not all'} commands within {BUDGET_SECONDS:.0f} s.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
