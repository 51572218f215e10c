"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 15:27:13.913184
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_referral_id'), ['referral_id'], unique=False)

    audit_head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    # The chain starts from a genesis hash; every append locks and moves this one row.
    op.bulk_insert(audit_head, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])
    op.create_table('reference_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_reference_counters'))
    )
    op.create_table('service_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offset_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_clock'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name_enc', sa.String(length=512), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=True)
        batch_op.create_index(batch_op.f('ix_users_role'), ['role'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('criminal_cases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('jurisdiction', sa.String(length=120), nullable=False),
    sa.Column('court', sa.String(length=200), nullable=False),
    sa.Column('docket_number', sa.String(length=64), nullable=False),
    sa.Column('charges', sa.JSON(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('prosecutor_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['prosecutor_id'], ['users.id'], name=op.f('fk_criminal_cases_prosecutor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criminal_cases')),
    sa.UniqueConstraint('jurisdiction', 'court', 'docket_number', name=op.f('uq_criminal_cases_jurisdiction_court_docket_number'))
    )
    with op.batch_alter_table('criminal_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_criminal_cases_docket_number'), ['docket_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_criminal_cases_prosecutor_id'), ['prosecutor_id'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_sessions_token_hash'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_reason', sa.String(length=32), nullable=True),
    sa.Column('paused_from', sa.String(length=24), nullable=True),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('lead_facilitator_id', sa.Uuid(), nullable=True),
    sa.Column('co_facilitator_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notes_enc', sa.String(length=12000), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['criminal_cases.id'], name=op.f('fk_referrals_case_id_criminal_cases')),
    sa.ForeignKeyConstraint(['co_facilitator_id'], ['users.id'], name=op.f('fk_referrals_co_facilitator_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_referrals_created_by_id_users')),
    sa.ForeignKeyConstraint(['lead_facilitator_id'], ['users.id'], name=op.f('fk_referrals_lead_facilitator_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('reference', name=op.f('uq_referrals_reference'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_co_facilitator_id'), ['co_facilitator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_lead_facilitator_id'), ['lead_facilitator_id'], unique=False)
        batch_op.create_index('ix_referrals_received_at_id', ['received_at', 'id'], unique=False)
        batch_op.create_index('ix_referrals_status_received_at_id', ['status', 'received_at', 'id'], unique=False)

    op.create_table('parties',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('alias_enc', sa.String(length=512), nullable=False),
    sa.Column('preferred_language', sa.String(length=8), nullable=False),
    sa.Column('needs_interpreter', sa.Boolean(), nullable=False),
    sa.Column('email_enc', sa.String(length=1024), nullable=True),
    sa.Column('phone_enc', sa.String(length=512), nullable=True),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_parties_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties')),
    sa.UniqueConstraint('referral_id', 'role', name=op.f('uq_parties_referral_id_role'))
    )
    op.create_table('referral_status_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=False),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note_enc', sa.String(length=12000), nullable=True),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_referral_status_changes_actor_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_status_changes_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_status_changes'))
    )
    with op.batch_alter_table('referral_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_status_changes_referral_id'), ['referral_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('referral_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_status_changes_referral_id'))

    op.drop_table('referral_status_changes')
    op.drop_table('parties')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_received_at_id')
        batch_op.drop_index('ix_referrals_received_at_id')
        batch_op.drop_index(batch_op.f('ix_referrals_lead_facilitator_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_co_facilitator_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_staff_sessions_ended_at'))

    op.drop_table('staff_sessions')
    with op.batch_alter_table('criminal_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_criminal_cases_prosecutor_id'))
        batch_op.drop_index(batch_op.f('ix_criminal_cases_docket_number'))

    op.drop_table('criminal_cases')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_role'))
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    op.drop_table('service_clock')
    op.drop_table('reference_counters')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_referral_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))

    op.drop_table('audit_entries')
