"""data lifecycle: a data key per referral in a key store of its own

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-06 09:00:00

The key store is the `keystore` schema on PostgreSQL; on SQLite it is a file of its own, attached under that name
(coordinator/db.py), so a copy of the database file never holds a key. Existing values stay readable under the
programme keys until `flask --app app keys migrate-to-envelope` moves them under their referral's key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS keystore")
    op.create_table('referral_keys',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('wrapped', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_referral_keys')),
    schema='keystore'
    )
    with op.batch_alter_table('referral_keys', schema='keystore') as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_keys_key_id'), ['key_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referral_keys', schema='keystore') as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_keys_key_id'))
    op.drop_table('referral_keys', schema='keystore')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS keystore")
