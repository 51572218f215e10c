"""`GET /api/v1/prosecution/cases/{docket_number}` with exactly the fields of docs/api.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from coordinator.api import api_actor, api_blueprint
from coordinator.consent.models import ConsentStatus
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
    referrals: list[ProsecutionReferral]


class DocketPath(BaseModel):
    """A docket number in the path."""

    docket_number: str


@bp.get("/prosecution/cases/<docket_number>", responses={"200": ProsecutionCase})
def case(path: DocketPath):
    """The assigned prosecutor's view of a case; 404 for anyone else's case."""
    return ProsecutionCase.model_validate(case_disclosure(api_actor(), path.docket_number)).model_dump(mode="json")
