"""Alembic environment: runs on the connection `flask --app app db ...` hands over, or on DATABASE_URL."""

import os

from alembic import context
from sqlmodel import SQLModel

from config import normalise_database_url
from coordinator import models  # noqa: F401 - registers every table on SQLModel.metadata
from coordinator.db import UTCDateTime, make_engine

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Write the project's column types as the plain SQLAlchemy types they store."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection) -> None:
    """Configure Alembic on a live connection and apply the migrations."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        include_schemas=True,  # the key store's schema (coordinator/db.py KEYSTORE_SCHEMA) too
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with make_engine(normalise_database_url(os.environ["DATABASE_URL"])).begin() as connection:
        run(connection)
