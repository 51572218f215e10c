"""Who could take a referral: eligible facilitators ranked by language, caseload and free time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _

from coordinator import clock
from coordinator.accounts.models import Actor, Role
from coordinator.accounts.service import users_by_id
from coordinator.errors import Forbidden
from coordinator.referrals.models import Referral
from coordinator.roster.eligibility import eligible_for
from coordinator.sessions.search import facilitator_free_time

RANKING_HORIZON = timedelta(days=30)

@dataclass(frozen=True)
class Suggestion:
    """An eligible facilitator for a referral, with the reasons for their place in the ranking."""

    user_id: uuid.UUID
    name: str
    speaks_language: bool
    caseload: int
    cap: int
    free: timedelta

    @property
    def caseload_label(self) -> str:
        """Caseload as "n/cap"."""
        return f"{self.caseload}/{self.cap}"

    @property
    def free_hours(self) -> float:
        """Free hours in the ranking horizon, to one decimal."""
        return round(self.free.total_seconds() / 3600, 1)


def rank_facilitators(referral: Referral, now: datetime | None = None) -> list[Suggestion]:
    """Eligible facilitators, best first: speaks the survivor's language, lower caseload ratio, more free time
    over the next 30 days. Those without any free time in that period are left out."""
    now = now or clock.now()
    candidates = eligible_for(referral, now.date())
    if not candidates:
        return []
    free = facilitator_free_time(candidates, now, now + RANKING_HORIZON)
    names = users_by_id(c.user_id for c in candidates)
    survivor = referral.survivor
    language = survivor.preferred_language if survivor else ""
    suggestions = [Suggestion(c.user_id, names[str(c.user_id)].name or "", bool(language) and c.speaks(language),
                              c.caseload, c.cap, free[c.user_id].total())
                   for c in candidates if free[c.user_id].total() > timedelta(0)]
    return sorted(suggestions, key=lambda s: (not s.speaks_language, s.caseload / max(s.cap, 1), -s.free,
                                              s.name.lower(), str(s.user_id)))


def require_coordinator(actor: Actor) -> None:
    """Only coordinators assign facilitators, so only they see the ranking."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators assign facilitators."))


def suggestions_for(actor: Actor, referral: Referral) -> list[Suggestion]:
    """The ranking, for the coordinators who assign facilitators."""
    require_coordinator(actor)
    return rank_facilitators(referral)
