"""JSON routes for safety (docs/api.md "Safety") and the readiness gate."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from flask_babel import get_locale
from flask_babel import gettext as _
from pydantic import BaseModel, Field, WithJsonSchema

from coordinator import clock
from coordinator.api import api_actor, api_blueprint
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.errors import NotFound
from coordinator.gates import Unmet
from coordinator.inputs import Day, QueryModel
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral
from coordinator.roster.models import Venue
from coordinator.safety import service
from coordinator.safety.instrument import current_instrument, in_language
from coordinator.safety.models import IncidentKind, Measure, RiskLevel
from coordinator.safety.readiness import CirclePlan, unmet_for
from coordinator.sessions.models import SessionFormat

bp = api_blueprint("safety_api", __name__, "safety")


class InstrumentAnswerOut(BaseModel):
    """One possible answer."""

    code: str
    label: str
    weight: int
    red_flag: bool


class InstrumentItemOut(BaseModel):
    """One question of the instrument."""

    code: str
    question: str
    answers: list[InstrumentAnswerOut]


class InstrumentOut(BaseModel):
    """The current instrument in the caller's language."""

    version: str
    title: str
    items: list[InstrumentItemOut]
    thresholds: dict[str, int | None]


def _answers_schema() -> dict:
    """The current instrument's items as the document's rule: every item answered with one of its codes."""
    items = current_instrument().items
    return {"type": "object", "additionalProperties": False, "required": [item.code for item in items],
            "properties": {item.code: {"type": "string", "enum": [answer.code for answer in item.answers]}
                           for item in items}}


class AssessmentIn(Strict):
    """`POST /api/v1/referrals/{id}/risk-assessments`: an answer code for every item of the current instrument
    (`GET /api/v1/risk/instrument`)."""

    answers: Annotated[dict[str, str], WithJsonSchema(_answers_schema())]
    summary: str | None = Field(default=None, max_length=4000)


class AssessmentOut(BaseModel):
    """An assessment's results."""

    id: uuid.UUID
    instrument_version: str
    score: int
    level: RiskLevel
    red_flags: list[str]
    assessed_at: datetime
    valid_until: datetime


class AssessmentsOut(BaseModel):
    """A referral's assessments, newest first."""

    items: list[AssessmentOut]


class MitigationIn(Strict):
    """`POST /api/v1/risk-assessments/{id}/mitigation`."""

    measures: list[Measure] = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=4000)


class MitigationOut(BaseModel):
    """A mitigation plan."""

    id: uuid.UUID
    assessment_id: uuid.UUID
    measures: list[Measure]
    approved: bool
    approved_at: datetime | None


class AssessmentPath(BaseModel):
    """An assessment's id in the path."""

    assessment_id: str


class ProtectiveOrderIn(Strict):
    """`POST /api/v1/referrals/{id}/protective-orders`."""

    court_reference: str = Field(min_length=1, max_length=200)
    no_contact: bool = True
    expires_on: Day


class ProtectiveOrderOut(BaseModel):
    """A recorded order (its reference stays encrypted and is not echoed)."""

    id: uuid.UUID
    no_contact: bool
    expires_on: date


class IncidentIn(Strict):
    """`POST /api/v1/referrals/{id}/safety-incidents`."""

    kind: IncidentKind
    description: str | None = Field(default=None, max_length=4000)


class IncidentOut(BaseModel):
    """A recorded incident and the referral's status after it."""

    id: uuid.UUID
    kind: IncidentKind
    reported_at: datetime
    referral_status: str


class ReadinessQuery(QueryModel):
    """`GET /api/v1/referrals/{id}/readiness`."""

    format: SessionFormat | None = Field(default=None, description="in_person, video, shuttle or letter; "
                                                                     "any format when omitted")
    date: Day | None = Field(default=None, description="the circle's date; today when omitted")
    venue_id: uuid.UUID | None = None
    interpreter: bool = Field(default=False, description="an interpreter is booked")


class UnmetOut(BaseModel):
    """One unmet condition."""

    code: str
    message: str


class ReadinessOut(BaseModel):
    """The gate's answer."""

    ready: bool
    unmet: list[UnmetOut]


