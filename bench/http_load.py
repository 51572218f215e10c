"""Benchmark: the service as production runs it, under load from many users, against a bare Flask baseline.

Run with `make bench-http` (or `.venv/bin/python -m bench.http_load`). It needs PostgreSQL, Redis and `wrk`.

It builds a programme on a scratch PostgreSQL database (bench/programme_views.py's builder), issues API tokens for
many coordinators' and prosecutors' clients, secure links and portal sessions for many parties, then starts
gunicorn with the project's gunicorn.conf.py (production settings: PostgreSQL, rate limits in Redis, the real
secrets checks) and, alternately under the same gunicorn settings, a bare Flask app that answers a small JSON body
(bench/bare_app.py). wrk loads each endpoint from many tokens and client addresses (X-Forwarded-For through one
trusted proxy, as behind a reverse proxy, so the rate limits see many users), alternating app and baseline rounds,
for 2 and then 4 workers. It prints, per endpoint and worker count, requests per second of the app divided by the
baseline's (the median over rounds; a ratio, because these machines are noisy), the p99 latency, the number of
non-2xx answers (must be 0), and the resident memory of the gunicorn master and of each worker.

Beside them it measures a floor for the audited read (bench/floor_app.py: the token looked up, the referral read,
one row logged and committed durably, with nothing else), in the same rounds: the least any design that logs a
read before answering it costs here. It is reported, not budgeted: it says how much of the distance to a budget
is the service's own code, and how much the work an audited read must do.

Budgets (issue 15): the audited `GET /api/v1/referrals/{id}` and the portal page at least 0.25 of the baseline,
the list at least 0.15, p99 under 50 ms for all of them, 4 workers no slower than 2, worker RSS under 120 MB, the
master under 60 MB. The run exits non-zero when a budget is missed or an answer is wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("COORDINATOR_ENV", "testing")

from sqlalchemy import select

from bench.programme_views import build as build_programme
from bench.scratch import filled, scratch_database
from config import TestConfig, generate_encryption_key, generate_signing_key
from coordinator import clock
from coordinator.accounts.models import SYSTEM, Role, User
from coordinator.accounts.service import issue_token
from coordinator.db import db
from coordinator.factory import create_app
from coordinator.portal.models import LinkChannel, PortalSession, SecureLink
from coordinator.referrals.models import CriminalCase, Party, PartyRole, Referral

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REDIS_URL = os.environ.get("COORDINATOR_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WRK_SCRIPT = ROOT / "bench" / "http_load.lua"
BUDGETS = {"referral": 0.25, "list": 0.15, "case": 0.15, "link": 0.25, "portal": 0.25}
P99_BUDGET_MS = 50.0
WORKER_RSS_MB, MASTER_RSS_MB = 120.0, 60.0


def build(app, referrals: int, clients: int, parties: int) -> dict:
    """The programme, then tokens for `clients` API clients per role and links and portal sessions for parties."""
    built = build_programme(app, referrals=referrals, cases=max(referrals // 10, 10), own_cases=max(referrals // 50, 2),
                            prosecutors=10, facilitators=40)
    with app.app_context():
        coordinator = db.session.execute(select(User).where(User.role == Role.coordinator)).scalars().first()
        prosecutor = db.session.execute(select(User).where(User.email == built["emails"]["prosecutor"])).scalar_one()
        tokens = {"coordinator": [issue_token(SYSTEM, coordinator, f"bench {i}")[1] for i in range(clients)],
                  "prosecutor": [issue_token(SYSTEM, prosecutor, f"bench {i}")[1] for i in range(clients)]}
        referral_ids = [str(i) for i in db.session.execute(select(Referral.id).limit(2000)).scalars()]
        dockets = list(db.session.execute(
            select(CriminalCase.docket_number).where(CriminalCase.prosecutor_id == prosecutor.id)).scalars())
        now = clock.now()
        links, sessions = [], []
        # Survivors: a responsible party's link opens only once the survivor agreed to contact.
        for party in db.session.execute(select(Party).where(Party.role == PartyRole.survivor).limit(parties)).scalars():
            token, portal_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            link = SecureLink(referral_id=party.referral_id, party_id=party.id, token_hash=sha256(token),
                              channel=LinkChannel.handover, created_at=now, expires_at=now + timedelta(days=7))
            db.session.add(link)
            db.session.flush()
            db.session.add(PortalSession(link_id=link.id, party_id=party.id, token_hash=sha256(portal_token),
                                         language="en", started_at=now, expires_at=now + timedelta(days=1)))
            links.append(token)
            sessions.append(portal_token)
        db.session.commit()
    return {"tokens": tokens, "referral_ids": referral_ids, "dockets": dockets, "links": links,
            "portal_sessions": sessions, "counts": built["counts"]}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(module: str, workers: int, env: dict, log: Path):
    """gunicorn with the project's settings on a free port; yields (base URL, master pid)."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--access-logfile", "/dev/null", module],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {module} did not start; see {log}") from None
                time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The worker processes of a gunicorn master."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def request_lines(kind: str, data: dict, cookie_value) -> list[str]:
    """Tab-separated request lines for the wrk script: path, Authorization, Cookie (each may be empty)."""
    rng = random.Random(7)
    lines = []
    # Enough client addresses that none meets the per-address link limit (30 a minute) however fast the app is:
    # a 429 would be a fast wrong answer, counted as a failure.
    for index in range(4000):
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if kind == "referral":
            lines.append((f"/api/v1/referrals/{rng.choice(data['referral_ids'])}",
                          "Bearer " + rng.choice(data["tokens"]["coordinator"]), "", address))
        elif kind == "list":
            lines.append((f"/api/v1/referrals?page={rng.randrange(1, 20)}",
                          "Bearer " + rng.choice(data["tokens"]["coordinator"]), "", address))
        elif kind == "case":
            lines.append((f"/api/v1/prosecution/cases/{rng.choice(data['dockets'])}",
                          "Bearer " + rng.choice(data["tokens"]["prosecutor"]), "", address))
        elif kind == "link":
            lines.append((f"/p/{data['links'][index % len(data['links'])]}", "", "", address))
        elif kind == "portal":
            session_token = data["portal_sessions"][index % len(data["portal_sessions"])]
            lines.append(("/portal", "", "ck_session=" + cookie_value(session_token), address))
    return ["\t".join(line) for line in lines]


