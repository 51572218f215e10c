"""Concurrent appends from several OS processes and threads keep one gap-free, verifiable chain (SQLite and
PostgreSQL), and an open transaction that audited holds nobody up (PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from coordinator.accounts.models import SYSTEM
from coordinator.audit.models import AuditEntry, AuditHead
from coordinator.audit.service import record, verify_chain
from coordinator.db import db
from tests.conftest import make_app

PROCESSES = 4
APPENDS = 40
TIMEOUT_SECONDS = 120


def append_from_own_process(database_url: str, worker: int, start, appends: int) -> None:
    """Child process: build an app, wait for the others, then append `appends` entries, one transaction each."""
    app = make_app(database_url)
    start.wait(timeout=TIMEOUT_SECONDS)
    try:
        for number in range(appends):
            with app.app_context():
                record(SYSTEM, "test.append", details={"worker": worker, "number": number})
                db.session.commit()
    finally:
        app.extensions["db_engine"].dispose()


def run_appenders(database_url: str, processes: int, appends: int) -> list[int | None]:
    """Start the children together and return their exit codes."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    children = [context.Process(target=append_from_own_process, args=(database_url, worker, start, appends))
                for worker in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join(TIMEOUT_SECONDS)
    for child in children:
        if child.is_alive():
            child.kill()
            child.join()
    return [child.exitcode for child in children]


def test_concurrent_appends_from_processes_form_one_intact_chain(app, database_url):
    """Every append lands exactly once, with seqs 1..N, and the chain and its head verify."""
    exit_codes = run_appenders(database_url, PROCESSES, APPENDS)
    assert exit_codes == [0] * PROCESSES

    total = PROCESSES * APPENDS
    with app.app_context():
        seqs = list(db.session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq)).scalars())
        per_worker = Counter(details["worker"] for details in db.session.execute(select(AuditEntry.details)).scalars())
        head = db.session.get(AuditHead, 1)
        report = verify_chain()
    assert seqs == list(range(1, total + 1))
    assert per_worker == dict.fromkeys(range(PROCESSES), APPENDS)
    assert (head.last_seq, report.checked) == (total, total)
    assert report.intact, report.problem

    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"intact: {total} entries" in result.output


def test_an_open_transaction_that_audited_holds_nobody_up(app):
    """PostgreSQL: a request that recorded an entry and is still working does not make another request's audit
    wait; both entries are chained, in commit order, once each."""
    if app.extensions["db_engine"].dialect.name != "postgresql":
        pytest.skip("SQLite serializes every write transaction (BEGIN IMMEDIATE): nothing to measure there")
    recorded, release = threading.Event(), threading.Event()

    def slow_request() -> None:
        with app.app_context():
            record(SYSTEM, "test.slow")
            db.session.execute(select(AuditHead.last_seq))  # the transaction is open
            recorded.set()
            release.wait(TIMEOUT_SECONDS)
            db.session.commit()

    slow = threading.Thread(target=slow_request)
    slow.start()
    try:
        assert recorded.wait(TIMEOUT_SECONDS)
        started = time.monotonic()
        with app.app_context():
            record(SYSTEM, "test.quick")
            db.session.commit()
        waited = time.monotonic() - started
    finally:
        release.set()
        slow.join(TIMEOUT_SECONDS)
    assert waited < 2, f"the quick request waited {waited:.1f} s for the slow one"
    with app.app_context():
        actions = list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())
        assert verify_chain().intact
    assert actions == ["test.quick", "test.slow"]


def test_threads_auditing_at_once_lose_nothing(app):
    """Many threads, each recording several entries per transaction and lingering before commit: one gap-free
    chain with every entry."""
    threads, transactions, per_transaction = 8, 10, 3
    start = threading.Barrier(threads)

    def worker(number: int) -> None:
        start.wait(TIMEOUT_SECONDS)
        for transaction in range(transactions):
            with app.app_context():
                for position in range(per_transaction):
                    record(SYSTEM, "test.thread", details={"worker": number, "n": transaction, "p": position})
                time.sleep(0.002)  # work after auditing, as a request renders after its scope check
                db.session.commit()

    pool = [threading.Thread(target=worker, args=(number,)) for number in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(TIMEOUT_SECONDS)
    total = threads * transactions * per_transaction
    with app.app_context():
        seqs = list(db.session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq)).scalars())
        details = list(db.session.execute(select(AuditEntry.details).order_by(AuditEntry.seq)).scalars())
        report = verify_chain()
    assert seqs == list(range(1, total + 1))
    assert len({(d["worker"], d["n"], d["p"]) for d in details}) == total
    assert report.intact, report.problem
    # A transaction's entries stay together and in the order recorded.
    for first in range(0, total, per_transaction):
        group = details[first:first + per_transaction]
        assert [d["p"] for d in group] == list(range(per_transaction))
        assert len({(d["worker"], d["n"]) for d in group}) == 1


def test_verification_while_requests_append_sees_one_consistent_chain(app):
    """Entries committed while the daily verification walks the chain neither break it nor fail the job's own
    entry (PostgreSQL reads one snapshot)."""
    with app.app_context():
        for number in range(300):
            record(SYSTEM, "test.before", details={"n": number})
        db.session.commit()
    stop = threading.Event()

    def append_meanwhile() -> None:
        while not stop.is_set():
            with app.app_context():
                record(SYSTEM, "test.meanwhile")
                db.session.commit()

    appender = threading.Thread(target=append_meanwhile)
    appender.start()
    try:
        outputs = [app.test_cli_runner().invoke(args=["jobs", "run", "verify_audit_chain"]).output
                   for _ in range(3)]
    finally:
        stop.set()
        appender.join(TIMEOUT_SECONDS)
    assert all("verify_audit_chain: ok: intact," in output for output in outputs), outputs
    with app.app_context():
        assert verify_chain().intact
