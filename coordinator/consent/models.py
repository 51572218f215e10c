"""Consent decisions (docs/design.md rules 1 to 3): append-only, per party and scope, each tied to the sheet shown."""

import uuid
from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime, new_id
from coordinator.referrals.models import PartyRole


class Scope(StrEnum):
    """What a party consents to."""

    participation = "participation"
    contact_other_party = "contact_other_party"
    share_outcome_with_court = "share_outcome_with_court"


# The survivor decides about contact with the other person; the responsible party is asked only the rest.
PARTY_SCOPES = {
    PartyRole.survivor: (Scope.participation, Scope.contact_other_party, Scope.share_outcome_with_court),
    PartyRole.responsible_party: (Scope.participation, Scope.share_outcome_with_court),
}


class Decision(StrEnum):
    """A decision is a grant or a withdrawal; nobody can override a withdrawal."""

    granted = "granted"
    withdrawn = "withdrawn"


class Method(StrEnum):
    """How the decision reached the service."""

    secure_link = "secure_link"
    in_person = "in_person"
    via_advocate = "via_advocate"


class ConsentStatus(StrEnum):
    """The status derived from the decisions (docs/design.md section 2)."""

    not_requested = "not_requested"
    pending = "pending"
    granted = "granted"
    withdrawn = "withdrawn"
    expired = "expired"


SCOPE_LABELS: dict[str, LazyString] = {
    Scope.participation: _l("Taking part"),
    Scope.contact_other_party: _l("Contact with the other person"),
    Scope.share_outcome_with_court: _l("Telling the court about the agreement"),
}

STATUS_LABELS: dict[str, LazyString] = {
    ConsentStatus.not_requested: _l("Not asked yet"),
    ConsentStatus.pending: _l("Waiting for a decision"),
    ConsentStatus.granted: _l("Agreed"),
    ConsentStatus.withdrawn: _l("Withdrawn"),
    ConsentStatus.expired: _l("Expired"),
}

METHOD_LABELS: dict[str, LazyString] = {
    Method.secure_link: _l("Through their secure link"),
    Method.in_person: _l("In person"),
    Method.via_advocate: _l("Through an advocate"),
}


class ConsentDecision(SQLModel, table=True):
    """One decision of one party for one scope. Never updated: a change of mind is a new decision."""

    __tablename__ = "consent_decisions"
    __table_args__ = (Index("ix_consent_decisions_party_id_scope_decided_at", "party_id", "scope", "decided_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    party_id: uuid.UUID = Field(foreign_key="parties.id")
    scope: str = Field(sa_type=String(32))
    decision: str = Field(sa_type=String(12))
    sheet_version: str = Field(sa_type=String(16))
    sheet_language: str = Field(sa_type=String(8))
    method: str = Field(sa_type=String(16))
    recorded_by_type: str = Field(sa_type=String(16))
    recorded_by_id: uuid.UUID | None = None
    decided_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
