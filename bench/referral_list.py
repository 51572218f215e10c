"""Benchmark: the referral list page and GET /api/v1/referrals with 100,000 referrals (budget: 50 ms median).

Run with `make bench` (both backends) or `.venv/bin/python -m bench.referral_list --backend sqlite`.
Each run builds a fresh database, fills it with fictional rows in bulk, then times requests in-process through
the whole Flask stack (routing, session, scope, queries, audit append, template or JSON) with the test client.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("COORDINATOR_ENV", "testing")

from sqlalchemy import insert

from bench.scratch import filled, scratch_database
from config import TestConfig, generate_encryption_key
from coordinator.accounts.models import SYSTEM, User
from coordinator.accounts.service import issue_token, password_hasher
from coordinator.crypto import seal_context, seal_value
from coordinator.db import db
from coordinator.factory import create_app
from coordinator.referrals.models import CriminalCase, Party, Referral, ReferralStatus

BUDGET_MS = 50.0
PASSWORD = "benchmark passphrase"
STATUSES = [status.value for status in ReferralStatus]


def build(app, referrals: int, facilitators: int = 200, prosecutors: int = 40, batch: int = 5000) -> dict:
    """Fill the database in bulk; returns the users the benchmark signs in as."""
    keyring = app.extensions["keyring"]
    now = datetime.now(UTC)
    rng = random.Random(42)
    with app.app_context():
        hashed = password_hasher().hash(PASSWORD)
        users = {"coordinator": [], "facilitator": [], "prosecutor": []}
        rows = []
        for role, number in (("coordinator", 1), ("facilitator", facilitators), ("prosecutor", prosecutors)):
            for index in range(number):
                user_id = uuid.uuid4()
                rows.append({"id": user_id, "email": f"{role}{index}@bench.example", "role": role,
                             "password_hash": hashed, "language": "en", "active": True, "created_at": now,
                             "password_changed_at": now,
                             "name_enc": keyring.seal(f"{role.title()} {index}", seal_context("users", "name_enc",
                                                                                              user_id))})
                users[role].append(user_id)
        connection = db.session.connection()
        connection.execute(insert(User), rows)
        cases = []
        for index in range(referrals // 2):
            cases.append({"id": uuid.uuid4(), "jurisdiction": "Benchshire", "court": "Bench Court",
                          "docket_number": f"B-{index:07d}", "charges": ["Human trafficking"], "stage": "charged",
                          "prosecutor_id": users["prosecutor"][index % prosecutors], "created_at": now})
        for start in range(0, len(cases), batch):
            connection.execute(insert(CriminalCase), cases[start:start + batch])
        for start in range(0, referrals, batch):
            referral_rows, party_rows = [], []
            for index in range(start, min(start + batch, referrals)):
                referral_id = uuid.uuid4()
                lead, co = rng.sample(users["facilitator"], 2)
                received = now - timedelta(minutes=index)
                referral_rows.append({
                    "id": referral_id, "reference": f"RJ-2026-{index + 1:06d}", "source": "prosecutor",
                    "status": rng.choice(STATUSES), "case_id": cases[index // 2]["id"], "lead_facilitator_id": lead,
                    "co_facilitator_id": co, "received_at": received, "updated_at": received,
                })
                for role in ("survivor", "responsible_party"):
                    party_id = uuid.uuid4()
                    party_rows.append({
                        "id": party_id, "referral_id": referral_id, "role": role, "preferred_language": "es",
                        "needs_interpreter": False,
                        # Under the referral's own data key, created in the session with its first value.
                        "alias_enc": seal_value(referral_id, f"Alias {index}",
                                                seal_context("parties", "alias_enc", party_id)),
                    })
            connection.execute(insert(Referral), referral_rows)
            connection.execute(insert(Party), party_rows)
            db.session.flush()  # the batch's data keys
        db.session.commit()
        coordinator = db.session.get(User, users["coordinator"][0])
        _, token = issue_token(SYSTEM, coordinator, "bench")
        tokens = {"coordinator": token}
        for role in ("facilitator", "prosecutor"):
            _, tokens[role] = issue_token(SYSTEM, db.session.get(User, users[role][0]), "bench")
        db.session.commit()
        emails = {role: f"{role}0@bench.example" for role in users}
    return {"tokens": tokens, "emails": emails}


def sign_in(app, email: str):
    """A test client with a live staff session."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    token = page.split(marker, 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def time_requests(call, requests: int) -> dict:
    """Median and p95 in milliseconds, after a warm-up."""
    for _ in range(5):
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2)}


def run(backend: str, referrals: int, requests: int) -> list[dict]:
    """Build one backend's database and time the list page and the list endpoint for three roles."""
    key = generate_encryption_key()
    results = []
    with scratch_database(backend) as database_url:
        started = time.perf_counter()
        people = filled(database_url, key, build, referrals=referrals)
        print(f"[{backend}] built {referrals:,} referrals in {time.perf_counter() - started:.1f} s", flush=True)
        app = create_app(TestConfig({"DATABASE_URL": database_url, "COORDINATOR_ENCRYPTION_KEYS": key}))
        try:
            for role in ("coordinator", "facilitator", "prosecutor"):
                browser = sign_in(app, people["emails"][role])
                headers = {"Authorization": f"Bearer {people['tokens'][role]}"}
                api = app.test_client()
                for name, client, path, extra in (
                    ("page /referrals", browser, "/referrals", {}),
                    ("page /referrals?status=preparation", browser, "/referrals?status=preparation", {}),
                    ("api GET /api/v1/referrals", api, "/api/v1/referrals", {"headers": headers}),
                ):
                    figures = time_requests(functools.partial(client.get, path, **extra), requests)
                    results.append({"backend": backend, "role": role, "request": name, **figures})
                    print(f"[{backend}] {role:<12} {name:<38} median {figures['median_ms']:7.2f} ms   "
                          f"p95 {figures['p95_ms']:7.2f} ms", flush=True)
        finally:
            app.extensions["db_engine"].dispose()
    return results


def main() -> int:
    """Run the benchmark; exit 1 when a median exceeds the budget."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [row for backend in backends for row in run(backend, args.referrals, args.requests)]
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "referral_list.json").write_text(json.dumps(results, indent=2))
    over = [row for row in results if row["median_ms"] > BUDGET_MS]
    for row in over:
        print(f"OVER BUDGET: {row['backend']} {row['role']} {row['request']}: {row['median_ms']} ms", file=sys.stderr)
    print(f"{'All' if not over else 'Not all'} medians within {BUDGET_MS:.0f} ms.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
