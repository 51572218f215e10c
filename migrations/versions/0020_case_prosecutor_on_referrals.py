"""case prosecutor on referrals: the prosecutor's list read from one index range, kept by triggers

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 18:25:00

A prosecutor sees the referrals of their cases. Read through the cases, their list sorted and counted every referral
of every case they hold, so it grew with their caseload (issue 15: x2.5 to x3 from 1k to 100k referrals). Each
referral now carries its case's prosecutor, and the list reads (case_prosecutor_id, received_at, id) in order.

The database keeps the copy, whatever door writes: a referral's is set from its case when it is written with a case
(or when anything writes the copy itself), and a case's new prosecutor is copied to every referral of the case.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROM_CASE = "(SELECT prosecutor_id FROM criminal_cases WHERE criminal_cases.id = NEW.case_id)"


def upgrade() -> None:
    op.add_column('referrals', sa.Column('case_prosecutor_id', sa.Uuid(), nullable=True))
    op.execute("UPDATE referrals SET case_prosecutor_id = "
               "(SELECT prosecutor_id FROM criminal_cases WHERE criminal_cases.id = referrals.case_id)")
    op.create_index('ix_referrals_case_prosecutor_id_received_at_id', 'referrals',
                    ['case_prosecutor_id', 'received_at', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION copy_case_prosecutor() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"NEW.case_prosecutor_id := {FROM_CASE}; RETURN NEW; END $$")
        op.execute("CREATE TRIGGER referral_case_prosecutor BEFORE INSERT OR UPDATE OF case_id, case_prosecutor_id "
                   "ON referrals FOR EACH ROW EXECUTE FUNCTION copy_case_prosecutor()")
        op.execute("CREATE FUNCTION spread_case_prosecutor() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "UPDATE referrals SET case_prosecutor_id = NEW.prosecutor_id WHERE case_id = NEW.id; "
                   "RETURN NULL; END $$")
        op.execute("CREATE TRIGGER case_prosecutor_moved AFTER UPDATE OF prosecutor_id ON criminal_cases FOR EACH ROW "
                   "WHEN (OLD.prosecutor_id IS DISTINCT FROM NEW.prosecutor_id) "
                   "EXECUTE FUNCTION spread_case_prosecutor()")
    else:
        # SQLite cannot change NEW before the write: the row is corrected just after it, in the same statement.
        for name, change in (("referral_case_prosecutor", "INSERT"),
                             ("referral_case_prosecutor_changed", "UPDATE OF case_id, case_prosecutor_id")):
            op.execute(f"CREATE TRIGGER {name} AFTER {change} ON referrals BEGIN "
                       f"UPDATE referrals SET case_prosecutor_id = {FROM_CASE} WHERE id = NEW.id; END")
        op.execute("CREATE TRIGGER case_prosecutor_moved AFTER UPDATE OF prosecutor_id ON criminal_cases "
                   "WHEN OLD.prosecutor_id IS NOT NEW.prosecutor_id BEGIN "
                   "UPDATE referrals SET case_prosecutor_id = NEW.prosecutor_id WHERE case_id = NEW.id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_prosecutor_moved ON criminal_cases")
        op.execute("DROP TRIGGER referral_case_prosecutor ON referrals")
        op.execute("DROP FUNCTION spread_case_prosecutor()")
        op.execute("DROP FUNCTION copy_case_prosecutor()")
    else:
        for name in ("case_prosecutor_moved", "referral_case_prosecutor", "referral_case_prosecutor_changed"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index('ix_referrals_case_prosecutor_id_received_at_id', table_name='referrals')
    op.drop_column('referrals', 'case_prosecutor_id')
