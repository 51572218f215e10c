"""caseload override: a coordinator's reasoned assignment over a facilitator's caseload cap

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('caseload_overrides',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('caseload', sa.Integer(), nullable=False),
    sa.Column('cap', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('decided_by_id', sa.Uuid(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_caseload_overrides_decided_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                            name=op.f('fk_caseload_overrides_referral_id_referrals')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_caseload_overrides_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caseload_overrides'))
    )
    op.create_index(op.f('ix_caseload_overrides_referral_id'), 'caseload_overrides', ['referral_id'], unique=False)
    op.create_index(op.f('ix_caseload_overrides_user_id'), 'caseload_overrides', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_caseload_overrides_user_id'), table_name='caseload_overrides')
    op.drop_index(op.f('ix_caseload_overrides_referral_id'), table_name='caseload_overrides')
    op.drop_table('caseload_overrides')
