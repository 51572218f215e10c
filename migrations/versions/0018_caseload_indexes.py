"""caseload indexes: each facilitator's open referrals counted from an index, lead and co apart

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 09:35:00

The slot search ranks eligible facilitators by caseload on every search; without these the count reads every
referral, and so grows with the programme (issue 15).
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_referrals_lead_facilitator_id_status', 'referrals', ['lead_facilitator_id', 'status'],
                    unique=False)
    op.create_index('ix_referrals_co_facilitator_id_status_lead', 'referrals',
                    ['co_facilitator_id', 'status', 'lead_facilitator_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_referrals_co_facilitator_id_status_lead', table_name='referrals')
    op.drop_index('ix_referrals_lead_facilitator_id_status', table_name='referrals')
