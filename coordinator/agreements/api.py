"""Agreements in the JSON API (docs/api.md "Agreements and the criminal case")."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask_babel import gettext as _
from pydantic import BaseModel, Field

from coordinator.agreements import queries, service
from coordinator.agreements.models import AcceptanceMethod, AgreementStatus, ItemKind, ItemStatus
from coordinator.api import api_actor, api_blueprint
from coordinator.audit.service import record
from coordinator.errors import NotFound
from coordinator.inputs import Day
from coordinator.referrals.models import PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral

bp = api_blueprint("agreement_api", __name__, "agreements")


class ItemIn(Strict):
    """One item: restitution carries `amount_cents` and `currency`; the others carry neither."""

    kind: ItemKind
    description: str = Field(max_length=service.MAX_DESCRIPTION)
    due_on: Day | None = None
    amount_cents: int | None = None
    currency: str | None = Field(default=None, max_length=3)


class AgreementIn(Strict):
    """`POST /api/v1/referrals/{id}/agreement`: the items; posting again rewrites a draft."""

    items: list[ItemIn] = Field(max_length=service.MAX_ITEMS)


class AcceptanceIn(Strict):
    """`POST /api/v1/agreements/{id}/acceptances`: a party's acceptance given in person or through an advocate."""

    party: PartyRole
    method: AcceptanceMethod
    version: int | None = Field(default=None, description="The version the party was shown; refused if changed since")


class ProgressIn(Strict):
    """`POST /api/v1/agreement-items/{id}/progress`: what happened, or an instalment paid (`amount_cents`)."""

    status: ItemStatus | None = None
    note: str | None = Field(default=None, max_length=service.MAX_NOTE)
    amount_cents: int | None = None


class CloseIn(Strict):
    """`POST /api/v1/agreements/{id}/not-completed`: an optional note, kept encrypted."""

    note: str | None = Field(default=None, max_length=service.MAX_NOTE)


class ProgressOut(BaseModel):
    """One progress entry (its note stays on the referral page)."""

    status: ItemStatus
    amount_cents: int | None
    recorded_at: datetime


class ItemOut(BaseModel):
    """An item with where it stands."""

    id: uuid.UUID
    kind: ItemKind
    description: str
    due_on: date | None
    amount_cents: int | None
    currency: str | None
    paid_cents: int
    status: ItemStatus
    overdue: bool
    progress: list[ProgressOut]


class AcceptanceOut(BaseModel):
    """A party's acceptance of the current version."""

    party: PartyRole
    method: AcceptanceMethod
    accepted_at: datetime


class AgreementOut(BaseModel):
    """An agreement, its items, acceptances and summary."""

    id: uuid.UUID
    referral_id: uuid.UUID
    status: AgreementStatus
    version: int
    items: list[ItemOut]
    acceptances: list[AcceptanceOut]
    items_total: int
    items_completed: int
    items_overdue: int
    activated_at: datetime | None
    ended_at: datetime | None


class AgreementPath(BaseModel):
    """An agreement's id in the path."""

    agreement_id: str


class ItemPath(BaseModel):
    """An item's id in the path."""

    item_id: str


def _drafts(body: AgreementIn) -> list[service.ItemDraft]:
    return [service.ItemDraft(item.kind, item.description, item.due_on, item.amount_cents, item.currency)
            for item in body.items]


def agreement_json(panel: queries.Panel) -> dict:
    """The agreement as the API shows it to the staff who follow it."""
    agreement = panel.agreement
    return AgreementOut(
        id=agreement.id, referral_id=agreement.referral_id, status=agreement.status, version=agreement.version,
        items=[ItemOut(id=item.id, kind=item.kind, description=item.description, due_on=item.due_on,
                       amount_cents=item.amount_cents, currency=item.currency, paid_cents=item.paid_cents,
                       status=item.status, overdue=item.id in panel.overdue,
                       progress=[ProgressOut(status=entry.status, amount_cents=entry.paid_cents,
                                             recorded_at=entry.recorded_at) for entry in panel.progress[item.id]])
               for item in panel.items],
        acceptances=[AcceptanceOut(party=acceptance.party_role, method=acceptance.method,
                                   accepted_at=acceptance.accepted_at)
                     for acceptance in panel.acceptances.values()],
        items_total=panel.summary.items_total, items_completed=panel.summary.items_completed,
        items_overdue=panel.summary.items_overdue, activated_at=agreement.activated_at, ended_at=agreement.ended_at,
    ).model_dump(mode="json")


def _panel_of(referral_id: uuid.UUID) -> dict:
    panel = queries.agreement_panel(load_referral(api_actor(), referral_id))
    if panel is None:  # called after a change to the agreement, so there is one
        raise NotFound(_("No agreement has been drafted yet."))
    return agreement_json(panel)



@bp.post("/referrals/<referral_id>/agreement", responses={"201": AgreementOut, "200": AgreementOut})
def draft(path: ReferralPath, body: AgreementIn):
    """Draft the agreement once a circle was held (201); posting again rewrites the draft (200)."""
    actor = api_actor()
    referral = service.load_followed_referral(actor, path.referral_id)
    _agreement, created = service.draft_agreement(actor, referral, _drafts(body))
    return _panel_of(referral.id), 201 if created else 200


@bp.get("/referrals/<referral_id>/agreement", responses={"200": AgreementOut})
def show(path: ReferralPath):
    """The referral's agreement; 404 before one is drafted."""
    actor = api_actor()
    referral = service.load_followed_referral(actor, path.referral_id)
    panel = queries.agreement_panel(referral)
    if panel is None:
        raise NotFound(_("No agreement has been drafted yet."))
    record(actor, "agreement.view", panel.agreement, referral_id=referral.id)
    return agreement_json(panel)


@bp.post("/agreements/<agreement_id>/acceptances", responses={"201": AgreementOut})
def acceptances(path: AgreementPath, body: AcceptanceIn):
    """Record a party's acceptance; both acceptances make the agreement active."""
    actor = api_actor()
    agreement = service.load_agreement(actor, path.agreement_id)
    service.accept(actor, agreement, body.party, body.method, body.version)
    return _panel_of(agreement.referral_id), 201


@bp.post("/agreement-items/<item_id>/progress", responses={"201": AgreementOut})
def progress(path: ItemPath, body: ProgressIn):
    """Record what happened to an item, or an instalment paid toward restitution."""
    actor = api_actor()
    item = service.load_item(actor, path.item_id)
    service.record_progress(actor, item, body.status, body.note, body.amount_cents)
    agreement = service.load_agreement(actor, item.agreement_id)
    return _panel_of(agreement.referral_id), 201


@bp.post("/agreements/<agreement_id>/not-completed", responses={"200": AgreementOut})
def not_completed(path: AgreementPath, body: CloseIn):
    """A coordinator closes the agreement as not completed; the referral closes with that reason."""
    actor = api_actor()
    agreement = service.load_agreement(actor, path.agreement_id)
    service.close_not_completed(actor, agreement, body.note)
    return _panel_of(agreement.referral_id)
