"""Backups that respect erasure (README.md "Backups"): a copy of the data taken before an erasure, restored beside
the key store as it is after the erasure, still opens every other referral and can never open the erased one.

The copy is made as the README says: the SQLite database file alone (its key store is a file of its own), or
`pg_dump --exclude-schema=keystore` restored into a scratch database. A key-store backup taken before the erasure
would open it again, which is why key-store backups are kept apart and short-lived: the last test shows it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from coordinator.crypto import KeyDestroyed
from coordinator.db import KEYSTORE_SCHEMA, db, keystore_file
from coordinator.keystore import ReferralKey, compact_key_store
from coordinator.referrals.models import Referral
from tests.conftest import BACKEND, POSTGRES_URL, _libpq_url, make_app
from tests.retention.helpers import (
    PAST_RETENTION,
    ended_referral,
    openable_with_remaining_keys,
    pass_time,
    sealed_cells_of,
)

ALIAS = "Backup Alias Erased"


class Copies:
    """Backup and restore, the README's way, on the backend under test."""

    def __init__(self, app, tmp_path: Path):
        self.app, self.tmp_path = app, tmp_path
        self.url = app.config["DATABASE_URL"]
        self.scratch: list[str] = []

    def data(self) -> str:
        """A copy of the data alone; returns the database URL it can be restored at."""
        if BACKEND == "sqlite":
            target = self.tmp_path / f"copy-{uuid.uuid4().hex[:6]}.db"
            with sqlite3.connect(make_url(self.url).database) as source, sqlite3.connect(target) as copy:
                source.backup(copy)  # the main database only: the key store is attached from its own file
            return f"sqlite:///{target}"
        return self._restore(self._dump("--exclude-schema", KEYSTORE_SCHEMA))

    def keys(self) -> str:
        """A copy of the key store alone: a file (SQLite), or a schema dump (PostgreSQL)."""
        if BACKEND == "sqlite":
            target = self.tmp_path / f"keys-{uuid.uuid4().hex[:6]}.db"
            with sqlite3.connect(keystore_file(self.url)) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            return str(target)
        return self._dump("--schema", KEYSTORE_SCHEMA)

    def app_on(self, data_url: str, keys: str):
        """An app reading restored data with a key store (SQLite: a key file; PostgreSQL: a schema dump)."""
        if BACKEND == "sqlite":
            return make_app(data_url, COORDINATOR_KEYSTORE_PATH=keys,
                            COORDINATOR_ENCRYPTION_KEYS=self.app.config["COORDINATOR_ENCRYPTION_KEYS"])
        subprocess.run(["psql", "--quiet", "-v", "ON_ERROR_STOP=1", "-c", f"DROP SCHEMA IF EXISTS {KEYSTORE_SCHEMA} "
                        "CASCADE", _libpq_url(data_url)], check=True, capture_output=True)
        subprocess.run(["psql", "--quiet", "-v", "ON_ERROR_STOP=1", _libpq_url(data_url)], input=keys, text=True,
                       check=True, capture_output=True)
        return make_app(data_url, COORDINATOR_ENCRYPTION_KEYS=self.app.config["COORDINATOR_ENCRYPTION_KEYS"])

    def _dump(self, *options: str) -> str:
        return subprocess.run(["pg_dump", "--no-owner", *options, _libpq_url(self.url)], check=True,
                              capture_output=True, text=True).stdout

    def _restore(self, dump: str) -> str:
        name = f"ck_restore_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.scratch.append(name)
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        subprocess.run(["psql", "--quiet", "-v", "ON_ERROR_STOP=1", _libpq_url(url)], input=dump, text=True,
                       check=True, capture_output=True)
        return url

    def drop(self) -> None:
        """Remove the scratch databases."""
        with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
            for name in self.scratch:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def copies(app, tmp_path):
    """Backups of the test database, removed afterwards."""
    if BACKEND == "postgresql" and not (shutil.which("pg_dump") and shutil.which("psql")):
        pytest.skip("pg_dump and psql are needed to back up PostgreSQL")
    made = Copies(app, tmp_path)
    yield made
    if BACKEND == "postgresql":
        made.drop()


def alias_in(app, referral_id) -> str | None:
    """The survivor's alias as an app reads it."""
    with app.app_context():
        return db.session.get(Referral, referral_id).survivor.alias


def erase_after(app, factory):
    """Two ended referrals; time passes, and only the first one's period ends; returns (erased, kept)."""
    erased = ended_referral(app, factory, survivor={"alias": ALIAS})
    pass_time(app, PAST_RETENTION)
    kept = ended_referral(app, factory, survivor={"alias": "Backup Alias Kept"})
    return erased, kept


def run_retention(app) -> None:
    """The schedule's real run."""
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0 and "referrals: 1 erased" in result.output, result.output


def test_a_copy_taken_before_an_erasure_cannot_open_the_erased_referral(app, factory, copies):
    erased, kept = erase_after(app, factory)
    data_before = copies.data()
    run_retention(app)

    restored = copies.app_on(data_before, keystore_file(app.config["DATABASE_URL"]) if BACKEND == "sqlite"
                             else copies.keys())
    try:
        assert alias_in(restored, kept.id) == "Backup Alias Kept"  # the backup is a working backup
        with restored.app_context():
            referral = db.session.get(Referral, erased.id)
            assert referral.erased_at is None  # the copy predates the erasure: its ciphertexts are all there
            assert referral.survivor.alias_enc.startswith("rk:")
            with pytest.raises(KeyDestroyed):
                _ = referral.survivor.alias
        from_copy = sealed_cells_of(restored, erased.id)
        assert len(from_copy) >= 3
        assert openable_with_remaining_keys(app, from_copy) == []  # no key left anywhere opens them
    finally:
        restored.extensions["db_engine"].dispose()


def test_only_a_key_store_backup_from_before_the_erasure_would_bring_it_back(app, factory, copies):
    """What the README warns about: keep key-store backups apart, and no longer than an erasure may wait."""
    erased, _kept = erase_after(app, factory)
    data_before, keys_before = copies.data(), copies.keys()
    run_retention(app)
    restored = copies.app_on(data_before, keys_before)
    try:
        assert alias_in(restored, erased.id) == ALIAS
    finally:
        restored.extensions["db_engine"].dispose()


def test_a_destroyed_key_leaves_no_old_copy_in_the_key_stores_files(app, factory):
    """SQLite: neither the key file nor its write-ahead log still holds the wrapped key after the run (secure
    delete and a truncating checkpoint). PostgreSQL: the run rewrites the key table (VACUUM FULL), which succeeds."""
    erased, _kept = erase_after(app, factory)
    with app.app_context():
        wrapped = db.session.get(ReferralKey, erased.id).wrapped.encode()
    path = Path(keystore_file(app.config["DATABASE_URL"]))

    def key_files() -> bytes:
        return b"".join(file.read_bytes() for file in (path, path.with_name(path.name + "-wal")) if file.exists())

    if BACKEND == "sqlite":
        assert wrapped in key_files()  # the search below can see it
    run_retention(app)
    if BACKEND == "sqlite":
        assert wrapped not in key_files()
    else:
        assert compact_key_store(app.extensions["db_engine"]) is True
