"""Test set-up: a real database (SQLite file or PostgreSQL), migrated once, emptied after every test.

`COORDINATOR_TEST_DATABASE=sqlite|postgresql` picks the backend; `make test` runs the suite once with each.
"""

from __future__ import annotations

import os
import uuid

os.environ["COORDINATOR_ENV"] = "testing"

import psycopg
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from config import TestConfig
from coordinator.commands import upgrade_database
from coordinator.factory import create_app
from coordinator.models import starting_rows
from coordinator.referrals.models import CriminalCase, Referral, ReferralTotal
from tests.factories import Browser, Factory

BACKEND = os.environ.get("COORDINATOR_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get("COORDINATOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


def pytest_configure(config):
    if BACKEND not in ("sqlite", "postgresql"):
        pytest.exit(f"COORDINATOR_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}", returncode=4)
    if BACKEND == "postgresql":
        try:
            psycopg.connect(_libpq_url(POSTGRES_URL), connect_timeout=3).close()
        except psycopg.OperationalError as error:
            message = f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string(hide_password=True)} did not answer " \
                      f"({str(error).strip().splitlines()[0]})."
            if os.environ.get("CI", "").lower() == "true":
                pytest.exit(message + " It is required under CI=true.", returncode=3)
            pytest.exit(message + " SKIPPING the PostgreSQL half of the suite.", returncode=0)


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A migrated, empty database for this test session."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'circlekeeper.db'}"
        _migrate(url)
        yield url
        return
    name = f"ck_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    app = create_app(TestConfig({"DATABASE_URL": url}))
    with app.app_context():
        upgrade_database()
    app.extensions["db_engine"].dispose()


def make_app(database_url: str, **overrides):
    """An app on the test database; `overrides` are environment variables."""
    return create_app(TestConfig({"DATABASE_URL": database_url, **overrides}))


@pytest.fixture
def app_settings() -> dict[str, str]:
    """Environment overrides for the `app` fixture; a test module may override this fixture."""
    return {}


@pytest.fixture
def app(database_url, app_settings):
    """A fresh app on an emptied database."""
    app = make_app(database_url, **app_settings)
    yield app
    engine = app.extensions["db_engine"]
    try:
        assert_referral_total_kept(engine)
        assert_case_prosecutor_kept(engine)
    finally:
        empty_database(engine)
        engine.dispose()


def assert_referral_total_kept(engine) -> None:
    """After every test, through whichever doors it wrote referrals: the database's kept total is their count."""
    with engine.connect() as connection:
        kept = connection.execute(select(ReferralTotal.referrals)).scalar_one_or_none()
        counted = connection.execute(select(func.count()).select_from(Referral)).scalar_one()
    assert kept == counted, f"referral_total says {kept}, the referrals table holds {counted}"


def assert_case_prosecutor_kept(engine) -> None:
    """After every test, through whichever doors it wrote referrals and cases: each referral carries its case's
    prosecutor, the copy the prosecutor's scope reads (migration 0020)."""
    with engine.connect() as connection:
        astray = connection.execute(
            select(Referral.reference, Referral.case_prosecutor_id, CriminalCase.prosecutor_id)
            .join(CriminalCase, CriminalCase.id == Referral.case_id)
            .where(Referral.case_prosecutor_id.is_distinct_from(CriminalCase.prosecutor_id))
        ).all()
    assert not astray, f"referrals whose copy of their case's prosecutor is stale: {astray}"


def empty_database(engine) -> None:
    """Delete every row, then put back the rows the migrations start every database with."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("TRUNCATE " + ", ".join(
                f'"{t.schema}"."{t.name}"' if t.schema else f'"{t.name}"' for t in tables) + " CASCADE")
        else:
            for table in tables:
                connection.execute(table.delete())
        for model, row in starting_rows():
            connection.execute(insert(model).values(**row))


@pytest.fixture
def factory(app) -> Factory:
    """Builds users, referrals and tokens through the services, each committed."""
    return Factory(app)


@pytest.fixture
def browser(app):
    """A browser for one staff member: `browser(user)` signs them in; `browser()` stays signed out."""

    def open_browser(user=None) -> Browser:
        browser = Browser(app.test_client())
        if user is not None:
            browser.login(user.email)
        return browser

    return open_browser


@pytest.fixture
def api(app, factory):
    """An API client for one staff member: `api(user)` sends their bearer token."""

    def open_api(user):
        token = factory.token(user)
        return ApiClient(app.test_client(), token)

    return open_api


class ApiClient:
    """A test client that sends JSON with a bearer token."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def request(self, method: str, url: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def in_app(app):
    """Run service-level code in an app context: `with in_app(): ...` (never around client requests)."""
    return app.app_context
