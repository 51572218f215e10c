"""Pure checks on a referral: may it move on? Each returns every unmet condition as {code, message}."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from coordinator.consent import gates as consent
from coordinator.consent.queries import Overview
from coordinator.referrals.models import Referral, ReferralStatus

SURVIVOR, RESPONSIBLE = consent.SURVIVOR, consent.RESPONSIBLE


@dataclass(frozen=True)
class Unmet:
    """One condition that is not met, with its fixed code and a message in the reader's language."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The API shape of DESIGN.md section 3."""
        return {"code": self.code, "message": self.message}


def _consents(overview: Overview, *, contact: bool, responsible: bool) -> list[Unmet]:
    unmet = []
    if not consent.participates(overview, SURVIVOR):
        unmet.append(Unmet("consent_survivor_participation", _("The survivor has not agreed to take part.")))
    if contact and not consent.contact_allowed(overview):
        unmet.append(Unmet("consent_survivor_contact_other_party",
                           _("The survivor has not agreed to contact with the other person.")))
    if responsible and not consent.participates(overview, RESPONSIBLE):
        unmet.append(Unmet("consent_responsible_participation",
                           _("The responsible party has not agreed to take part.")))
    return unmet


def transition_blockers(referral: Referral, target: str, overview: Overview) -> list[Unmet]:
    """What stands in the way of moving to `target` (DESIGN.md rules 1 and 3); the safety issue extends `ready`."""
    if target == ReferralStatus.preparation:
        return _consents(overview, contact=False, responsible=False)  # nothing past screening without consent
    if target == ReferralStatus.ready:
        unmet = _consents(overview, contact=True, responsible=True)
        if referral.lead_facilitator_id is None or referral.co_facilitator_id is None:
            unmet.append(Unmet("facilitators_missing",
                               _("A lead facilitator and a co-facilitator must be assigned.")))
        return unmet
    if target == ReferralStatus.screening and referral.status == ReferralStatus.closed:
        unmet = _consents(overview, contact=False, responsible=False)
        if consent.withdrew_participation(overview, RESPONSIBLE):
            unmet.append(Unmet("consent_responsible_participation",
                               _("The responsible party has not agreed to take part.")))
        return unmet
    return []
