"""Benchmark: the outbox dispatcher sends 1,000 queued emails through a relay 5 ms away (budget: 20 s).

Run with `make bench` (both backends) or `.venv/bin/python -m bench.outbox_dispatch --backend sqlite`.
Each run builds a fresh database, creates staff accounts and queues the emails with `queue_message` in one
transaction, then times `dispatch_outbox` (claim, render in the recipient's language, hand over by SMTP, record
the outcome) until the outbox is empty, and checks that the SMTP server received every message exactly once.
The relay (aiosmtpd) runs in a process of its own, as a relay would, so it does not compete with the dispatcher for
the interpreter; it waits `--relay-ms` (5) before each reply, as a relay some distance away would, so one connection
alone cannot meet the budget (four replies per message: 1,000 x 20 ms) and the parallel connections
(OUTBOX_CONNECTIONS) are what is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

os.environ.setdefault("COORDINATOR_ENV", "testing")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy import func, select

from bench.scratch import scratch_database
from config import TestConfig, generate_encryption_key
from coordinator.accounts.models import SYSTEM, Role
from coordinator.accounts.service import create_user
from coordinator.commands import upgrade_database
from coordinator.db import db
from coordinator.factory import create_app
from coordinator.notifications.dispatch import DispatchReport, dispatch_outbox, worker_name
from coordinator.notifications.models import Channel, DeliveryStatus, OutboxMessage
from coordinator.notifications.service import queue_message

BUDGET_SECONDS = 20.0
LANGUAGES = ("en", "es", "fr")
QUIET_LOGGERS = ("mail.log", "alembic")  # the SMTP server logs every command it receives: that is not ours to time


class CountingHandler:
    """An SMTP handler that counts what arrives and keeps each Message-ID, to spot duplicates."""

    def __init__(self):
        self.received = 0
        self.message_ids: set[str] = set()
        self.guard = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message_id = next((line.split(b":", 1)[1].strip() for line in envelope.content.splitlines()
                           if line.lower().startswith(b"message-id:")), b"")
        with self.guard:
            self.received += 1
            self.message_ids.add(message_id.decode())
        return "250 Message accepted"


class DistantRelay(SMTP):
    """An SMTP session that waits before each reply (not before each line of a multi-line one)."""

    delay = 0.0

    async def push(self, status):
        if self.delay and str(status)[3:4] != "-":
            await asyncio.sleep(self.delay)
        await super().push(status)


class RelayController(Controller):
    """aiosmtpd's controller serving DistantRelay sessions; counts the connections it accepted."""

    def __init__(self, *args, delay: float, **kwargs):
        self.delay = delay
        self.connections = 0
        super().__init__(*args, **kwargs)

    def factory(self):
        self.connections += 1
        server = DistantRelay(self.handler, **self.SMTP_kwargs)
        server.delay = self.delay
        return server


def free_port() -> int:
    """A local port nobody listens on (aiosmtpd's Controller needs one it can connect to once started)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(app, messages: int, staff: int) -> None:
    """Create staff accounts in three languages and queue `messages` emails to them, in one transaction."""
    with app.app_context():
        users = [create_user(SYSTEM, email=f"facilitator{index}@bench.example", role=Role.facilitator,
                             name=f"Facilitator {index}", password="benchmark passphrase",
                             language=LANGUAGES[index % len(LANGUAGES)])[0] for index in range(staff)]
        for index in range(messages):
            queue_message(Channel.email, "referral_assigned", recipient_kind="user",
                          recipient_id=users[index % staff].id, key=f"bench:referral_assigned:{index}",
                          params={"referral_id": str(uuid.uuid4())})
        db.session.commit()


def outbox_left(app) -> int:
    """Messages still waiting or being sent."""
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([DeliveryStatus.queued, DeliveryStatus.sending]))
        ).scalar_one()


def dispatch_until_empty(app) -> DispatchReport:
    """Call the dispatcher as the job does (one app context per run) until nothing is left to send."""
    total = DispatchReport()
    while True:
        with app.app_context():
            report = dispatch_outbox(worker_name())
        total += report
        if report.claimed == 0:
            return total


def relay(port: int, delay: float, ready, stop, counts) -> None:
    """The relay's process: serve until told to stop, then report what arrived."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = CountingHandler()
    smtp = RelayController(handler, hostname="127.0.0.1", port=port, delay=delay)
    smtp.start()
    ready.set()
    stop.wait()
    smtp.stop()
    counts.put((handler.received, sorted(handler.message_ids), smtp.connections))


