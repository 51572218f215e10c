"""Health that means something (issue 12, item 10): liveness, readiness naming the failing part, a configured Redis
required at start-up, and no 500 when Redis goes away afterwards (coordinator/health.py)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis
from alembic.script import ScriptDirectory

from config import ConfigError
from coordinator.commands import alembic_config, upgrade_database
from coordinator.extensions import limiter
from tests.conftest import BACKEND, make_app
from tests.factories import PASSWORD, Browser
from tests.test_migrations import scratch_database_url  # noqa: F401  (a fixture)


def free_port() -> int:
    """A local TCP port nobody listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_is_liveness_only(database_url):
    """200 {"status": "ok"} while the process answers, even with the database gone."""
    dead = "sqlite:////nonexistent-dir/x.db" if BACKEND == "sqlite" else \
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    app = make_app(dead)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "failing": ["database"],
                                "checks": {"database": "unreachable", "redis": "not_configured"}}


def test_readyz_is_200_at_the_head_without_redis(app, browser):
    """The migrated test database, no REDIS_URL."""
    response = browser().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "failing": [],
                                   "checks": {"database": "ok", "redis": "not_configured"}}


def test_readyz_names_a_database_that_is_not_at_the_head(scratch_database_url):  # noqa: F811
    """One migration short of the head: 503 naming the database."""
    app = make_app(scratch_database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_revision("head")
    with app.app_context():
        upgrade_database(head.down_revision)
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"] == "not_at_head"
        assert response.get_json()["failing"] == ["database"]
        with app.app_context():
            upgrade_database()
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["db_engine"].dispose()


def test_start_up_refuses_a_redis_that_does_not_answer(database_url):
    """A dead port in REDIS_URL stops create_app() with a message naming REDIS_URL and no password."""
    with pytest.raises(ConfigError, match=r"REDIS_URL: Redis at redis://127\.0\.0\.1:\d+/0 did not answer") as error:
        make_app(database_url, REDIS_URL=f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    assert "s3cret" not in str(error.value)


@pytest.fixture
def redis_server():
    """A real redis-server on a spare port, for this test only; yields its URL and the process."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _attempt in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    try:
        yield url, process
    finally:
        process.kill()
        process.wait(timeout=10)
        limiter._storage_dead = False  # the limiter is module-global: the next test's app starts with its storage


def test_with_redis_gone_sign_in_the_portal_and_the_api_answer_and_readyz_names_redis(database_url, redis_server,
                                                                                      factory):
    """Redis killed after start-up: no 500 anywhere; limits go on in memory; /readyz says redis."""
    url, process = redis_server
    app = make_app(database_url, REDIS_URL=url)
    try:
        factory.app = app
        coordinator = factory.user("coordinator")
        token = factory.token(coordinator)
        client = app.test_client()
        assert client.get("/readyz").get_json()["checks"]["redis"] == "ok"
        assert client.get("/p/" + "0" * 43).status_code == 404
        assert redis.Redis.from_url(url).keys("*")  # the counters live in Redis while it answers

        process.kill()
        process.wait(timeout=10)

        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["failing"] == ["redis"]
        staff = Browser(app.test_client())
        assert staff.login(coordinator.email, PASSWORD).status_code == 302
        assert staff.get("/referrals").status_code == 200
        api = app.test_client().get("/api/v1/referrals", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 200
        assert app.test_client().get("/api/v1/referrals").status_code == 401
        statuses = [client.get("/p/" + f"{n:043d}").status_code for n in range(32)]
        assert 500 not in statuses and statuses[-1] == 429  # still limited, in this process's memory
    finally:
        app.extensions["db_engine"].dispose()
