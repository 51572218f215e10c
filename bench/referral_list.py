"""Benchmark: the referral list page and GET /api/v1/referrals at 1,000 and at 100,000 referrals (issue 15).

Run with `make bench` (both backends) or `.venv/bin/python -m bench.referral_list --backend sqlite`.
Each size gets a fresh scratch database (removed after), filled with fictional rows in bulk. For coordinator,
facilitator and prosecutor it walks the list's pages through the API (rows per page, every row in the role's scope,
no row twice, the total) and then times the first and the last page of the list page and of the endpoint,
in-process through the whole Flask stack with the test client. Budget: each at most 1.5x slower at 100k than at 1k.
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

from sqlalchemy import insert, or_, select

from bench.scratch import filled, scratch_database, worker_app
from config import generate_encryption_key
from coordinator.accounts.models import SYSTEM, User
from coordinator.accounts.service import issue_token, password_hasher
from coordinator.crypto import seal_context, seal_value
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Party, Referral, ReferralStatus

GROWTH_BUDGET = 1.5  # issue 15: a list request at 100k referrals costs at most 1.5x what it costs at 1k
# The facilitator and the prosecutor the benchmark signs in as hold one referral (one case) in this many: a full first
# and last page at 1k as at 100k, so the ratio compares the same page over a scope 100 times larger, not a 7-row page
# with a 50-row one.
BENCHED_SHARE = 20  # 1k: exactly one full page (50); 100k: 100 full pages
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
            prosecutor = users["prosecutor"][0 if index % BENCHED_SHARE == 0 else 1 + index % (prosecutors - 1)]
            cases.append({"id": uuid.uuid4(), "jurisdiction": "Benchshire", "court": "Bench Court",
                          "docket_number": f"B-{index:07d}", "charges": ["Human trafficking"], "stage": "charged",
                          "prosecutor_id": prosecutor, "created_at": now})
        for start in range(0, len(cases), batch):
            connection.execute(insert(CriminalCase), cases[start:start + batch])
        for start in range(0, referrals, batch):
            referral_rows, party_rows = [], []
            for index in range(start, min(start + batch, referrals)):
                referral_id = uuid.uuid4()
                lead, co = rng.sample(users["facilitator"][1:], 2)
                if index % BENCHED_SHARE == 0:
                    lead = users["facilitator"][0]
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


def in_scope(app, role: str, email: str) -> set[str]:
    """The ids of the referrals `role` may see, read straight from the tables (the benchmark's own scope rule)."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        query = select(Referral.id)
        if role == "facilitator":
            query = query.where(or_(Referral.lead_facilitator_id == user.id, Referral.co_facilitator_id == user.id))
        elif role == "prosecutor":
            query = query.join(CriminalCase, CriminalCase.id == Referral.case_id).where(
                CriminalCase.prosecutor_id == user.id)
        return {str(referral_id) for referral_id in db.session.execute(query).scalars()}


def run(backend: str, referrals: int, requests: int) -> list[dict]:
    """Build one backend's database; for each role walk the list's pages (checking rows and scope), then time the
    first and the last page of the list page and of the list endpoint."""
    key = generate_encryption_key()
    results = []
    with scratch_database(backend) as database_url:
        started = time.perf_counter()
        people = filled(database_url, key, build, referrals=referrals)
        print(f"[{backend}] built {referrals:,} referrals in {time.perf_counter() - started:.1f} s", flush=True)
        app = worker_app(database_url, key)
        per_page = app.config["PER_PAGE"]
        try:
            for role in ("coordinator", "facilitator", "prosecutor"):
                browser = sign_in(app, people["emails"][role])
                headers = {"Authorization": f"Bearer {people['tokens'][role]}"}
                api = app.test_client()
                scope = in_scope(app, role, people["emails"][role])
                last = max(1, -(-len(scope) // per_page))
                check_pages(api, headers, scope, per_page, last)
                for name, client, path, extra in (
                    ("page first", browser, "/referrals", {}),
                    ("page last", browser, f"/referrals?page={last}", {}),
                    ("api first", api, "/api/v1/referrals", {"headers": headers}),
                    ("api last", api, f"/api/v1/referrals?page={last}", {"headers": headers}),
                ):
                    figures = time_requests(functools.partial(client.get, path, **extra), requests)
                    results.append({"backend": backend, "referrals": referrals, "role": role, "request": name,
                                    "in_scope": len(scope), **figures})
                    print(f"[{backend} {referrals:>7,}] {role:<12} {name:<11} ({len(scope):>6,} in scope)  median "
                          f"{figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms", flush=True)
        finally:
            app.extensions["db_engine"].dispose()
    return results


def check_pages(api, headers: dict, scope: set[str], per_page: int, last: int) -> None:
    """Pages 1, 2, the middle, the one before last and the last: the right number of rows, each in scope, no row on
    two pages, and the total equal to the scope's size."""
    seen: set[str] = set()
    for page in sorted({1, min(2, last), max(1, last // 2), max(1, last - 1), last}):
        answer = api.get(f"/api/v1/referrals?page={page}", headers=headers)
        assert answer.status_code == 200, answer.status_code
        body = answer.get_json()
        ids = [item["id"] for item in body["items"]]
        expected_rows = max(0, min(per_page, len(scope) - (page - 1) * per_page))
        assert body["total"] == len(scope), (body["total"], len(scope))
        assert len(ids) == expected_rows, (page, len(ids), expected_rows)
        assert set(ids) <= scope, "a row outside the caller's scope"
        assert not seen & set(ids), "a row on two pages"
        seen |= set(ids)


def main() -> int:
    """Run the benchmark at two sizes; exit 1 when a request grows more than GROWTH_BUDGET from the small to the
    large programme (first and last page, every role, both backends)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--referrals", type=int, default=100_000, help="the large programme")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [row for backend in backends for size in (args.small, args.referrals)
               for row in run(backend, size, args.requests)]
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "referral_list.json").write_text(json.dumps(results, indent=2))
    small = {(r["backend"], r["role"], r["request"]): r for r in results if r["referrals"] == args.small}
    over = []
    print(f"\nGrowth {args.small:,} -> {args.referrals:,} referrals (median; budget x{GROWTH_BUDGET}):")
    for row in (r for r in results if r["referrals"] == args.referrals):
        base = small[(row["backend"], row["role"], row["request"])]
        growth = row["median_ms"] / base["median_ms"]
        verdict = "pass" if growth <= GROWTH_BUDGET else "FAIL"
        print(f"  {row['backend']:<10} {row['role']:<12} {row['request']:<11} {base['median_ms']:7.2f} -> "
              f"{row['median_ms']:7.2f} ms   x{growth:.2f}   {verdict}")
        if verdict == "FAIL":
            over.append(row)
    print(f"{'All' if not over else 'Not all'} requests within x{GROWTH_BUDGET} growth.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
