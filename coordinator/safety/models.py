"""Safety before any joint meeting (docs/design.md rule 4): risk assessments, mitigation plans, protective orders and
safety incidents."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, Index, String
from sqlmodel import Field, SQLModel

from coordinator.crypto import Via, sealed
from coordinator.db import UTCDateTime, new_id


class RiskLevel(StrEnum):
    """The levels of the instrument; prohibitive blocks joint formats, high needs an approved plan."""

    low = "low"
    moderate = "moderate"
    high = "high"
    prohibitive = "prohibitive"


class Measure(StrEnum):
    """The fixed list of measures a mitigation plan chooses from."""

    separate_waiting_rooms = "separate_waiting_rooms"
    staggered_arrival = "staggered_arrival"
    support_person = "support_person"
    security_on_site = "security_on_site"
    shuttle_format = "shuttle_format"
    remote_participation = "remote_participation"


class IncidentKind(StrEnum):
    """What happened."""

    retaliation = "retaliation"
    threat = "threat"
    contact_violation = "contact_violation"
    other = "other"


LEVEL_LABELS: dict[str, LazyString] = {
    RiskLevel.low: _l("Low"),
    RiskLevel.moderate: _l("Moderate"),
    RiskLevel.high: _l("High"),
    RiskLevel.prohibitive: _l("Prohibitive"),
}

MEASURE_LABELS: dict[str, LazyString] = {
    Measure.separate_waiting_rooms: _l("Separate waiting rooms"),
    Measure.staggered_arrival: _l("Staggered arrival and departure"),
    Measure.support_person: _l("A support person present"),
    Measure.security_on_site: _l("Security on site"),
    Measure.shuttle_format: _l("Shuttle format (no face-to-face meeting)"),
    Measure.remote_participation: _l("Remote participation"),
}

INCIDENT_LABELS: dict[str, LazyString] = {
    IncidentKind.retaliation: _l("Retaliation"),
    IncidentKind.threat: _l("Threat"),
    IncidentKind.contact_violation: _l("Contact against an order or agreement"),
    IncidentKind.other: _l("Other"),
}


class RiskAssessment(SQLModel, table=True):
    """One assessment with the instrument version it used and the results it gave; never changed afterwards."""

    __tablename__ = "risk_assessments"
    __sealed_under__ = "referral_id"
    __table_args__ = (Index("ix_risk_assessments_referral_id_assessed_at", "referral_id", "assessed_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    instrument_version: str = Field(sa_type=String(16))
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    score: int
    level: str = Field(sa_type=String(16))
    red_flags: list[str] = Field(default_factory=list, sa_type=JSON)
    summary_enc: str | None = Field(default=None, sa_type=String(12000))
    assessor_id: uuid.UUID = Field(foreign_key="users.id")
    assessed_at: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)

    summary = sealed("summary_enc")


class MitigationPlan(SQLModel, table=True):
    """Measures for a high-risk assessment, proposed by staff and approved by a coordinator."""

    __tablename__ = "mitigation_plans"
    __sealed_under__ = Via("assessment_id", RiskAssessment)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    assessment_id: uuid.UUID = Field(foreign_key="risk_assessments.id", unique=True)
    measures: list[str] = Field(default_factory=list, sa_type=JSON)
    notes_enc: str | None = Field(default=None, sa_type=String(12000))
    proposed_by_id: uuid.UUID = Field(foreign_key="users.id")
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    approved_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    notes = sealed("notes_enc")


class ProtectiveOrder(SQLModel, table=True):
    """A court's protective order; a no-contact order allows only indirect formats while it runs."""

    __tablename__ = "protective_orders"
    __sealed_under__ = "referral_id"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    court_reference_enc: str | None = Field(default=None, sa_type=String(1024), nullable=False)
    no_contact: bool = True
    expires_on: date
    recorded_by_id: uuid.UUID = Field(foreign_key="users.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)

    court_reference = sealed("court_reference_enc")


class SafetyIncident(SQLModel, table=True):
    """Something that threatens a party's safety; it pauses the referral until a new assessment."""

    __tablename__ = "safety_incidents"
    __sealed_under__ = "referral_id"
    __table_args__ = (Index("ix_safety_incidents_referral_id_reported_at", "referral_id", "reported_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    kind: str = Field(sa_type=String(24))
    description_enc: str | None = Field(default=None, sa_type=String(12000))
    reporter_type: str = Field(sa_type=String(16))
    reporter_id: uuid.UUID | None = None
    reported_at: datetime = Field(sa_type=UTCDateTime)

    description = sealed("description_enc")
