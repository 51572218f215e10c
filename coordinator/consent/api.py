"""JSON routes for consent (docs/api.md "Consent and links")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from coordinator.accounts.models import Role
from coordinator.api import api_actor, api_blueprint
from coordinator.audit.service import record
from coordinator.consent.models import ConsentStatus, Decision, Scope
from coordinator.consent.queries import consent_overview
from coordinator.consent.service import record_decision
from coordinator.prosecution.service import participation_only
from coordinator.referrals.models import PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral

bp = api_blueprint("consent_api", __name__, "consent")


class ConsentIn(Strict):
    """`POST /api/v1/referrals/{id}/consent`: a decision a party made in person or through an advocate."""

    party: PartyRole
    scope: Scope
    decision: Decision
    method: Literal["in_person", "via_advocate"]
    information_version: str = Field(max_length=16, description="the sheet version the party was shown, e.g. v1")
    information_language: Literal["en", "es", "fr"] | None = Field(
        default=None, description="the sheet's language; the party's language when omitted")


class ScopeStatus(BaseModel):
    """One scope's derived status."""

    status: ConsentStatus
    since: datetime | None
    expires_at: datetime | None


class PartyConsent(BaseModel):
    """A party's status for every scope."""

    participation: ScopeStatus
    contact_other_party: ScopeStatus
    share_outcome_with_court: ScopeStatus


class ConsentOut(BaseModel):
    """Both parties' consent."""

    survivor: PartyConsent
    responsible_party: PartyConsent


class ParticipationStatus(BaseModel):
    """A participation status without dates."""

    status: ConsentStatus


class ProsecutionPartyConsent(BaseModel):
    """What a prosecutor sees of a party's consent: the participation status only."""

    participation: ParticipationStatus


class ProsecutionConsentOut(BaseModel):
    """Both parties' participation status, as a prosecutor sees it (docs/api.md "prosecution/cases")."""

    survivor: ProsecutionPartyConsent
    responsible_party: ProsecutionPartyConsent


class ConsentView(RootModel[ConsentOut | ProsecutionConsentOut]):
    """The consent as the caller may see it: prosecutors get each party's participation status only."""


class DecisionOut(BaseModel):
    """A recorded decision."""

    id: uuid.UUID
    party: PartyRole
    scope: Scope
    decision: Decision
    method: str
    information_version: str
    information_language: str
    decided_at: datetime
    expires_at: datetime | None


@bp.get("/referrals/<referral_id>/consent", responses={"200": ConsentView})
def get_consent(path: ReferralPath):
    """Each party's status, since when, and until when a grant lasts; a prosecutor gets participation only."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    prosecution = actor.has_role(Role.prosecutor)
    record(actor, "consent.view", referral, referral_id=referral.id,
           details={"view": "prosecution" if prosecution else "full"})
    overview = consent_overview(referral)
    if prosecution:
        return ProsecutionConsentOut.model_validate({
            role: {"participation": {"status": status}} for role, status in participation_only(overview).items()
        }).model_dump(mode="json")
    return ConsentOut.model_validate({
        role: {scope: {"status": state.status, "since": state.since, "expires_at": state.expires_at}
               for scope, state in scopes.items()}
        for role, scopes in overview.items()
    }).model_dump(mode="json")


@bp.post("/referrals/<referral_id>/consent", responses={"201": DecisionOut})
def post_consent(path: ReferralPath, body: ConsentIn):
    """Record a decision (coordinators and assigned facilitators); 409 gate_failed before the survivor agrees."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    decision = record_decision(actor, referral, party=body.party, scope=body.scope, decision=body.decision,
                               method=body.method, information_version=body.information_version,
                               information_language=body.information_language)
    return DecisionOut(id=decision.id, party=body.party, scope=decision.scope, decision=decision.decision,
                       method=decision.method, information_version=decision.sheet_version,
                       information_language=decision.sheet_language, decided_at=decision.decided_at,
                       expires_at=decision.expires_at).model_dump(mode="json"), 201
