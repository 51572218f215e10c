"""statistics rollup: counts per programme day and month, and the state row of their rebuild

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 05:40:00

The statistics page reads these counts instead of scanning every decision on each view (issue 15 item 4).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('statistics_rollup',
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('figure', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('grain', 'period_start', 'figure', 'category', name=op.f('pk_statistics_rollup'))
    )
    refresh = op.create_table('statistics_refresh',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statistics_refresh'))
    )
    op.bulk_insert(refresh, [{"id": 1, "refreshed_at": None}])


def downgrade() -> None:
    op.drop_table('statistics_refresh')
    op.drop_table('statistics_rollup')
