"""JSON routes for referrals (docs/api.md "Referrals"): parse, call the same services as the pages, serialise."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, RootModel

from coordinator.accounts.models import Actor, Role
from coordinator.api import api_actor, api_blueprint
from coordinator.party_i18n import party_language
from coordinator.referrals import service, workflow
from coordinator.referrals.models import AcknowledgementBasis, Party, PartyRole, Referral, ReferralLine
from coordinator.referrals.schemas import (
    CaseOut,
    ContactOut,
    ErasedReferralOut,
    FacilitatorsIn,
    FacilitatorsOut,
    ListQuery,
    PartyOut,
    ProsecutionReferralOut,
    ReferralIn,
    ReferralListOut,
    ReferralOut,
    ReferralPath,
    ReferralSummary,
    Strict,
    TransitionIn,
)

bp = api_blueprint("referrals_api", __name__, "referrals")


class ReferralView(RootModel[ReferralOut | ProsecutionReferralOut | ErasedReferralOut]):
    """A referral as the caller may see it: prosecutors get the prosecution view; once erased, its erased form."""


def _party(party: Party) -> PartyOut:
    return PartyOut(id=party.id, alias=party.alias, preferred_language=party.preferred_language,
                    needs_interpreter=party.needs_interpreter, interpreter_arranged=party.interpreter_arranged,
                    timezone=party.timezone, portal_language=party_language(party.preferred_language).code,
                    contact=ContactOut(email=party.email, phone=party.phone))


def _facilitators(referral: Referral | ReferralLine) -> FacilitatorsOut:
    return FacilitatorsOut(lead=referral.lead_facilitator_id, co=referral.co_facilitator_id)


def referral_json(referral: Referral, actor: Actor) -> dict:
    """The referral as `actor` may see it."""
    if referral.erased_at is not None or actor.has_role(Role.prosecutor):
        return _line_json(ReferralLine.of(referral), actor)  # all they see of one is what its list line shows
    case = referral.case
    return ReferralOut(
        id=referral.id,
        reference=referral.reference,
        source=referral.source,
        status=referral.status,
        status_reason=referral.status_reason,
        received_at=referral.received_at,
        updated_at=referral.updated_at,
        case=CaseOut(jurisdiction=case.jurisdiction, court=case.court, docket_number=case.docket_number,
                     charges=case.charges, stage=case.stage, prosecutor_id=case.prosecutor_id),
        survivor=_party(referral.require_party(PartyRole.survivor)),
        responsible_party=_party(referral.require_party(PartyRole.responsible_party)),
        facilitators=_facilitators(referral),
    ).model_dump(mode="json")


def _line_json(line: ReferralLine, actor: Actor) -> dict:
    """A list line as `actor` may see it: once erased, when; prosecutors, the prosecution view; staff, a summary."""
    answer: BaseModel
    if line.erased_at is not None:
        answer = ErasedReferralOut(id=line.id, reference=line.reference, status=line.status, erased_at=line.erased_at)
    elif actor.has_role(Role.prosecutor):
        answer = ProsecutionReferralOut(id=line.id, reference=line.reference, docket_number=line.docket_number,
                                        stage=workflow.prosecution_stage(line), received_on=line.received_at.date())
    else:
        answer = ReferralSummary(id=line.id, reference=line.reference, status=line.status,
                                 received_at=line.received_at, docket_number=line.docket_number,
                                 survivor_alias=line.survivor_alias, facilitators=_facilitators(line))
    return answer.model_dump(mode="json")


@bp.post("/referrals", responses={"201": ReferralView})
def create_referral(body: ReferralIn):
    """Take a referral in (coordinators and prosecutors)."""
    actor = api_actor()
    referral = service.create_referral(actor, body)
    answer = {**referral_json(referral, actor), "status": referral.status}
    # A language the portal does not speak, with no interpreter arranged (prosecutors are not told about parties).
    warnings = [gap.as_dict() for gap in service.language_gaps(referral) if not gap.party.interpreter_arranged]
    if warnings and not actor.has_role(Role.prosecutor):
        answer["warnings"] = warnings
    return answer, 201


@bp.get("/referrals", responses={"200": ReferralListOut})
def list_referrals(query: ListQuery):
    """The referrals in the caller's scope, newest first."""
    actor = api_actor()
    page = service.list_referrals(actor, status=query.status, q=query.q, page=query.page, per_page=query.per_page,
                                  with_names=False)
    return {"items": [_line_json(line, actor) for line in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total}


@bp.get("/referrals/<referral_id>", responses={"200": ReferralView})
def get_referral(path: ReferralPath):
    """One referral in the caller's scope; 404 outside it."""
    actor = api_actor()
    return referral_json(service.view_referral(actor, path.referral_id), actor)


@bp.post("/referrals/<referral_id>/transitions", responses={"200": ReferralOut})
def transition_referral(path: ReferralPath, body: TransitionIn):
    """Move a referral along its status machine; 409 when the move is not allowed or a gate fails."""
    actor = api_actor()
    referral = service.load_referral(actor, path.referral_id)
    workflow.transition(actor, referral, body.to, reason=body.reason, note=body.note)
    return referral_json(referral, actor)


@bp.put("/referrals/<referral_id>/facilitators", responses={"200": ReferralOut})
def assign_facilitators(path: ReferralPath, body: FacilitatorsIn):
    """Assign the lead and the co-facilitator (coordinators)."""
    actor = api_actor()
    referral = service.load_referral(actor, path.referral_id)
    service.assign_facilitators(actor, referral, body.lead, body.co, body.override_reason)
    return referral_json(referral, actor)


class AcknowledgementIn(Strict):
    """`POST /api/v1/referrals/{id}/acknowledgement`: where the facts were acknowledged, as a reference."""

    basis: AcknowledgementBasis
    reference: str = Field(min_length=1, max_length=200, description="e.g. a plea hearing's date; never the content")


class AcknowledgementOut(BaseModel):
    """A recorded acknowledgement (the reference stays encrypted and is not echoed)."""

    id: uuid.UUID
    basis: AcknowledgementBasis
    recorded_at: datetime


@bp.post("/referrals/<referral_id>/acknowledgement", responses={"201": AcknowledgementOut})
def acknowledge(path: ReferralPath, body: AcknowledgementIn):
    """Record the responsible party's acknowledgement of the basic facts."""
    actor = api_actor()
    referral = service.load_referral(actor, path.referral_id)
    acknowledgement = service.record_acknowledgement(actor, referral, body.basis, body.reference)
    return AcknowledgementOut(id=acknowledgement.id, basis=acknowledgement.basis,
                              recorded_at=acknowledgement.recorded_at).model_dump(mode="json"), 201