def wrk(base: str, lines_file: Path, seconds: int, connections: int) -> dict:
    """One wrk run; returns requests per second, p99 in ms, and the count of non-2xx answers and socket errors."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), base, "--",
         str(lines_file)], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def check_answers(base: str, data: dict, cookie_value) -> None:
    """Before timing: each endpoint answers 200 with the right body, so the load measures real answers."""
    def get(path: str, headers: dict) -> tuple[int, bytes]:
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=10) as response:
            return response.status, response.read()

    referral_id = data["referral_ids"][0]
    status, body = get(f"/api/v1/referrals/{referral_id}",
                       {"Authorization": "Bearer " + data["tokens"]["coordinator"][0]})
    assert status == 200 and json.loads(body)["id"] == referral_id
    status, body = get("/api/v1/referrals?page=2", {"Authorization": "Bearer " + data["tokens"]["coordinator"][0]})
    assert status == 200 and len(json.loads(body)["items"]) == 50
    docket = data["dockets"][0]
    status, body = get(f"/api/v1/prosecution/cases/{docket}",
                       {"Authorization": "Bearer " + data["tokens"]["prosecutor"][0]})
    assert status == 200 and json.loads(body)["docket_number"] == docket
    status, body = get(f"/p/{data['links'][0]}", {})
    assert status == 200 and b'data-action="continue"' in body
    status, body = get("/portal", {"Cookie": "ck_session=" + cookie_value(data["portal_sessions"][0])})
    assert status == 200 and b'data-action="quick-exit"' in body


def run(options) -> dict:
    key, secret_key = generate_encryption_key(), secrets.token_urlsafe(48)
    scratch = Path(tempfile.mkdtemp(prefix="ck-http-load-"))
    try:
        with scratch_database("postgresql") as url:
            data = filled(url, key, build, referrals=options.referrals, clients=options.clients,
                          parties=options.parties)
            env = {**os.environ, "COORDINATOR_ENV": "production", "DATABASE_URL": url, "SECRET_KEY": secret_key,
                   "COORDINATOR_ENCRYPTION_KEYS": key, "COORDINATOR_BASE_URL": "https://circles.example.org",
                   "REDIS_URL": REDIS_URL, "COORDINATOR_TRUSTED_PROXIES": "1", "COORDINATOR_TIMEZONE": "Europe/Madrid",
                   "COORDINATOR_AUDIT_SIGNING_KEY": generate_signing_key()}
            signer = create_app(TestConfig({"DATABASE_URL": url, "SECRET_KEY": secret_key,
                                            "COORDINATOR_ENCRYPTION_KEYS": key}))
            serializer = signer.session_interface.get_signing_serializer(signer)

            def cookie_value(token: str) -> str:
                return serializer.dumps({"portal": token})

            files = {}
            for kind in options.kinds:
                files[kind] = scratch / f"{kind}.tsv"
                files[kind].write_text("\n".join(request_lines(kind, data, cookie_value)) + "\n")
            create_floor_log(url)
            results = {"counts": data["counts"], "runs": {}}
            for workers in options.workers:
                results["runs"][workers] = measure(options, env, workers, files, data, cookie_value, scratch)
            return results
    finally:
        flush_redis()
        shutil.rmtree(scratch, ignore_errors=True)


def measure(options, env: dict, workers: int, files: dict, data: dict, cookie_value, scratch: Path) -> dict:
    """Alternate app and baseline rounds for each endpoint; then the memory of the app's processes."""
    figures: dict = {}
    with gunicorn("app:app", workers, env, scratch / "app.log") as (app_base, app_pid), \
            gunicorn("bench.bare_app:app", workers, env, scratch / "bare.log") as (bare_base, _bare_pid), \
            gunicorn("bench.floor_app:app", workers, env, scratch / "floor.log") as (floor_base, _floor_pid):
        check_answers(app_base, data, cookie_value)
        check_answers_of_floor(floor_base, data)
        for kind, lines_file in files.items():
            app_runs, bare_runs, floor_runs = [], [], []
            wrk(app_base, lines_file, 2, options.connections)  # warm up both
            wrk(bare_base, lines_file, 2, options.connections)
            for _round in range(options.rounds):
                app_runs.append(wrk(app_base, lines_file, options.seconds, options.connections))
                bare_runs.append(wrk(bare_base, lines_file, options.seconds, options.connections))
                if kind == "referral":
                    floor_runs.append(wrk(floor_base, lines_file, options.seconds, options.connections))
            ratio = statistics.median(a["rps"] / b["rps"] for a, b in zip(app_runs, bare_runs, strict=True))
            figures[kind] = {"ratio": round(ratio, 3),
                             "app_rps": round(statistics.median(run["rps"] for run in app_runs), 1),
                             "bare_rps": round(statistics.median(run["rps"] for run in bare_runs), 1),
                             "p99_ms": round(max(run["p99_us"] for run in app_runs) / 1000, 1),
                             "non_2xx": sum(run["non2xx"] + run["socket_errors"] for run in app_runs)}
            if floor_runs:
                floor_ratio = statistics.median(f["rps"] / b["rps"] for f, b in zip(floor_runs, bare_runs, strict=True))
                figures["floor"] = {"ratio": round(floor_ratio, 3),
                                    "rps": round(statistics.median(run["rps"] for run in floor_runs), 1),
                                    "p99_ms": round(max(run["p99_us"] for run in floor_runs) / 1000, 1),
                                    "non_2xx": sum(run["non2xx"] + run["socket_errors"] for run in floor_runs)}
        figures["memory"] = {"master_mb": round(rss_mb(app_pid), 1),
                             "workers_mb": sorted(round(rss_mb(pid), 1) for pid in children(app_pid))}
    return figures


