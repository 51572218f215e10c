"""`GET /api/v1/prosecution/cases/{docket_number}` with exactly the fields of docs/api.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.consent.models import ConsentStatus
from coordinator.inputs import QueryModel
from coordinator.prosecution.service import case_disclosure

bp = api_blueprint("prosecution_api", __name__, "prosecution")


class CirclePart(BaseModel):
    """The circle's status and date (YYYY-MM-DD or null)."""

    status: Literal["not_scheduled", "scheduled", "held", "cancelled"]
    date: str | None


class ConsentPart(BaseModel):
    """Each party's participation status."""

    survivor: ConsentStatus
    responsible_party: ConsentStatus


class AgreementPart(BaseModel):
    """The compliance summary, only when both parties agreed to share it."""

    status: str
    items_total: int
    items_completed: int
    items_overdue: int


class ProsecutionReferral(BaseModel):
    """One referral as the prosecution sees it."""

    reference: str
    stage: Literal["intake", "preparation", "circle_scheduled", "circle_held", "agreement_monitoring", "closed"]
    consent: ConsentPart
    circle: CirclePart
    agreement: AgreementPart | None


class ProsecutionCase(BaseModel):
    """A case and its referrals."""

    docket_number: str
    court: str
    jurisdiction: str
    referrals: list[ProsecutionReferral]


class DocketPath(BaseModel):
    """A docket number in the path."""

    docket_number: str = Field(max_length=64)


class CourtQuery(QueryModel):
    """Which of the prosecutor's cases with this docket number (case-insensitive)."""

    court: str | None = Field(default=None, max_length=200)
    jurisdiction: str | None = Field(default=None, max_length=120)


@bp.get("/prosecution/cases/<docket_number>", responses={"200": ProsecutionCase})
def case(path: DocketPath, query: CourtQuery):
    """The assigned prosecutor's view of a case; 404 for anyone else's case; 409 `conflict` when two of theirs
    share the docket number and `?court=` does not choose."""
    disclosed = case_disclosure(api_actor(), path.docket_number, query.court, query.jurisdiction)
    return ProsecutionCase.model_validate(disclosed).model_dump(mode="json")
