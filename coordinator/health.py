"""Probes (docs/api.md "Documents and probes") and the start-up check of Redis.

`/healthz` says the process is alive and nothing more; `/readyz` says whether it can serve: the database answers
and is at the migration head, and Redis answers when REDIS_URL is set. Redis holds only the rate-limit counters:
when it goes away after start-up the limits fall back to each process's memory (`RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`
in config.py), so sign-in, the portal and the API keep answering, still limited, while `/readyz` names Redis.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Flask, current_app, jsonify

from config import ConfigError
from coordinator.commands import alembic_config
from coordinator.db import db

PROBE_TIMEOUT_SECONDS = 2
log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
                                socket_timeout=PROBE_TIMEOUT_SECONDS)


def _shown(url: str) -> str:
    """The URL without user name and password, fit for a message or a log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


def require_redis(app: Flask) -> None:
    """Refuse to start with a REDIS_URL that does not answer: limits counted apart by each worker are no limits."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    try:
        _redis_client(url).ping()
    except (redis.RedisError, OSError) as error:
        raise ConfigError(f"REDIS_URL: Redis at {_shown(url)} did not answer ({type(error).__name__}). Start Redis, "
                          "or unset REDIS_URL to keep rate limits in memory (one process only).") from None


def database_state() -> str:
    """`ok`, `unreachable`, or `not_at_head` (migrations not applied, or the code is older than the database)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 -- heavy, rarely used: not at worker start
    from alembic.script import ScriptDirectory  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    try:
        # The request's own connection: on SQLite a second one would wait for the write lock this request may hold.
        revision = MigrationContext.configure(db.session.connection()).get_current_revision()
    except Exception:  # any driver's failure to connect or to read means the same: not ready
        log.warning("readiness: the database did not answer", exc_info=True)
        return "unreachable"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return "ok" if revision == head else "not_at_head"


def redis_state() -> str:
    """`ok`, `unreachable`, or `not_configured`."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not_configured"
    try:
        _redis_client(url).ping()
    except (redis.RedisError, OSError):
        log.warning("readiness: Redis did not answer")
        return "unreachable"
    return "ok"


@bp.get("/healthz")
def healthz():
    """Liveness: 200 while the process answers; it checks nothing else, so a restart is never caused by a database."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database (at the migration head) and Redis (if configured) answer; else 503."""
    checks = {"database": database_state(), "redis": redis_state()}
    failing = [part for part, state in checks.items() if state not in ("ok", "not_configured")]
    body = {"status": "unavailable" if failing else "ready", "failing": failing, "checks": checks}
    return jsonify(body), 503 if failing else 200