def run(backend: str, messages: int, staff: int, relay_ms: float, connections: int) -> dict:
    """Build one backend's database, queue the emails and time their dispatch."""
    port = free_port()
    context = multiprocessing.get_context("spawn")
    ready, stop, counts = context.Event(), context.Event(), context.Queue()
    relay_process = context.Process(target=relay, args=(port, relay_ms / 1000, ready, stop, counts))
    relay_process.start()
    if not ready.wait(60):
        raise RuntimeError("the relay did not start")
    try:
        with scratch_database(backend) as database_url:
            app = create_app(TestConfig({
                "DATABASE_URL": database_url, "COORDINATOR_ENCRYPTION_KEYS": generate_encryption_key(),
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "COORDINATOR_BASE_URL": "https://circles.example.org",
                "OUTBOX_CONNECTIONS": str(connections),
            }))
            try:
                with app.app_context():
                    upgrade_database()
                started = time.perf_counter()
                build(app, messages, staff)
                print(f"[{backend}] queued {messages:,} emails to {staff} staff in "
                      f"{time.perf_counter() - started:.1f} s", flush=True)
                started = time.perf_counter()
                report = dispatch_until_empty(app)
                elapsed = time.perf_counter() - started
                left = outbox_left(app)
            finally:
                app.extensions["db_engine"].dispose()
    finally:
        stop.set()
        received, message_ids, smtp_connections = counts.get(timeout=60)
        relay_process.join(30)
    result = {"backend": backend, "messages": messages, "relay_ms_per_reply": relay_ms,
              "connections_setting": connections, "smtp_connections": smtp_connections, "seconds": round(elapsed, 3),
              "per_second": round(messages / elapsed, 1), "sent": report.sent, "retrying": report.retrying,
              "parked": report.parked, "left_in_outbox": left, "smtp_received": received,
              "distinct_message_ids": len(set(message_ids))}
    print(f"[{backend}] dispatched {report.sent:,} emails in {elapsed:.2f} s ({result['per_second']:,.1f} messages/s); "
          f"the relay received {received:,} ({len(set(message_ids)):,} distinct) over "
          f"{smtp_connections} connections, {relay_ms:g} ms per reply", flush=True)
    return result


def problems(result: dict) -> list[str]:
    """What is wrong with one run: over budget, or not every message delivered exactly once."""
    found = []
    if result["seconds"] > BUDGET_SECONDS:
        found.append(f"{result['seconds']} s is over the {BUDGET_SECONDS:.0f} s budget")
    expected = result["messages"]
    if not (result["smtp_received"] == result["distinct_message_ids"] == result["sent"] == expected):
        found.append(f"expected {expected} messages delivered once each: sent {result['sent']}, "
                     f"received {result['smtp_received']}, distinct {result['distinct_message_ids']}")
    if result["left_in_outbox"] or result["retrying"] or result["parked"]:
        found.append(f"{result['left_in_outbox']} left in the outbox, {result['retrying']} retrying, "
                     f"{result['parked']} parked")
    return found


def main() -> int:
    """Run the benchmark; exit 1 when a run is over budget or lost or duplicated a message."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--staff", type=int, default=30, help="how many staff accounts the emails go to")
    parser.add_argument("--relay-ms", type=float, default=5.0, help="the relay's wait before each reply")
    parser.add_argument("--connections", type=int, default=TestConfig.OUTBOX_CONNECTIONS,
                        help="parallel SMTP connections (OUTBOX_CONNECTIONS)")
    args = parser.parse_args()
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(backend, args.messages, args.staff, args.relay_ms, args.connections) for backend in backends]
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "outbox_dispatch.json").write_text(json.dumps(results, indent=2))
    failed = [(row["backend"], problem) for row in results for problem in problems(row)]
    for backend, problem in failed:
        print(f"FAILED: {backend}: {problem}", file=sys.stderr)
    print(f"{'Every' if not failed else 'Not every'} run delivered each message once within {BUDGET_SECONDS:.0f} s.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
