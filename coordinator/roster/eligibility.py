"""Who may facilitate a referral's circle (docs/design.md section 4), read in a few statements for the whole roster.

A facilitator is eligible when active, holding valid trafficking-specialist training, below their caseload cap
and without a declared conflict with the case. A pair also needs one of them to speak the survivor's language,
unless an interpreter is booked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from coordinator.accounts.models import Role, User
from coordinator.db import db
from coordinator.referrals.models import OPEN, CriminalCase, Referral
from coordinator.roster.models import FacilitatorConflict, FacilitatorProfile, Training, TrainingKind


@dataclass(frozen=True)
class Candidate:
    """A facilitator the roster could offer, with what ranking looks at."""

    user_id: uuid.UUID
    languages: tuple[str, ...]
    timezone: str
    caseload: int
    cap: int
    trained_until: date | None
    conflicted: bool

    def speaks(self, language: str) -> bool:
        """True when the facilitator works in `language`."""
        return language in self.languages


def caseloads(user_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, int]:
    """How many open referrals (not completed or closed) each facilitator leads or co-facilitates."""
    query = (select(User.id, func.count(Referral.id))
             .join(Referral, or_(Referral.lead_facilitator_id == User.id, Referral.co_facilitator_id == User.id))
             .where(User.role == Role.facilitator, Referral.status.in_(OPEN))
             .group_by(User.id))
    if user_ids is not None:
        query = query.where(User.id.in_(list(user_ids)))
    return dict(db.session.execute(query).all())


def within_cap(caseload: int, cap: int) -> bool:
    """True when a facilitator with `caseload` open referrals may take one more: the one caseload rule."""
    return caseload < cap


def roster(case_id: uuid.UUID | None = None) -> list[Candidate]:
    """Every active facilitator with a profile, with caseload, training and (for a case) conflict."""
    loads = caseloads()
    trained = dict(db.session.execute(
        select(Training.user_id, Training.valid_until).where(Training.kind == TrainingKind.trafficking_specialist)
    ).all())
    conflicted = set(db.session.execute(
        select(FacilitatorConflict.user_id)
        .join(CriminalCase, CriminalCase.docket_number == FacilitatorConflict.docket_number)
        .where(CriminalCase.id == case_id)
    ).scalars()) if case_id else set()
    # Columns, not entities: slot search reads the whole roster on every search, and loading a thousand
    # profiles into the session costs more than the search itself.
    rows = db.session.execute(
        select(FacilitatorProfile.user_id, FacilitatorProfile.languages, FacilitatorProfile.timezone,
               FacilitatorProfile.max_active_referrals).join(User, User.id == FacilitatorProfile.user_id)
        .where(User.active.is_(True), User.role == Role.facilitator)
    ).all()
    return [Candidate(user_id, tuple(languages), timezone, loads.get(user_id, 0), cap, trained.get(user_id),
                      user_id in conflicted) for user_id, languages, timezone, cap in rows]


def eligible(candidates: list[Candidate], on: date,
             assigned_to: AbstractSet[uuid.UUID] = frozenset()) -> list[Candidate]:
    """Those who may take a circle on `on`; someone already assigned to the referral keeps their place."""
    return [c for c in candidates
            if c.trained_until is not None and c.trained_until >= on and not c.conflicted
            and (within_cap(c.caseload, c.cap) or c.user_id in assigned_to)]


def eligible_for(referral: Referral, on: date) -> list[Candidate]:
    """The eligible facilitators for a referral's circle on a date."""
    return eligible(roster(referral.case_id), on, referral.facilitator_ids)
