"""Criminal cases in the JSON API (docs/api.md "Referrals", "Cases"): coordinators only."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, EmailStr, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.cases import identity
from coordinator.inputs import MAX_PAGE, QueryModel
from coordinator.referrals.models import CaseStage, CriminalCase
from coordinator.referrals.schemas import CaseIn, Strict

bp = api_blueprint("case_identity_api", __name__, "cases")


class CaseQuery(QueryModel):
    """`GET /api/v1/cases`: exact docket number, court and jurisdiction (case-insensitive); `waiting` lists only
    the provisional cases of prosecutors' referrals that wait to be linked."""

    docket_number: str | None = Field(default=None, max_length=64)
    court: str | None = Field(default=None, max_length=200)
    jurisdiction: str | None = Field(default=None, max_length=120)
    waiting: bool = False
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=50, ge=1, le=200)


class CasePath(BaseModel):
    """A case's id in the path."""

    case_id: str


class ProsecutorIn(Strict):
    """`PUT /api/v1/cases/{id}/prosecutor`: an active prosecutor's address, or null for none."""

    prosecutor_email: EmailStr | None


class CaseRecordOut(BaseModel):
    """A criminal case as coordinators see it."""

    id: uuid.UUID
    jurisdiction: str
    court: str
    docket_number: str
    charges: list[str]
    stage: CaseStage
    prosecutor_id: uuid.UUID | None
    awaiting_link_to: uuid.UUID | None = Field(description="for a provisional case: the case it waits to join")
    referrals: int
    created_at: dt.datetime


class CaseListOut(BaseModel):
    """A page of cases."""

    items: list[CaseRecordOut]
    page: int
    per_page: int
    total: int


def case_json(case: CriminalCase, referrals: int) -> dict:
    """The API shape of a case."""
    return CaseRecordOut(id=case.id, jurisdiction=case.jurisdiction, court=case.court,
                         docket_number=case.docket_number, charges=case.charges, stage=case.stage,
                         prosecutor_id=case.prosecutor_id, awaiting_link_to=case.awaiting_link_to_id,
                         referrals=referrals, created_at=case.created_at).model_dump(mode="json")


def _one(case: CriminalCase) -> dict:
    return case_json(case, identity.referral_counts([case]).get(case.id, 0))


@bp.get("/cases", responses={"200": CaseListOut})
def list_cases(query: CaseQuery):
    """Cases with this docket number (and court, jurisdiction), or those waiting to be linked."""
    page = identity.find_cases(api_actor(), docket_number=query.docket_number, court=query.court,
                               jurisdiction=query.jurisdiction, waiting=query.waiting, page=query.page,
                               per_page=query.per_page)
    counts = identity.referral_counts(page.items)
    return {"items": [case_json(case, counts.get(case.id, 0)) for case in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total}


@bp.post("/cases", responses={"201": CaseRecordOut})
def create_case(body: CaseIn):
    """A new case; 409 `conflict` when a case has this identity already."""
    return _one(identity.create_case(api_actor(), body)), 201


@bp.get("/cases/<case_id>", responses={"200": CaseRecordOut})
def get_case(path: CasePath):
    """One case."""
    return _one(identity.view_case(api_actor(), path.case_id))


@bp.put("/cases/<case_id>/prosecutor", responses={"200": CaseRecordOut})
def assign_prosecutor(path: CasePath, body: ProsecutorIn):
    """Assign the case's prosecutor (null: none); their referral waiting for this case joins it."""
    actor = api_actor()
    return _one(identity.assign_prosecutor(actor, identity.load_case(actor, path.case_id), body.prosecutor_email))


@bp.post("/cases/<case_id>/link", responses={"200": CaseRecordOut})
def link_case(path: CasePath):
    """Link a provisional case (a prosecutor's referral waiting) into the case it names; answers that case."""
    actor = api_actor()
    return _one(identity.link_case(actor, identity.load_case(actor, path.case_id)))