def create_floor_log(url: str) -> None:
    """The table the floor app logs its reads into, in the scratch database."""
    import psycopg  # noqa: PLC0415 — only the floor needs a table of its own

    from bench.floor_app import LOG_TABLE  # noqa: PLC0415


    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {LOG_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, "
                           "actor_id text NOT NULL, object_id text NOT NULL)")


def check_answers_of_floor(base: str, data: dict) -> None:
    """The floor answers the referral read with the referral, as the service does."""
    referral_id = data["referral_ids"][0]
    request = urllib.request.Request(base + f"/api/v1/referrals/{referral_id}",
                                      headers={"Authorization": "Bearer " + data["tokens"]["coordinator"][0]})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and json.loads(response.read())["id"] == referral_id


def flush_redis() -> None:
    """Leave nothing behind in the benchmark's Redis database."""
    import redis  # noqa: PLC0415 — only the benchmark needs a client of its own

    redis.Redis.from_url(REDIS_URL).flushdb()


def budget_checks(results: dict) -> list[tuple[str, bool]]:
    """Every budget of issue 15 as (what was checked with the figure, passed)."""
    checks = []
    runs = results["runs"]
    for workers, figures in runs.items():
        for kind, budget in BUDGETS.items():
            if kind not in figures:
                continue
            item = figures[kind]
            checks.append((f"{workers} workers, {kind}: every answer 2xx ({item['non_2xx']} not)", not item["non_2xx"]))
            checks.append((f"{workers} workers, {kind}: {item['ratio']} of bare Flask >= {budget}",
                           item["ratio"] >= budget))
            checks.append((f"{workers} workers, {kind}: p99 {item['p99_ms']} ms < {P99_BUDGET_MS:.0f} ms",
                           item["p99_ms"] < P99_BUDGET_MS))
        if floor := figures.get("floor"):
            checks.append((f"{workers} workers, floor: every answer 2xx ({floor['non_2xx']} not)",
                           not floor["non_2xx"]))
        memory = figures["memory"]
        checks.append((f"{workers} workers: master {memory['master_mb']} MB < {MASTER_RSS_MB:.0f} MB",
                       memory["master_mb"] < MASTER_RSS_MB))
        checks.append((f"{workers} workers: largest worker {max(memory['workers_mb'])} MB < {WORKER_RSS_MB:.0f} MB",
                       max(memory["workers_mb"]) < WORKER_RSS_MB))
    if 2 in runs and 4 in runs:
        for kind in (kind for kind in BUDGETS if kind in runs[2]):
            # "No slower" within 5%: these machines are noisy, and the ratio to bare Flask is measured alongside.
            four, two = runs[4][kind]["app_rps"], runs[2][kind]["app_rps"]
            checks.append((f"{kind}: 4 workers {four}/s no slower than 2 workers {two}/s", four >= two * 0.95))
    return checks


