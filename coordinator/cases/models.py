"""The criminal case's own calendar and stages, kept beside the restorative process as scheduling context."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime, new_id


class HearingKind(StrEnum):
    """The court hearings a circle is planned around."""

    arraignment = "arraignment"
    plea = "plea"
    trial = "trial"
    sentencing = "sentencing"
    other = "other"


HEARING_KIND_LABELS: dict[str, LazyString] = {
    HearingKind.arraignment: _l("Arraignment"),
    HearingKind.plea: _l("Plea hearing"),
    HearingKind.trial: _l("Trial"),
    HearingKind.sentencing: _l("Sentencing"),
    HearingKind.other: _l("Other hearing"),
}


class Hearing(SQLModel, table=True):
    """A dated hearing of a criminal case."""

    __tablename__ = "hearings"
    __table_args__ = (Index("ix_hearings_case_id_on_date", "case_id", "on_date"),
                      Index("ix_hearings_kind_on_date", "kind", "on_date"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="criminal_cases.id")
    kind: str = Field(sa_type=String(16))
    on_date: date
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class CaseStageChange(SQLModel, table=True):
    """One move of the criminal case's stage, as the prosecution or the programme reported it."""

    __tablename__ = "case_stage_changes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="criminal_cases.id", index=True)
    from_stage: str = Field(sa_type=String(16))
    to_stage: str = Field(sa_type=String(16))
    changed_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    changed_at: datetime = Field(sa_type=UTCDateTime)


class CourtReport(SQLModel, table=True):
    """A compliance summary prepared for a sentencing hearing: counts only, never what was said."""

    __tablename__ = "court_reports"
    __table_args__ = (UniqueConstraint("referral_id", "hearing_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    hearing_id: uuid.UUID = Field(foreign_key="hearings.id")
    agreement_status: str = Field(sa_type=String(16))
    items_total: int
    items_completed: int
    items_overdue: int
    prepared_at: datetime = Field(sa_type=UTCDateTime)
