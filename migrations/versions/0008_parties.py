"""the parties' experience: their own time zone, whether an interpreter is arranged, a venue's entrance

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpreter_arranged', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entrance_enc', sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_column('entrance_enc')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('interpreter_arranged')
