"""The shapes referrals take at the edge: what the API and the intake form accept, and what the API returns."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import to_json

from coordinator.inputs import MAX_PAGE, QueryModel, TimeZoneName, visible_line
from coordinator.referrals.models import CaseStage, ReferralSource, ReferralStatus

# A phone number, or spaces only for none (the form's empty field).
PHONE_PATTERN = r"^ *(\+?[0-9][0-9 ()\-.]{5,24})? *$"
DOCKET = re.compile(r"^[A-Z0-9][A-Z0-9 ./:_\-]{0,63}$")


# As intake stores a docket number: letters (either case; kept in capitals), digits and . / : _ - and spaces.
DocketNumber = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_\-]{0,63}$"),
                         AfterValidator(lambda value: value.strip().upper())]


class Strict(BaseModel):
    """A request body: unknown fields are an error, not silently dropped, and JSON's own types are kept.

    A body is validated as the JSON document it is, in pydantic's strict mode: `"8"` is not 8, `0` is not false,
    `3.0` is not 3, exactly as the OpenAPI document says, while dates, times, ids and codes are read from their
    JSON strings.
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, **kwargs: Any) -> Self:
        """Validate `obj` (parsed JSON, or a form's values) as a JSON document, strictly unless told otherwise."""
        if strict is False or not isinstance(obj, dict):
            return super().model_validate(obj, strict=strict, **kwargs)
        return cls.model_validate_json(to_json(obj), strict=True, **kwargs)


class ContactIn(Strict):
    """How to reach a party; encrypted at rest."""

    email: EmailStr | None = None
    phone: Annotated[str, StringConstraints(max_length=25, pattern=PHONE_PATTERN),
                     AfterValidator(lambda value: value.strip() or None)] | None = Field(
        default=None, description="e.g. +34 600 000 000; empty for none")


class PartyIn(Strict):
    """A party as referred: an alias, never a legal name, is what staff use."""

    alias: visible_line(80)  # type: ignore[valid-type]
    preferred_language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}$"), AfterValidator(str.lower)] = \
        Field(default="en", description="ISO 639-1 code, e.g. es")
    needs_interpreter: bool = False
    interpreter_arranged: bool = Field(default=False, description="asked when the portal does not speak the "
                                       "party's language")
    timezone: TimeZoneName | None = Field(default=None, description="the party's IANA time zone, for remote "
                                          "sessions; the programme's when omitted")
    contact: ContactIn = Field(default_factory=ContactIn)


class CaseIn(Strict):
    """The criminal case the referral belongs to."""

    jurisdiction: visible_line(120)  # type: ignore[valid-type]
    court: visible_line(200)  # type: ignore[valid-type]
    docket_number: DocketNumber
    charges: list[visible_line(200)] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    stage: CaseStage
    prosecutor_email: EmailStr | None = None


class ReferralIn(Strict):
    """`POST /api/v1/referrals` and the intake form: the case by its identity, or (coordinators) an existing case's
    id, never both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["case"], "properties": {"case": {"type": "object"}}},
        {"required": ["case_id"], "properties": {"case_id": {"type": "string"}}}]})

    source: ReferralSource
    case: CaseIn | None = None
    case_id: uuid.UUID | None = Field(default=None, description="an existing case (coordinators only)")
    survivor: PartyIn
    responsible_party: PartyIn
    notes: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _one_case(self) -> ReferralIn:
        if (self.case is None) == (self.case_id is None):
            raise ValueError("give either case or case_id")
        return self


class TransitionIn(Strict):
    """`POST /api/v1/referrals/{id}/transitions`."""

    to: ReferralStatus
    reason: str | None = Field(default=None, max_length=32, description="reason code, required for paused and closed")
    note: str | None = Field(default=None, max_length=2000)


class FacilitatorsIn(Strict):
    """`PUT /api/v1/referrals/{id}/facilitators`."""

    lead: uuid.UUID
    co: uuid.UUID
    override_reason: visible_line(200) | None = Field(  # type: ignore[valid-type]
        default=None, description="why a facilitator at their caseload cap is assigned anyway (no names)")


class ListQuery(QueryModel):
    """Filters of `GET /api/v1/referrals`."""

    status: ReferralStatus | None = None
    q: str | None = Field(default=None, max_length=64, description="a reference or a docket number")
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
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
