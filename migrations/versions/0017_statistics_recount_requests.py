"""statistics recount requests: when a coordinator last asked for a new count

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:20:00

"Count again now" asks the `refresh_statistics` job instead of recounting the whole programme inside the request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('statistics_refresh') as batch:
        batch.add_column(sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('statistics_refresh') as batch:
        batch.drop_column('requested_at')
