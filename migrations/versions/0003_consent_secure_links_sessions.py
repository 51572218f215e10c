"""consent, secure links, sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:21:33.688695
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=32), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_sessions_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_referral_id_starts_at', ['referral_id', 'starts_at'], unique=False)

    op.create_table('consent_decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Uuid(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=12), nullable=False),
    sa.Column('sheet_version', sa.String(length=16), nullable=False),
    sa.Column('sheet_language', sa.String(length=8), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('recorded_by_type', sa.String(length=16), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_consent_decisions_party_id_parties')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_consent_decisions_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_decisions'))
    )
    with op.batch_alter_table('consent_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_consent_decisions_party_id_scope_decided_at', ['party_id', 'scope', 'decided_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_decisions_referral_id'), ['referral_id'], unique=False)

    # A decision is never changed: a change of mind is a new row (docs/design.md section 2). The database refuses
    # updates too, so no code path can rewrite what a party decided.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION refuse_consent_update() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'consent decisions are append-only'; END $$")
        op.execute("CREATE TRIGGER consent_decisions_append_only BEFORE UPDATE ON consent_decisions "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_consent_update()")
    else:
        op.execute("CREATE TRIGGER consent_decisions_append_only BEFORE UPDATE ON consent_decisions "
                   "BEGIN SELECT RAISE(ABORT, 'consent decisions are append-only'); END")
    op.create_table('secure_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pin_hash', sa.String(length=255), nullable=True),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_secure_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_secure_links_party_id_parties')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_secure_links_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secure_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_secure_links_token_hash'))
    )
    with op.batch_alter_table('secure_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secure_links_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_secure_links_referral_id'), ['referral_id'], unique=False)

    op.create_table('portal_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('link_id', sa.Uuid(), nullable=False),
    sa.Column('party_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['secure_links.id'], name=op.f('fk_portal_sessions_link_id_secure_links')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_portal_sessions_party_id_parties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_sessions_token_hash'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_link_id'), ['link_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_link_id'))

    op.drop_table('portal_sessions')
    with op.batch_alter_table('secure_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secure_links_referral_id'))
        batch_op.drop_index(batch_op.f('ix_secure_links_party_id'))

    op.drop_table('secure_links')
    with op.batch_alter_table('consent_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_decisions_referral_id'))
        batch_op.drop_index('ix_consent_decisions_party_id_scope_decided_at')

    op.execute("DROP TRIGGER IF EXISTS consent_decisions_append_only" +
               (" ON consent_decisions" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_consent_update()")
    op.drop_table('consent_decisions')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_referral_id_starts_at')

    op.drop_table('sessions')
