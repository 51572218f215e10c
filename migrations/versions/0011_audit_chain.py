"""audit chain: disclosures named by one entry, the last verified point

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:45:00

A list view writes one audit entry naming every referral it showed; `audit_disclosures` indexes those names so a
referral's trail finds the entry. `audit_verified` keeps the last entry `audit verify` found intact, where the next
(incremental) verification starts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_disclosures',
    sa.Column('referral_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('referral_id', 'seq', name=op.f('pk_audit_disclosures'))
    )
    op.create_table('audit_verified',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verified'))
    )


def downgrade() -> None:
    op.drop_table('audit_verified')
    op.drop_table('audit_disclosures')
