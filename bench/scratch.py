"""A throwaway database for one benchmark run (a temporary SQLite file, or a PostgreSQL database dropped after),
filled in a separate process so the process measured starts like a fresh worker."""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from flask_openapi3 import OpenAPI
from sqlalchemy.engine import make_url

from config import TestConfig
from coordinator.commands import upgrade_database
from coordinator.factory import create_app

POSTGRES_URL = os.environ.get("COORDINATOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """Yield the URL of an empty database on `backend` ("sqlite" or "postgresql")."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="ck-bench-")
        try:
            yield f"sqlite:///{folder}/bench.db"  # the key store is bench-keys.db beside it
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"ck_bench_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_app(url: str, key: str) -> OpenAPI:
    """The app as a production worker holds it once started: built, then what start-up built frozen out of the
    garbage collector's sight (gunicorn.conf.py's post_worker_init), so no timing holds a full collection over it,
    or over the apps an earlier size of the same benchmark built."""
    app = create_app(TestConfig({"DATABASE_URL": url, "COORDINATOR_ENCRYPTION_KEYS": key}))
    gc.freeze()
    return app


def filled(url: str, key: str, build: Callable, **options):
    """Migrate the database and run `build(app, **options)` in a fresh process; returns what `build` returned."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_migrate_and_fill, (url, key, build, options))


def _migrate_and_fill(url: str, key: str, build: Callable, options: dict):
    app = create_app(TestConfig({"DATABASE_URL": url, "COORDINATOR_ENCRYPTION_KEYS": key}))
    with app.app_context():
        upgrade_database()
    built = build(app, **options)
    # Refresh the planner's statistics, as routine maintenance would.
    engine = app.extensions["db_engine"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return built
