"""the coordinator's queue: tasks, one per event, and the on-call coordinator

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('note_enc', sa.String(length=4096), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_tasks_closed_by_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_tasks_owner_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_tasks_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('kind', 'source_key', name=op.f('uq_tasks_kind_source_key'))
    )
    op.create_index('ix_tasks_state_priority_due_at', 'tasks', ['state', 'priority', 'due_at'], unique=False)
    op.create_index(op.f('ix_tasks_referral_id'), 'tasks', ['referral_id'], unique=False)
    op.create_index(op.f('ix_tasks_subject_id'), 'tasks', ['subject_id'], unique=False)
    op.create_index(op.f('ix_tasks_owner_id'), 'tasks', ['owner_id'], unique=False)
    op.create_table('on_call',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('coordinator_id', sa.Uuid(), nullable=True),
    sa.Column('phone_enc', sa.String(length=1024), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['coordinator_id'], ['users.id'], name=op.f('fk_on_call_coordinator_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_on_call_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_on_call'))
    )


def downgrade() -> None:
    op.drop_table('on_call')
    op.drop_index(op.f('ix_tasks_owner_id'), table_name='tasks')
    op.drop_index(op.f('ix_tasks_subject_id'), table_name='tasks')
    op.drop_index(op.f('ix_tasks_referral_id'), table_name='tasks')
    op.drop_index('ix_tasks_state_priority_due_at', table_name='tasks')
    op.drop_table('tasks')