def _assessment_json(assessment) -> dict:
    return AssessmentOut(id=assessment.id, instrument_version=assessment.instrument_version,
                         score=assessment.score, level=assessment.level, red_flags=assessment.red_flags,
                         assessed_at=assessment.assessed_at, valid_until=assessment.valid_until
                         ).model_dump(mode="json")


def _plan_json(plan) -> dict:
    return MitigationOut(id=plan.id, assessment_id=plan.assessment_id, measures=plan.measures,
                         approved=plan.approved_at is not None, approved_at=plan.approved_at
                         ).model_dump(mode="json")


@bp.get("/risk/instrument", responses={"200": InstrumentOut})
def instrument():
    """The current risk instrument, translated."""
    current = current_instrument()
    language = str(get_locale())
    return InstrumentOut(
        version=current.version,
        title=in_language(current.title, language),
        items=[InstrumentItemOut(code=item.code, question=in_language(item.question, language),
                       answers=[InstrumentAnswerOut(code=a.code, label=in_language(a.label, language), weight=a.weight,
                                          red_flag=a.red_flag) for a in item.answers])
               for item in current.items],
        thresholds=dict(current.thresholds),
    ).model_dump(mode="json")


@bp.post("/referrals/<referral_id>/risk-assessments", responses={"201": AssessmentOut})
def assess(path: ReferralPath, body: AssessmentIn):
    """Record an assessment; 400 when an item is unanswered."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    return _assessment_json(service.record_assessment(actor, referral, body.answers, body.summary)), 201


@bp.get("/referrals/<referral_id>/risk-assessments", responses={"200": AssessmentsOut})
def assessments(path: ReferralPath):
    """The referral's assessments, newest first."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    service.require_safety_staff(actor)
    record(actor, "risk.view", referral, referral_id=referral.id)
    return {"items": [_assessment_json(item) for item in service.assessments_of(referral)]}


@bp.post("/risk-assessments/<assessment_id>/mitigation", responses={"201": MitigationOut})
def mitigation(path: AssessmentPath, body: MitigationIn):
    """Propose a mitigation plan from the fixed list of measures."""
    actor = api_actor()
    plan = service.propose_mitigation(actor, service.load_assessment(actor, path.assessment_id),
                                      [measure.value for measure in body.measures], body.notes)
    return _plan_json(plan), 201


@bp.post("/risk-assessments/<assessment_id>/approve", responses={"200": MitigationOut})
def approve(path: AssessmentPath):
    """Approve the plan (coordinators)."""
    actor = api_actor()
    return _plan_json(service.approve_mitigation(actor, service.load_assessment(actor, path.assessment_id)))


@bp.post("/referrals/<referral_id>/protective-orders", responses={"201": ProtectiveOrderOut})
def protective_order(path: ReferralPath, body: ProtectiveOrderIn):
    """Record a protective order."""
    actor = api_actor()
    order = service.record_protective_order(actor, load_referral(actor, path.referral_id), body.court_reference,
                                            body.no_contact, body.expires_on)
    return ProtectiveOrderOut(id=order.id, no_contact=order.no_contact, expires_on=order.expires_on
                              ).model_dump(mode="json"), 201


@bp.post("/referrals/<referral_id>/safety-incidents", responses={"201": IncidentOut})
def incident(path: ReferralPath, body: IncidentIn):
    """Record a safety incident: the referral is paused at once."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    recorded = service.report_incident(actor, referral, body.kind, body.description)
    return IncidentOut(id=recorded.id, kind=recorded.kind, reported_at=recorded.reported_at,
                       referral_status=referral.status).model_dump(mode="json"), 201


@bp.get("/referrals/<referral_id>/readiness", responses={"200": ReadinessOut})
def get_readiness(path: ReferralPath, query: ReadinessQuery):
    """Every unmet condition of the readiness gate for a circle in this format on this date."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    service.require_safety_staff(actor)
    venue = None
    if query.venue_id is not None:
        venue = db.session.get(Venue, query.venue_id)
        if venue is None:
            raise NotFound(_("Not found."))
    unmet: list[Unmet] = unmet_for(CirclePlan(referral, query.format, query.date or clock.now().date(), venue,
                                             query.interpreter))
    return {"ready": not unmet, "unmet": [item.as_dict() for item in unmet]}

