"""Safety (DESIGN.md rule 4): what happens when a party says they feel unsafe. Risk assessment arrives later."""

from __future__ import annotations

from coordinator.accounts.service import users_by_id
from coordinator.audit.service import record
from coordinator.db import atomic
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.referrals.models import PauseReason, Referral
from coordinator.referrals.workflow import ACTIVE, transition
from coordinator.scheduling.models import SessionKind
from coordinator.scheduling.service import cancel_upcoming_sessions


@atomic
def report_unsafe(party) -> None:
    """A party's "I feel unsafe": pause the referral at once, cancel joint sessions, alert the staff now."""
    referral: Referral = party.referral
    entry = record(party, "safety.unsafe_reported", referral, referral_id=referral.id)
    if referral.status in ACTIVE:
        transition(party, referral, "paused", reason=PauseReason.safety_incident, automatic=True)
    cancel_upcoming_sessions(party, referral, "safety", kinds=(SessionKind.circle,))
    staff = {user.id: user for user in [*coordinators(), *users_by_id(referral.facilitator_ids).values()]}
    notify_staff(staff.values(), "unsafe_reported", key=f"unsafe_reported:{entry.seq}", referral=referral)
