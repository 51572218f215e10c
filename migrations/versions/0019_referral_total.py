"""referral total: how many referrals the programme holds, kept by triggers

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:20:00

The coordinator's whole list (page and API) gives its total from this row instead of counting every referral, which
grew with the programme (issue 15). The database keeps it: a trigger adds the rows each insert writes and takes away
the rows each delete removes, whatever door wrote them (services, seeding, bulk loads, retention).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    total = op.create_table('referral_total',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('referrals', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_total'))
    )
    op.bulk_insert(total, [{"id": 1, "referrals": 0}])
    op.execute("UPDATE referral_total SET referrals = (SELECT count(*) FROM referrals) WHERE id = 1")
    if op.get_bind().dialect.name == "postgresql":
        # Once per statement, over its transition table: a bulk load of 5,000 rows moves the total once.
        for name, change, table, sign in (("referrals_added", "INSERT", "NEW", "+"),
                                          ("referrals_removed", "DELETE", "OLD", "-")):
            op.execute(f"CREATE FUNCTION count_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       f"UPDATE referral_total SET referrals = referrals {sign} (SELECT count(*) FROM changed) "
                       "WHERE id = 1; RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER {name} AFTER {change} ON referrals REFERENCING {table} TABLE AS changed "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION count_{name}()")
    else:
        op.execute("CREATE TRIGGER referrals_added AFTER INSERT ON referrals "
                   "BEGIN UPDATE referral_total SET referrals = referrals + 1 WHERE id = 1; END")
        op.execute("CREATE TRIGGER referrals_removed AFTER DELETE ON referrals "
                   "BEGIN UPDATE referral_total SET referrals = referrals - 1 WHERE id = 1; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("referrals_added", "referrals_removed"):
        op.execute(f"DROP TRIGGER {name} ON referrals" if postgresql else f"DROP TRIGGER {name}")
        if postgresql:
            op.execute(f"DROP FUNCTION count_{name}()")
    op.drop_table('referral_total')
