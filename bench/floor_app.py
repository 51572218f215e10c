"""The floor the HTTP load benchmark reports beside the service: the least any design can do for an audited read.

Flask under the same gunicorn settings, with SQLAlchemy Core on the same PostgreSQL database: it looks the bearer
token up, reads the referral, inserts one row into a log table and commits durably, as an audited read must before
it answers. No ORM, no rate limit, no encryption, no chain: what it costs is the cost of the work itself, so the
service's distance from it is what its own code adds (`gunicorn -c gunicorn.conf.py bench.floor_app:app`).
"""

import functools
import hashlib
import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

LOG_TABLE = "bench_floor_log"
app = Flask(__name__)
TOKEN = text("SELECT users.id FROM api_tokens JOIN users ON users.id = api_tokens.user_id "
             "WHERE api_tokens.token_hash = :hash AND api_tokens.revoked_at IS NULL AND users.active")
REFERRAL = text("SELECT id, reference, status FROM referrals WHERE id = :id")
LOG = text(f"INSERT INTO {LOG_TABLE} (at, actor_id, object_id) VALUES (:at, :actor, :object)")  # nosec B608


@app.get("/healthz")
def healthz():
    """Up (the benchmark waits for it)."""
    return jsonify(status="ok")


@app.get("/api/v1/referrals/<referral_id>")
def referral(referral_id: str):
    """One referral for a valid token, its read logged and committed before the answer."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    with _engine().begin() as connection:
        user_id = connection.execute(TOKEN, {"hash": hashlib.sha256(token.encode()).hexdigest()}).scalar()
        if user_id is None:
            return jsonify(error={"code": "unauthenticated"}), 401
        row = connection.execute(REFERRAL, {"id": referral_id}).one_or_none()
        if row is None:
            return jsonify(error={"code": "not_found"}), 404
        connection.execute(LOG, {"at": datetime.now(UTC), "actor": str(user_id), "object": referral_id})
    return jsonify(id=str(row.id), reference=row.reference, status=row.status)


@functools.cache
def _engine():
    return create_engine(os.environ["DATABASE_URL"], pool_size=2)
