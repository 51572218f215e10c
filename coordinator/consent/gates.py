"""Consent gates (docs/design.md rules 1 and 3): pure checks over a referral's consent overview."""

from __future__ import annotations

from coordinator.consent.models import ConsentStatus, Scope
from coordinator.consent.queries import Overview
from coordinator.referrals.models import PartyRole

SURVIVOR, RESPONSIBLE = PartyRole.survivor.value, PartyRole.responsible_party.value


def contact_allowed(overview: Overview) -> bool:
    """The responsible party may be contacted only after the survivor granted `contact_other_party`."""
    return overview[SURVIVOR][Scope.contact_other_party].granted


def participates(overview: Overview, role: str) -> bool:
    """The party has a current grant of `participation`."""
    return overview[role][Scope.participation].granted


def outcome_shareable(overview: Overview) -> bool:
    """The prosecution may learn of an agreement only when both parties granted `share_outcome_with_court`."""
    return all(overview[role][Scope.share_outcome_with_court].granted for role in (SURVIVOR, RESPONSIBLE))


def withdrew_participation(overview: Overview, role: str) -> bool:
    """The party's latest participation decision is a withdrawal: their links serve nothing but a fresh consent."""
    return overview[role][Scope.participation].status == ConsentStatus.withdrawn
