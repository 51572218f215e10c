"""Who may facilitate a referral's circle (docs/design.md section 4), read in a few statements for the whole roster.

A facilitator is eligible when active, holding valid trafficking-specialist training, below their caseload cap
and without a declared conflict with the case. A pair also needs one of them to speak the survivor's language,
unless an interpreter is booked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, Subquery, func, literal, or_, select, true, union_all

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
    loads = _loads()
    query = (select(loads.c.user_id, loads.c.load).join(User, User.id == loads.c.user_id)
             .where(User.role == Role.facilitator))
    if user_ids is not None:
        query = query.where(loads.c.user_id.in_(list(user_ids)))
    return {user_id: int(load) for user_id, load in db.session.execute(query)}


def _loads() -> Subquery:
    """Each facilitator's caseload as `caseloads()` counts it (user_id, load), for facilitators with one."""
    # Counted by column and added, rather than joined on "lead or co", which no index or hash join serves; the
    # second count leaves out a referral the first counted.
    led = (select(Referral.lead_facilitator_id.label("user_id"), func.count().label("load"))
           .where(Referral.status.in_(OPEN), Referral.lead_facilitator_id.is_not(None))
           .group_by(Referral.lead_facilitator_id))
    co = (select(Referral.co_facilitator_id.label("user_id"), func.count().label("load"))
          .where(Referral.status.in_(OPEN), Referral.co_facilitator_id.is_not(None),
                 or_(Referral.lead_facilitator_id.is_(None),
                     Referral.lead_facilitator_id != Referral.co_facilitator_id))
          .group_by(Referral.co_facilitator_id))
    both = union_all(led, co).subquery()
    return select(both.c.user_id, func.sum(both.c.load).label("load")).group_by(both.c.user_id).subquery()


def within_cap(caseload: int, cap: int) -> bool:
    """True when a facilitator with `caseload` open referrals may take one more: the one caseload rule."""
    return caseload < cap


def _conflicted(case_id: uuid.UUID | None) -> ColumnElement[bool]:
    """Whether the facilitator declared a conflict with the case's docket."""
    if not case_id:
        return literal(False)
    return (select(FacilitatorConflict.id)
            .join(CriminalCase, CriminalCase.docket_number == FacilitatorConflict.docket_number)
            .where(CriminalCase.id == case_id, FacilitatorConflict.user_id == FacilitatorProfile.user_id).exists())


def roster_query(case_id: uuid.UUID | None) -> Select:
    """Every active facilitator with a profile, as the columns of a `Candidate`, in one statement."""
    loads = _loads()
    return (select(FacilitatorProfile.user_id, FacilitatorProfile.languages, FacilitatorProfile.timezone,
                   func.coalesce(loads.c.load, 0).label("load"), FacilitatorProfile.max_active_referrals,
                   Training.valid_until, _conflicted(case_id).label("conflicted"))
            .join(User, User.id == FacilitatorProfile.user_id)
            .outerjoin(loads, loads.c.user_id == FacilitatorProfile.user_id)
            .outerjoin(Training, (Training.user_id == FacilitatorProfile.user_id)
                       & (Training.kind == TrainingKind.trafficking_specialist))
            .where(User.active.is_(True), User.role == Role.facilitator))


def candidate(row: Sequence) -> Candidate:
    """A candidate from the first columns of a `roster_query` row."""
    user_id, languages, timezone, load, cap, trained_until, conflicted = row[:7]
    return Candidate(user_id, tuple(languages), timezone, int(load), cap, trained_until, bool(conflicted))


def _candidates(query: Select) -> list[Candidate]:
    # Columns, not entities: slot search reads the roster on every search, and loading a thousand
    # profiles into the session costs more than the search itself.
    return [candidate(row) for row in db.session.execute(query)]


def roster(case_id: uuid.UUID | None = None, user_ids: Iterable[uuid.UUID] | None = None) -> list[Candidate]:
    """Every active facilitator with a profile (or those of `user_ids`), with caseload, training and (for a case)
    conflict."""
    query = roster_query(case_id)
    if user_ids is not None:
        query = query.where(FacilitatorProfile.user_id.in_(list(user_ids)))
    return _candidates(query)


def eligible_query(referral: Referral, on: date) -> Select:
    """The roster statement narrowed in SQL to those `eligible()` keeps, so a search reads no one it would drop."""
    query = roster_query(referral.case_id)
    load, cap = query.selected_columns.load, FacilitatorProfile.max_active_referrals
    return query.where(Training.valid_until >= on, ~_conflicted(referral.case_id) if referral.case_id else true(),
                       or_(load < cap, FacilitatorProfile.user_id.in_(list(referral.facilitator_ids))))


def eligible(candidates: list[Candidate], on: date,
             assigned_to: AbstractSet[uuid.UUID] = frozenset()) -> list[Candidate]:
    """Those who may take a circle on `on`; someone already assigned to the referral keeps their place."""
    return [c for c in candidates
            if c.trained_until is not None and c.trained_until >= on and not c.conflicted
            and (within_cap(c.caseload, c.cap) or c.user_id in assigned_to)]


def eligible_for(referral: Referral, on: date) -> list[Candidate]:
    """The eligible facilitators for a referral's circle on a date."""
    # SQL narrows the rows read; `eligible()` still decides, so its rules stay the one statement of eligibility.
    return eligible(_candidates(eligible_query(referral, on)), on, referral.facilitator_ids)
