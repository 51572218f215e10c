"""What stands in the way of a referral's next status (docs/design.md rules 1, 3 and 4): pure checks over its facts."""

from __future__ import annotations

from flask_babel import gettext as _

from coordinator import clock
from coordinator.consent import gates as consent
from coordinator.consent.queries import Overview
from coordinator.gates import Unmet
from coordinator.referrals.models import Referral, ReferralStatus
from coordinator.safety.readiness import last_incident_at, latest_assessment, referral_plan, unmet_for

SURVIVOR, RESPONSIBLE = consent.SURVIVOR, consent.RESPONSIBLE


def _survivor_participates(overview: Overview) -> list[Unmet]:
    if consent.participates(overview, SURVIVOR):
        return []
    return [Unmet("consent_survivor_participation", _("The survivor has not agreed to take part."))]


def _nobody_withdrew(overview: Overview) -> list[Unmet]:
    if not consent.withdrew_participation(overview, RESPONSIBLE):
        return []
    return [Unmet("consent_responsible_participation", _("The responsible party has not agreed to take part."))]


def transition_blockers(referral: Referral, target: str, overview: Overview) -> list[Unmet]:
    """The unmet conditions for moving to `target`; an empty list means the move may happen."""
    if referral.status == ReferralStatus.paused and target != ReferralStatus.closed:
        incident = last_incident_at(referral)
        assessment = latest_assessment(referral)
        if incident is not None and (assessment is None or assessment.assessed_at <= incident):
            return [Unmet("risk_assessment_missing",
                          _("A new risk assessment, made after the latest safety incident, is needed to resume."))]
    if target == ReferralStatus.preparation:
        return _survivor_participates(overview)  # nothing past screening without the survivor's consent
    if target == ReferralStatus.ready and referral.status == ReferralStatus.preparation:
        return unmet_for(referral_plan(referral, clock.now().date()))  # `ready` is the gate, met
    if target == ReferralStatus.screening and referral.status == ReferralStatus.closed:
        return _survivor_participates(overview) + _nobody_withdrew(overview)  # reopening needs a fresh grant
    return []
