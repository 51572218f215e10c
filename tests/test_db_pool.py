"""The PostgreSQL pool pings a connection before use only after it sat idle (coordinator/db.py, issue 15)."""

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from coordinator import db as database
from tests.conftest import BACKEND, _libpq_url

pytestmark = pytest.mark.skipif(BACKEND == "sqlite", reason="a SQLite file has no server to go away: no pings")

BACKEND_PID = text("SELECT pg_backend_pid()")


@pytest.fixture
def engine(database_url):
    engine = database.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch) -> list[object]:
    """The pings the pool sends, counted."""
    sent: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):
        sent.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(BACKEND_PID).scalar_one()


def terminate(pid: int, database_url: str) -> None:
    with psycopg.connect(_libpq_url(database_url), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


def test_a_connection_back_at_work_at_once_is_not_pinged(engine, pings, monkeypatch):
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(20)] == [first] * 20
    assert pings == []
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert backend_pid(engine) == first
    assert len(pings) == 1


def test_a_connection_dropped_while_idle_is_replaced_before_use(engine, pings, database_url, monkeypatch):
    dropped = backend_pid(engine)
    terminate(dropped, database_url)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # as if it had sat idle for long
    assert backend_pid(engine) not in (dropped, None)
    assert len(pings) == 1


def test_a_connection_dropped_just_after_use_fails_once_and_the_pool_recovers(engine, database_url):
    """The price of not pinging: the same as a connection lost while a request holds it."""
    dropped = backend_pid(engine)
    terminate(dropped, database_url)
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.execute(BACKEND_PID)
    assert backend_pid(engine) != dropped
