"""Concurrent appends from several OS processes keep one gap-free, verifiable chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from collections import Counter

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