def machine_limits(results: dict) -> list[str]:
    """What the machine allows whatever the service does, beside the budgets (not budgets themselves): bare Flask's
    own 4-against-2-worker throughput, and how far the floor of an audited read gets."""
    lines = []
    runs = results["runs"]
    if 2 in runs and 4 in runs:
        for kind in (kind for kind in BUDGETS if kind in runs[2] and kind in runs[4]):
            four, two = runs[4][kind]["bare_rps"], runs[2][kind]["bare_rps"]
            lines.append(f"bare Flask on the {kind} rounds: 4 workers {four}/s against 2 workers {two}/s "
                         f"({(four / two - 1) * 100:+.0f}%)")
    for workers, figures in runs.items():
        if floor := figures.get("floor"):
            lines.append(f"{workers} workers: the floor of an audited read reaches {floor['ratio']} of bare Flask, "
                         f"p99 {floor['p99_ms']} ms")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=2000)
    # Each token may make 600 requests a minute across the API: 120 tokens leave room for 1,200 requests a second.
    parser.add_argument("--clients", type=int, default=120, help="API tokens per role")
    parser.add_argument("--parties", type=int, default=200, help="parties with a link and a portal session")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--kinds", nargs="+", choices=list(BUDGETS), default=list(BUDGETS),
                        help="the endpoints to load (all by default; budgets are checked for those loaded)")
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk); `make bench-http` installs it.", file=sys.stderr)
        return 2
    results = run(options)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"http_load-{uuid.uuid4().hex[:8]}.json").write_text(json.dumps(results, indent=2))
    for workers, figures in results["runs"].items():
        print(f"\n{workers} workers (gunicorn sync, PostgreSQL, Redis)   app/bare req/s   p99     non-2xx")
        for kind in (kind for kind in BUDGETS if kind in figures):
            item = figures[kind]
            print(f"  {kind:<10} {item['ratio']:>6} ({item['app_rps']}/s vs {item['bare_rps']}/s)"
                  f"   {item['p99_ms']:>6} ms   {item['non_2xx']}")
        if floor := figures.get("floor"):
            print(f"  floor of an audited read (bench/floor_app.py): {floor['ratio']} ({floor['rps']}/s)"
                  f"   {floor['p99_ms']:>6} ms   {floor['non_2xx']}")
        print(f"  memory: master {figures['memory']['master_mb']} MB, workers {figures['memory']['workers_mb']} MB")
    checks = budget_checks(results)
    print("\nBudgets (issue 15):")
    for description, passed in checks:
        print(f"  {'pass' if passed else 'FAIL'}  {description}")
    failed = sum(not passed for _description, passed in checks)
    print(f"{len(checks) - failed} of {len(checks)} budgets met.")
    if limits := machine_limits(results):
        print("\nWhat this machine allows, whatever the service does (context, not budgets):")
        for line in limits:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
