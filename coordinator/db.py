"""Database engine, the request-scoped session, atomic services and unit_of_work() for jobs and commands."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar, cast

from flask import Flask, Response, current_app, g
from flask.ctx import AppContext
from flask.globals import app_ctx
from flask_babel import gettext as _
from sqlalchemy import Connection, CursorResult, DateTime, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import scoped_session
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from coordinator.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry
    from werkzeug.local import LocalProxy

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# Deterministic constraint names, so migrations name the same things on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> uuid.UUID:
    """Opaque identifier for every row that leaves the service."""
    return uuid.uuid4()


class Row(Protocol):
    """A table row as the audit log and sealed values name it: by its table and its id."""

    @property
    def __tablename__(self) -> str:
        """The row's table."""
        ...

    @property
    def id(self) -> uuid.UUID:
        """The row's id, set when the row is built (client-side UUIDs)."""
        ...


def get_row(model: type[T], key: uuid.UUID | str | None) -> T:
    """The row of `model` with this id; NotFound for a missing row and for an id that is not a UUID alike."""
    try:
        row = db.session.get(model, key if isinstance(key, uuid.UUID) else uuid.UUID(str(key)))
    except ValueError:
        row = None
    if row is None:
        raise NotFound(_("Not found."))
    return row


# The referrals' data keys live apart from the data they open (docs/design.md rule 11): in a schema of their own on
# PostgreSQL, and in a file of their own on SQLite, attached under the same name. A copy of the data alone never
# holds a key, so a key destroyed in the key store is gone from every copy of the data.
KEYSTORE_SCHEMA = "keystore"


def keystore_file(url: str) -> str:
    """The SQLite key store beside the database file (circlekeeper.db -> circlekeeper-keys.db)."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return ":memory:"
    path = Path(database)
    return str(path.with_name(f"{path.stem}-keys{path.suffix or '.db'}"))


def make_engine(url: str, keystore_path: str | None = None) -> Engine:
    """Create an engine with the per-dialect settings this service relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        keystore = keystore_path or keystore_file(url)
        event.listen(engine, "connect", functools.partial(_configure_sqlite_connection, keystore=keystore))
        event.listen(engine, "begin", _begin_sqlite_immediate)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)
    event.listen(engine, "checkin", _note_idle_since)
    event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect))
    return engine


# A pooled connection is pinged before use only once it has sat idle this long. Under load a connection comes back
# to work within milliseconds, and pinging it then (pool_pre_ping) cost every request a round trip (issue 15); one
# that was just used is no likelier to have gone than one that goes while a request holds it.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_idle_since(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry,
                  _proxy: object) -> None:
    idle_since = record.info.get("idle_since")  # absent on a connection made for this checkout
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as error:  # the server went away or restarted: the pool replaces the connection and retries
        raise DisconnectionError(str(error)) from error


def _configure_sqlite_connection(dbapi_connection: DBAPIConnection, _record: object, keystore: str) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it until the first write).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"ATTACH DATABASE ? AS {KEYSTORE_SCHEMA}", (keystore,))
    cursor.execute(f"PRAGMA {KEYSTORE_SCHEMA}.journal_mode=WAL")
    # A destroyed key is overwritten with zeros in the file, not merely unlinked from its page.
    cursor.execute(f"PRAGMA {KEYSTORE_SCHEMA}.secure_delete=ON")
    cursor.close()


def _begin_sqlite_immediate(connection: Connection) -> None:
    # Every transaction takes SQLite's write lock up front, so read-then-write sequences (the audit chain,
    # reference counters, booking checks) are serialized, the SQLite twin of PostgreSQL's row locks.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _scope() -> int:
    # One session per application context (a request, a job run, a command), as Flask-SQLAlchemy does.
    # Flask types `app_ctx` as the AppContext it stands for; it is the werkzeug proxy, whose target names the context.
    return id(cast("LocalProxy[AppContext]", app_ctx)._get_current_object())


def _session_for_current_app() -> Session:
    return Session(bind=current_app.extensions["db_engine"], expire_on_commit=False)


class Database:
    """The one handle on the database: `db.session` is scoped to the current app context."""

    def __init__(self) -> None:
        # Any callable that returns a Session is a session factory; SQLAlchemy's stubs accept only a sessionmaker.
        self.session: scoped_session[Session] = scoped_session(
            _session_for_current_app, scopefunc=_scope)  # type: ignore[arg-type]

    def init_app(self, app: Flask) -> None:
        """Create the engine and commit once per request, unless the request failed."""
        app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"], app.config.get("KEYSTORE_PATH"))

        @app.after_request
        def commit_or_roll_back(response: Response) -> Response:
            # A view that returns (even a 4xx page, like a wrong PIN that must be counted) commits; a request
            # that ended in an error handler (an exception, abort, CSRF, rate limit) or a 5xx rolls back.
            if self.session.registry.has():
                if g.get("request_failed") or response.status_code >= 500:
                    self.session.rollback()
                else:
                    self.session.commit()
            return response

        @app.teardown_appcontext
        def remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    @property
    def engine(self) -> Engine:
        """The engine of the current app."""
        return current_app.extensions["db_engine"]

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name


db = Database()


def atomic(function: Callable[P, R]) -> Callable[P, R]:
    """Run a service function inside a savepoint: it changes everything it set out to, or nothing."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with db.session.begin_nested():
            return function(*args, **kwargs)

    return wrapper


def execute_counted(statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE in the current session; returns how many rows it matched."""
    result = db.session.execute(statement)
    # Session.execute() is typed to return a Result; for UPDATE and DELETE it is the CursorResult that counts rows.
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(statement).__name__} answered without a row count")
    return result.rowcount


@contextmanager
def unit_of_work() -> Iterator[scoped_session[Session]]:
    """One transaction for a job run or a command: commit on success, roll back on error."""
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
