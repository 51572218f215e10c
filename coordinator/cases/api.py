"""The criminal case's hearings and stage in the JSON API."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Response
from pydantic import BaseModel

from coordinator.api import api_actor, api_blueprint
from coordinator.cases import service
from coordinator.cases.models import Hearing, HearingKind
from coordinator.inputs import Day
from coordinator.referrals.models import CaseStage
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral

bp = api_blueprint("case_api", __name__, "criminal case")


class HearingIn(Strict):
    """`POST /api/v1/referrals/{id}/hearings`."""

    kind: HearingKind
    date: Day


class HearingOut(BaseModel):
    """A hearing of the referral's criminal case."""

    id: uuid.UUID
    kind: HearingKind
    date: dt.date


class HearingsOut(BaseModel):
    """The case's stage and its hearings, soonest first."""

    stage: CaseStage
    hearings: list[HearingOut]


class StageIn(Strict):
    """`PUT /api/v1/referrals/{id}/case-stage`."""

    stage: CaseStage


class StageOut(BaseModel):
    """The case's stage after the change."""

    stage: CaseStage


class HearingPath(BaseModel):
    """A hearing's id in the path."""

    hearing_id: str


def hearing_json(hearing: Hearing) -> dict:
    """The API shape of a hearing."""
    return HearingOut(id=hearing.id, kind=hearing.kind, date=hearing.on_date).model_dump(mode="json")


@bp.get("/referrals/<referral_id>/hearings", responses={"200": HearingsOut})
def list_hearings(path: ReferralPath):
    """The stage of the referral's criminal case and its hearings, soonest first."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    service.require_case_reader(actor)
    return {"stage": referral.case.stage,
            "hearings": [hearing_json(hearing) for hearing in service.hearings_of(referral.case)]}


@bp.post("/referrals/<referral_id>/hearings", responses={"201": HearingOut})
def add_hearing(path: ReferralPath, body: HearingIn):
    """Record a hearing (coordinators and the case's prosecutor)."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    return hearing_json(service.add_hearing(actor, referral, body.kind.value, body.date)), 201


@bp.delete("/hearings/<hearing_id>", responses={"204": None})
def remove_hearing(path: HearingPath):
    """Remove a hearing (coordinators and the case's prosecutor)."""
    actor = api_actor()
    service.remove_hearing(actor, service.load_hearing(actor, path.hearing_id))
    return Response(status=204)


@bp.put("/referrals/<referral_id>/case-stage", responses={"200": StageOut})
def change_stage(path: ReferralPath, body: StageIn):
    """Move the criminal case to another stage; the change is kept in the case's history."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    service.change_stage(actor, referral, body.stage.value)
    return StageOut(stage=referral.case.stage).model_dump(mode="json")
