"""Migrations: they build exactly the schema the models describe, and go down to nothing and up again."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Uuid, bindparam, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from coordinator import clock
from coordinator.audit.models import GENESIS_HASH, AuditHead
from coordinator.audit.service import verify_chain
from coordinator.commands import alembic_config, upgrade_database
from coordinator.db import KEYSTORE_SCHEMA, UTCDateTime, db
from coordinator.referrals.models import Referral
from tests.conftest import BACKEND, POSTGRES_URL, _libpq_url, make_app


def render_item(type_, obj, autogen_context):
    """migrations/env.py's rendering of the project's column types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def schema_differences(engine) -> list:
    """What autogenerate would write for this database, with env.py's comparison settings."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "target_metadata": SQLModel.metadata,
                "compare_type": True,
                "include_schemas": True,
                "render_as_batch": connection.dialect.name == "sqlite",
                "render_item": render_item,
            },
        )
        return compare_metadata(context, SQLModel.metadata)


def current_revision(engine) -> str | None:
    """The revision the database is stamped with."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision of migrations/versions (there must be exactly one head)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    return heads[0]


def table_names(engine) -> set[str]:
    """The tables present in the database, those of the key store named with its schema as the models name them."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        return set(inspector.get_table_names()) | {
            f"{KEYSTORE_SCHEMA}.{name}" for name in inspector.get_table_names(schema=KEYSTORE_SCHEMA)}


def downgrade_database(app, revision: str) -> None:
    """Undo migrations down to `revision` on the app's database."""
    with app.extensions["db_engine"].begin() as connection:
        alembic_command.downgrade(alembic_config(connection), revision)


@pytest.fixture
def scratch_database_url(tmp_path):
    """An empty database of the backend under test, dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"ck_scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_app(scratch_database_url):
    """An app on the scratch database."""
    app = make_app(scratch_database_url)
    yield app
    app.extensions["db_engine"].dispose()


def test_the_migrated_test_database_matches_the_models(app):
    """Autogenerate finds nothing to add, drop or alter: the models and the migrations agree."""
    engine = app.extensions["db_engine"]
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def test_every_model_table_is_created_by_the_migrations(app):
    """Each table in SQLModel.metadata exists, plus Alembic's own."""
    tables = table_names(app.extensions["db_engine"])
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_the_comparison_notices_a_missing_column(app):
    """The check above is live: a model column the migrations never created shows up as a difference."""
    metadata = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["parties"].append_column(Column("fax_enc", String(512), nullable=True))
    with app.extensions["db_engine"].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_schemas": True})
        differences = compare_metadata(context, metadata)
    assert [(diff[0], diff[2], diff[3].name) for diff in differences] == [("add_column", "parties", "fax_enc")]


def test_a_fresh_database_upgrades_downgrades_and_upgrades_again(scratch_app):
    """From nothing to head, back to base, and to head again; the schema then matches the models."""
    engine = scratch_app.extensions["db_engine"]
    assert table_names(engine) == set()

    with scratch_app.app_context():
        upgrade_database()
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []

    downgrade_database(scratch_app, "base")
    assert current_revision(engine) is None
    assert table_names(engine) <= {"alembic_version"}

    with scratch_app.app_context():
        upgrade_database()
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def test_the_first_migration_seeds_the_audit_chains_genesis_head(scratch_app):
    """After `db upgrade` the chain has its head row, verifies, and accepts an append."""
    result = scratch_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is at head." in result.output
    with scratch_app.app_context():
        head = db.session.execute(select(AuditHead)).scalar_one()
        assert (head.id, head.last_seq, head.last_hash) == (1, 0, GENESIS_HASH)
        assert verify_chain().intact


def test_db_upgrade_is_idempotent(scratch_app):
    """Running `db upgrade` on an up-to-date database changes nothing."""
    runner = scratch_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    second = runner.invoke(args=["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert schema_differences(scratch_app.extensions["db_engine"]) == []


def test_referrals_present_before_0020_get_their_case_s_prosecutor(scratch_app):
    """Migration 0020 fills the copy for the rows it finds; its triggers keep it from then on."""
    ids = {"prosecutor": uuid.uuid4(), "case": uuid.uuid4(), "referral": uuid.uuid4()}
    rows_at_0019 = [
        "INSERT INTO users (id, email, name_enc, role, password_hash, language, active, created_at, "
        "password_changed_at) VALUES (:prosecutor, 'before.0020@example.org', 'sealed', 'prosecutor', 'x', 'en', "
        "true, :now, :now)",
        "INSERT INTO criminal_cases (id, jurisdiction, court, docket_number, charges, stage, prosecutor_id, "
        "created_at) VALUES (:case, 'Somewhere', 'A Court', 'B-0020', '[]', 'charged', :prosecutor, :now)",
        "INSERT INTO referrals (id, reference, source, status, case_id, received_at, updated_at) "
        "VALUES (:referral, 'RJ-2026-000020', 'prosecutor', 'intake', :case, :now, :now)",
    ]
    with scratch_app.app_context():
        upgrade_database("0019")
        for sql in rows_at_0019:
            named = {name: value for name, value in ids.items() if f":{name}" in sql}
            statement = text(sql).bindparams(*[bindparam(name, type_=Uuid) for name in named],
                                             bindparam("now", type_=UTCDateTime))
            db.session.execute(statement, {**named, "now": clock.now()})
        db.session.commit()
        upgrade_database()
        copied = db.session.execute(select(Referral.case_prosecutor_id).where(Referral.id == ids["referral"]))
        assert copied.scalar_one() == ids["prosecutor"]
