"""safety, roster, acknowledgements

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:14:40.539881
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('venues',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address_enc', sa.String(length=1024), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('separate_waiting_rooms', sa.Boolean(), nullable=False),
    sa.Column('accessible', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues'))
    )
    op.create_table('facilitator_profiles',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('max_active_referrals', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_facilitator_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_facilitator_profiles'))
    )
    op.create_table('trainings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trainings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_trainings_user_id_kind'))
    )
    op.create_table('acknowledgements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('reference_enc', sa.String(length=1024), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_acknowledgements_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_acknowledgements_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgements'))
    )
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgements_referral_id'), ['referral_id'], unique=False)

    op.create_table('protective_orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('court_reference_enc', sa.String(length=1024), nullable=False),
    sa.Column('no_contact', sa.Boolean(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_protective_orders_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_protective_orders_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protective_orders'))
    )
    with op.batch_alter_table('protective_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protective_orders_referral_id'), ['referral_id'], unique=False)

    op.create_table('risk_assessments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('instrument_version', sa.String(length=16), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('red_flags', sa.JSON(), nullable=False),
    sa.Column('summary_enc', sa.String(length=12000), nullable=True),
    sa.Column('assessor_id', sa.Uuid(), nullable=False),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessor_id'], ['users.id'], name=op.f('fk_risk_assessments_assessor_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_risk_assessments_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_assessments'))
    )
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_risk_assessments_referral_id_assessed_at', ['referral_id', 'assessed_at'], unique=False)

    # An assessment is never edited: a change is a new one (docs/design.md section 2). Only its encrypted summary may
    # be rewritten, by key rotation, so the trigger watches every other column.
    frozen = "instrument_version, answers, score, level, red_flags, assessor_id, assessed_at, valid_until, referral_id"
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION refuse_assessment_update() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'risk assessments are immutable'; END $$")
        op.execute(f"CREATE TRIGGER risk_assessments_immutable BEFORE UPDATE OF {frozen} ON risk_assessments "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_assessment_update()")
    else:
        op.execute(f"CREATE TRIGGER risk_assessments_immutable BEFORE UPDATE OF {frozen} ON risk_assessments "
                   "BEGIN SELECT RAISE(ABORT, 'risk assessments are immutable'); END")
    op.create_table('safety_incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('description_enc', sa.String(length=12000), nullable=True),
    sa.Column('reporter_type', sa.String(length=16), nullable=False),
    sa.Column('reporter_id', sa.Uuid(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_safety_incidents_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_incidents'))
    )
    with op.batch_alter_table('safety_incidents', schema=None) as batch_op:
        batch_op.create_index('ix_safety_incidents_referral_id_reported_at', ['referral_id', 'reported_at'], unique=False)

    op.create_table('mitigation_plans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('assessment_id', sa.Uuid(), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('notes_enc', sa.String(length=12000), nullable=True),
    sa.Column('proposed_by_id', sa.Uuid(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_mitigation_plans_approved_by_id_users')),
    sa.ForeignKeyConstraint(['assessment_id'], ['risk_assessments.id'], name=op.f('fk_mitigation_plans_assessment_id_risk_assessments')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_mitigation_plans_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mitigation_plans')),
    sa.UniqueConstraint('assessment_id', name=op.f('uq_mitigation_plans_assessment_id'))
    )


def downgrade() -> None:
    op.drop_table('mitigation_plans')
    with op.batch_alter_table('safety_incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_safety_incidents_referral_id_reported_at')

    op.drop_table('safety_incidents')
    with op.batch_alter_table('risk_assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_assessments_referral_id_assessed_at')

    op.execute("DROP TRIGGER IF EXISTS risk_assessments_immutable" +
               (" ON risk_assessments" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_assessment_update()")
    op.drop_table('risk_assessments')
    with op.batch_alter_table('protective_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protective_orders_referral_id'))

    op.drop_table('protective_orders')
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgements_referral_id'))

    op.drop_table('acknowledgements')
    op.drop_table('trainings')
    op.drop_table('facilitator_profiles')
    op.drop_table('venues')
