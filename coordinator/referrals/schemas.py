"""The shapes referrals take at the edge: what the API and the intake form accept, and what the API returns."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from coordinator.referrals.models import CaseStage, ReferralSource, ReferralStatus
from coordinator.roster.profiles import valid_timezone  # the roster owns what a valid zone is

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,24}$")
DOCKET = re.compile(r"^[A-Z0-9][A-Z0-9 ./:_\-]{0,63}$")


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ContactIn(Strict):
    """How to reach a party; encrypted at rest."""

    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=25)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not PHONE.match(value):
            raise ValueError("enter a phone number such as +34 600 000 000")
        return value


class PartyIn(Strict):
    """A party as referred: an alias, never a legal name, is what staff use."""

    alias: Annotated[Text, StringConstraints(max_length=80)]
    preferred_language: str = Field(default="en", description="ISO 639-1 code, e.g. es")
    needs_interpreter: bool = False
    interpreter_arranged: bool = Field(default=False, description="asked when the portal does not speak the "
                                       "party's language")
    timezone: str | None = Field(default=None, description="the party's IANA time zone, for remote sessions; "
                                 "the programme's when omitted")
    contact: ContactIn = Field(default_factory=ContactIn)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not valid_timezone(value):
            raise ValueError("use an IANA time zone such as Europe/Madrid")
        return value

    @field_validator("preferred_language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = value.strip().lower()
        if not LANGUAGE_CODE.match(value):
            raise ValueError("use a two-letter language code such as es")
        return value


class CaseIn(Strict):
    """The criminal case the referral belongs to."""

    jurisdiction: Annotated[Text, StringConstraints(max_length=120)]
    court: Annotated[Text, StringConstraints(max_length=200)]
    docket_number: Annotated[Text, StringConstraints(max_length=64, to_upper=True)]
    charges: list[Annotated[Text, StringConstraints(max_length=200)]] = Field(default_factory=list, max_length=20)
    stage: CaseStage
    prosecutor_email: EmailStr | None = None

    @field_validator("docket_number")
    @classmethod
    def _docket(cls, value: str) -> str:
        if not DOCKET.match(value):
            raise ValueError("use letters, digits, spaces and . / : _ - only")
        return value


class ReferralIn(Strict):
    """`POST /api/v1/referrals` and the intake form."""

    source: ReferralSource
    case: CaseIn
    survivor: PartyIn
    responsible_party: PartyIn
    notes: str | None = Field(default=None, max_length=4000)


class TransitionIn(Strict):
    """`POST /api/v1/referrals/{id}/transitions`."""

    to: ReferralStatus
    reason: str | None = Field(default=None, max_length=32, description="reason code, required for paused and closed")
    note: str | None = Field(default=None, max_length=2000)


class FacilitatorsIn(Strict):
    """`PUT /api/v1/referrals/{id}/facilitators`."""

    lead: uuid.UUID
    co: uuid.UUID


class ListQuery(BaseModel):
    """Filters of `GET /api/v1/referrals`."""

    status: ReferralStatus | None = None
    q: str | None = Field(default=None, max_length=64, description="a reference or a docket number")
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=50, ge=1, le=200)


class ReferralPath(BaseModel):
    """A referral's id in the path."""

    referral_id: str


class ContactOut(BaseModel):
    """A party's contact details."""

    email: str | None
    phone: str | None


class PartyOut(BaseModel):
    """A party as staff in scope see it."""

    id: uuid.UUID
    alias: str
    preferred_language: str
    needs_interpreter: bool
    interpreter_arranged: bool
    timezone: str | None
    portal_language: str = Field(description="the language the portal, sheets and messages reach the party in")
    contact: ContactOut


class CaseOut(BaseModel):
    """The linked criminal case."""

    jurisdiction: str
    court: str
    docket_number: str
    charges: list[str]
    stage: CaseStage
    prosecutor_id: uuid.UUID | None


class FacilitatorsOut(BaseModel):
    """Assigned lead and co-facilitator ids."""

    lead: uuid.UUID | None
    co: uuid.UUID | None


class ReferralOut(BaseModel):
    """A referral as coordinators and assigned facilitators see it."""

    id: uuid.UUID
    reference: str
    source: ReferralSource
    status: ReferralStatus
    status_reason: str | None
    received_at: datetime
    updated_at: datetime
    case: CaseOut
    survivor: PartyOut
    responsible_party: PartyOut
    facilitators: FacilitatorsOut


class ReferralSummary(BaseModel):
    """One row of the referral list."""

    id: uuid.UUID
    reference: str
    status: ReferralStatus
    received_at: datetime
    docket_number: str
    survivor_alias: str
    facilitators: FacilitatorsOut


class ProsecutionReferralOut(BaseModel):
    """A referral as its prosecutor sees it: no aliases, contacts, notes or reasons (docs/design.md rule 5)."""

    id: uuid.UUID
    reference: str
    docket_number: str
    stage: str = Field(description="intake, preparation, circle_scheduled, circle_held, agreement_monitoring or closed")
    received_on: date


class ErasedReferralOut(BaseModel):
    """A referral whose personal data was erased: this, and nothing else (docs/api.md "After erasure")."""

    id: uuid.UUID
    reference: str
    status: ReferralStatus
    erased_at: datetime


class ReferralListOut(BaseModel):
    """A page of referrals; prosecutors get prosecution-view items, and an erased referral only its erased form."""

    items: list[ReferralSummary | ProsecutionReferralOut | ErasedReferralOut]
    page: int
    per_page: int
    total: int
