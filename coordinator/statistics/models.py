"""The statistics rollup: counts per programme day and month, rebuilt from the records by a job or on demand."""

from datetime import date, datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime


class StatisticsCount(SQLModel, table=True):
    """How many referrals received in one day or month fall in one category of one figure.

    Figures: `status` (category: a referral status), `asked` and `granted` (category: `party:scope`),
    `days_to_circle` (category: whole days from receipt to the first held circle), `agreement` (category: an
    agreement status). Month rows repeat the day rows, so a long period reads a few rows per month.
    """

    __tablename__ = "statistics_rollup"

    grain: str = Field(primary_key=True, sa_type=String(8))  # "day" or "month"
    period_start: date = Field(primary_key=True)
    figure: str = Field(primary_key=True, sa_type=String(32))
    category: str = Field(primary_key=True, sa_type=String(64))
    count: int


class StatisticsRefresh(SQLModel, table=True):
    """The rollup's one state row: when it was last rebuilt and when a coordinator last asked for a new count; also
    the lock a rebuild holds."""

    __tablename__ = "statistics_refresh"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    refreshed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
