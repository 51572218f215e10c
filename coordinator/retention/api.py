"""JSON routes of the data lifecycle (docs/api.md "The coordinator's queue, retention, a person's data"): legal holds,
erasure on request, a party's export, and what the schedule will erase next."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from flask import Response
from pydantic import BaseModel, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.inputs import QueryModel
from coordinator.referrals.api import referral_json
from coordinator.referrals.models import PartyRole, Referral
from coordinator.referrals.schemas import ErasedReferralOut, ReferralPath, Strict
from coordinator.referrals.service import load_referral
from coordinator.retention import service
from coordinator.retention.export import PartyExport, party_export
from coordinator.retention.export_pdf import render_export_pdf
from coordinator.retention.views import export_filename

bp = api_blueprint("retention_api", __name__, "retention")


class HoldIn(Strict):
    """`PUT /api/v1/referrals/{id}/legal-hold`."""

    reason: str = Field(min_length=1, max_length=service.MAX_REASON, description="why the data must be kept")


class BlockerOut(BaseModel):
    """One reason an erasure must wait: `legal_hold`, `case_open` or `hearing_ahead`."""

    code: str
    message: str


class HoldOut(BaseModel):
    """The legal hold in force."""

    reason: str | None
    set_at: datetime
    set_by: uuid.UUID


class RetentionOut(BaseModel):
    """Where a referral stands in the retention schedule."""

    referral_id: uuid.UUID
    ended: bool
    due_at: datetime | None = Field(description="when the schedule erases it, once it has ended")
    basis: str | None = Field(description="closed or declined")
    legal_hold: HoldOut | None
    blockers: list[BlockerOut] = Field(description="what postpones the erasure; empty when nothing does")


class ErasureIn(Strict):
    """`POST /api/v1/referrals/{id}/erasure`: a party asked for their data to be erased."""

    party: PartyRole


class ExportPath(BaseModel):
    """A referral's id and one of its parties."""

    referral_id: str
    party: PartyRole


class ExportQuery(QueryModel):
    """JSON by default; `?format=pdf` for the PDF."""

    format: Literal["json", "pdf"] = "json"


class UpcomingOut(BaseModel):
    """An erasure the schedule will make within the warning period."""

    referral_id: uuid.UUID
    reference: str
    due_at: datetime
    basis: str
    blockers: list[BlockerOut]


class UpcomingListOut(BaseModel):
    """Everything due within the warning period, soonest first."""

    items: list[UpcomingOut]


def retention_json(referral: Referral) -> dict:
    """The referral's retention as the API shows it."""
    retention = service.retention_of(referral)
    hold = retention.hold
    return RetentionOut(
        referral_id=referral.id, ended=retention.ended, due_at=retention.due_at, basis=retention.basis,
        legal_hold=HoldOut(reason=hold.reason, set_at=hold.set_at, set_by=hold.set_by_id) if hold else None,
        blockers=[BlockerOut(**blocker.as_dict()) for blocker in retention.blockers],
    ).model_dump(mode="json")


def _coordinators_referral(referral_id: str) -> Referral:
    actor = api_actor()
    referral = load_referral(actor, referral_id)
    service.require_coordinator(actor)
    return referral


@bp.get("/referrals/<referral_id>/retention", responses={"200": RetentionOut})
def get_retention(path: ReferralPath):
    """When the referral's data is due to be erased, and what holds it (coordinators)."""
    return retention_json(_coordinators_referral(path.referral_id))


@bp.put("/referrals/<referral_id>/legal-hold", responses={"200": RetentionOut})
def set_legal_hold(path: ReferralPath, body: HoldIn):
    """Hold the referral's erasure, with a reason (coordinators); a new reason replaces the hold in force."""
    referral = _coordinators_referral(path.referral_id)
    service.set_legal_hold(api_actor(), referral, body.reason)
    return retention_json(referral)


@bp.delete("/referrals/<referral_id>/legal-hold", responses={"200": RetentionOut})
def lift_legal_hold(path: ReferralPath):
    """Lift the legal hold in force, if any (coordinators)."""
    referral = _coordinators_referral(path.referral_id)
    service.lift_legal_hold(api_actor(), referral)
    return retention_json(referral)


@bp.post("/referrals/<referral_id>/erasure", responses={"200": ErasedReferralOut})
def erase_on_request(path: ReferralPath, body: ErasureIn):
    """Erase an ended referral's personal data at a party's request, unless a hold keeps it (409 `gate_failed`)."""
    referral = _coordinators_referral(path.referral_id)
    service.erase_on_request(api_actor(), referral, body.party)
    return referral_json(referral, api_actor())


@bp.get("/referrals/<referral_id>/parties/<party>/export", responses={"200": PartyExport})
def export_party(path: ExportPath, query: ExportQuery):
    """Everything held about one party, in their language: JSON, or a PDF with `?format=pdf` (coordinators)."""
    referral = _coordinators_referral(path.referral_id)
    export = party_export(api_actor(), referral, path.party, query.format)
    if query.format == "pdf":
        return Response(render_export_pdf(export), mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{export_filename(export, "pdf")}"'})
    return export.model_dump(mode="json")


@bp.get("/retention/upcoming", responses={"200": UpcomingListOut})
def upcoming():
    """What the schedule will erase within the warning period, held or not (coordinators)."""
    service.require_coordinator(api_actor())
    return UpcomingListOut(items=[
        UpcomingOut(referral_id=c.referral_id, reference=c.reference, due_at=c.due_at, basis=c.basis,
                    blockers=[BlockerOut(**blocker.as_dict()) for blocker in c.blockers])
        for c in service.upcoming_erasures()]).model_dump(mode="json")
