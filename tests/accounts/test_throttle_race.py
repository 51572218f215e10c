"""Failure counters are atomic: twenty processes count failed sign-ins for one account at the same moment, each in
its own transaction, and not one is lost (one INSERT ... ON CONFLICT DO UPDATE ... RETURNING per count).

It runs on both backends: PostgreSQL takes a row lock per upsert; SQLite serializes writers (BEGIN IMMEDIATE), so
there it shows the statement is correct under real concurrent processes, not that SQLite could race."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import text

from coordinator.accounts import throttling
from coordinator.accounts.throttling import Attempt
from coordinator.db import db
from tests.conftest import make_app

PROCESSES = 20
FAILURES_EACH = 10
EMAIL = "target@staff.example"


def count_failures(database_url: str, address: str, start, results) -> None:
    """One process: wait for the others, then count failures, one transaction each."""
    app = make_app(database_url)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connected before the start, so all begin counting together
        db.session.rollback()
        start.wait(timeout=60)
        seen = []
        for _ in range(FAILURES_EACH):
            seen.append(throttling.count_failure(Attempt(EMAIL, address))["account"])
            db.session.commit()
    app.extensions["db_engine"].dispose()
    results.put(seen)


def test_parallel_failures_are_all_counted(app, database_url, sql):
    """20 processes x 10 failures: the account's count is exactly 200, and every count from 1 to 200 was handed out
    once (no two increments read the same value); each address's own count is exactly 10."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=count_failures, args=(database_url, f"192.0.2.{n}", start, results))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    seen = sorted(value for _ in workers for value in results.get(timeout=120))
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    assert seen == list(range(1, PROCESSES * FAILURES_EACH + 1))
    with app.app_context():
        keys = [Attempt(EMAIL, f"192.0.2.{n}").keys() for n in range(PROCESSES)]
    counts = {row["key"]: row["failures"] for row in sql("SELECT key, failures FROM sign_in_throttles")}
    assert counts[keys[0]["account"]] == PROCESSES * FAILURES_EACH
    assert [counts[key["pair"]] for key in keys] == [FAILURES_EACH] * PROCESSES
    assert [counts[key["address"]] for key in keys] == [FAILURES_EACH] * PROCESSES
