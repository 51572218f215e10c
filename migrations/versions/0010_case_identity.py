"""case identity: provisional cases waiting to be linked; canonical time zones

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 03:20:00

A criminal case is unique by (jurisdiction, court, docket_number) among linked cases only: a prosecutor's referral
for the identity of a case that is not theirs keeps a provisional case of that identity, pointing at the case it
waits for (docs/design.md rule 10). Stored time zones written as posix/ or right/ copies become the zone itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINKED_ONLY = sa.text("awaiting_link_to_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table('criminal_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_link_to_id', sa.Uuid(), nullable=True))
        batch_op.drop_constraint('uq_criminal_cases_jurisdiction_court_docket_number', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_criminal_cases_awaiting_link_to_id_criminal_cases'),
                                    'criminal_cases', ['awaiting_link_to_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_criminal_cases_awaiting_link_to_id'), ['awaiting_link_to_id'],
                              unique=False)
    op.create_index('uq_criminal_cases_identity', 'criminal_cases', ['jurisdiction', 'court', 'docket_number'],
                    unique=True, sqlite_where=LINKED_ONLY, postgresql_where=LINKED_ONLY)
    for table in ('facilitator_profiles', 'venues'):
        for prefix in ('posix/', 'right/'):
            op.execute(sa.text(f"UPDATE {table} SET timezone = substr(timezone, {len(prefix) + 1}) "
                               f"WHERE timezone LIKE '{prefix}%'"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM criminal_cases WHERE awaiting_link_to_id IS NOT NULL "
                       "AND NOT EXISTS (SELECT 1 FROM referrals WHERE referrals.case_id = criminal_cases.id)"))
    op.drop_index('uq_criminal_cases_identity', table_name='criminal_cases',
                  sqlite_where=LINKED_ONLY, postgresql_where=LINKED_ONLY)
    with op.batch_alter_table('criminal_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_criminal_cases_awaiting_link_to_id'))
        batch_op.drop_constraint(batch_op.f('fk_criminal_cases_awaiting_link_to_id_criminal_cases'),
                                 type_='foreignkey')
        batch_op.drop_column('awaiting_link_to_id')
        batch_op.create_unique_constraint('uq_criminal_cases_jurisdiction_court_docket_number',
                                          ['jurisdiction', 'court', 'docket_number'])
