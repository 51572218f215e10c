"""Read a referral's consent: its decisions, who was invited, and every party's status per scope."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from coordinator import clock
from coordinator.consent.models import ConsentDecision, Scope
from coordinator.consent.status import ConsentState, derive_status
from coordinator.db import db
from coordinator.portal.models import SecureLink
from coordinator.referrals.models import PartyRole, Referral

Overview = dict[str, dict[str, ConsentState]]


def referral_decisions(referral: Referral) -> list[ConsentDecision]:
    """Every decision of the referral, newest first."""
    return list(db.session.execute(
        select(ConsentDecision).where(ConsentDecision.referral_id == referral.id)
        .order_by(ConsentDecision.decided_at.desc())
    ).scalars())


def invited_party_ids(referral: Referral) -> set:
    """Parties who were given a secure link, and so were asked."""
    return set(db.session.execute(
        select(SecureLink.party_id).where(SecureLink.referral_id == referral.id).distinct()
    ).scalars())


def consent_overview(referral: Referral, decisions: list[ConsentDecision] | None = None,
                     invited: set | None = None) -> Overview:
    """{party role: {scope: ConsentState}} for both parties and every scope, as of now."""
    decisions = referral_decisions(referral) if decisions is None else decisions
    invited = invited_party_ids(referral) if invited is None else invited
    grouped: dict[tuple, list[ConsentDecision]] = defaultdict(list)
    for decision in decisions:
        grouped[(decision.party_id, decision.scope)].append(decision)
    now = clock.now()
    overview: Overview = {}
    for role in PartyRole:
        party = referral.require_party(role)
        overview[role.value] = {
            scope.value: derive_status(grouped[(party.id, scope.value)], now, party.id in invited)
            for scope in Scope
        }
    return overview


def consent_overviews(referrals: list[Referral]) -> dict:
    """The consent overview of many referrals in two queries, keyed by referral id (for lists)."""
    ids = [referral.id for referral in referrals]
    decisions: dict = defaultdict(list)
    invited: set = set()
    if ids:
        # Only the columns a status is derived from: lists read thousands of decisions.
        for decision in db.session.execute(
            select(ConsentDecision.referral_id, ConsentDecision.party_id, ConsentDecision.scope,
                   ConsentDecision.decision, ConsentDecision.decided_at, ConsentDecision.expires_at)
            .where(ConsentDecision.referral_id.in_(ids)).order_by(ConsentDecision.decided_at.desc())
        ):
            decisions[decision.referral_id].append(decision)
        invited = set(db.session.execute(
            select(SecureLink.party_id).where(SecureLink.referral_id.in_(ids)).distinct()).scalars())
    return {referral.id: consent_overview(referral, decisions[referral.id], invited) for referral in referrals}
