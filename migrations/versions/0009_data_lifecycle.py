"""data lifecycle: a data key per referral in a key store of its own, legal holds, erased referrals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00

The key store is the `keystore` schema on PostgreSQL; on SQLite it is a file of its own, attached under that name
(coordinator/db.py), so a copy of the database file never holds a key. Existing values stay readable under the
programme keys until `flask --app app keys migrate-to-envelope` moves them under their referral's key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
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

    op.create_table('legal_holds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('reason_enc', sa.String(length=4000), nullable=True),
    sa.Column('set_by_id', sa.Uuid(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by_id', sa.Uuid(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_legal_holds_lifted_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_legal_holds_referral_id_referrals')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_legal_holds_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    op.create_index('ix_legal_holds_referral_id_lifted_at', 'legal_holds', ['referral_id', 'lifted_at'], unique=False)
    # A plain ADD COLUMN: SQLite must not rebuild `referrals`, which every other table refers to.
    op.add_column('referrals', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('referrals', 'erased_at')  # SQLite 3.35+ drops it in place, without rebuilding the table
    op.drop_index('ix_legal_holds_referral_id_lifted_at', table_name='legal_holds')
    op.drop_table('legal_holds')
    with op.batch_alter_table('referral_keys', schema='keystore') as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_keys_key_id'))
    op.drop_table('referral_keys', schema='keystore')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS keystore")
