"""referral scope indexes: each scope's part of the referral list read newest first from an index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00

A facilitator's list (as lead or as co) and a prosecutor's (by case) are read page by page from these indexes
instead of sorting and counting every referral in scope (issue 15). They replace the single-column indexes on the
same foreign keys, which they serve as well; a prosecutor's cases' ids come from their prosecutor index alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLACED = ('lead_facilitator_id', 'co_facilitator_id', 'case_id')


def upgrade() -> None:
    for column in REPLACED:
        op.create_index(f'ix_referrals_{column}_received_at_id', 'referrals', [column, 'received_at', 'id'],
                        unique=False)
        op.drop_index(op.f(f'ix_referrals_{column}'), table_name='referrals')
    op.create_index('ix_criminal_cases_prosecutor_id_id', 'criminal_cases', ['prosecutor_id', 'id'], unique=False)
    op.drop_index(op.f('ix_criminal_cases_prosecutor_id'), table_name='criminal_cases')


def downgrade() -> None:
    op.create_index(op.f('ix_criminal_cases_prosecutor_id'), 'criminal_cases', ['prosecutor_id'], unique=False)
    op.drop_index('ix_criminal_cases_prosecutor_id_id', table_name='criminal_cases')
    for column in REPLACED:
        op.create_index(op.f(f'ix_referrals_{column}'), 'referrals', [column], unique=False)
        op.drop_index(f'ix_referrals_{column}_received_at_id', table_name='referrals')
