"""Assigning a facilitator over their caseload cap: who would be over it, and a coordinator's reasoned override."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.referrals.models import OPEN, Referral
from coordinator.roster.eligibility import caseloads, within_cap
from coordinator.roster.models import CaseloadOverride, FacilitatorProfile

MAX_REASON = 200


@dataclass(frozen=True)
class AtCap:
    """A facilitator who has no room for one more referral."""

    user: User
    caseload: int
    cap: int

    @property
    def message(self) -> str:
        """What a coordinator reads: who, how many, and what they can do."""
        return _("%(name)s already has %(count)d of %(cap)d active referrals, their cap.", name=self.user.name,
                 count=self.caseload, cap=self.cap)


def at_cap(users: Iterable[User]) -> list[AtCap]:
    """Those of `users` who would go over their caseload cap with one more referral."""
    users = list(users)
    if not users:
        return []
    ids = [user.id for user in users]
    caps = dict(db.session.execute(select(FacilitatorProfile.user_id, FacilitatorProfile.max_active_referrals)
                                   .where(FacilitatorProfile.user_id.in_(ids))).all())
    loads = caseloads(ids)
    default_cap = FacilitatorProfile.model_fields["max_active_referrals"].default
    full = []
    for user in users:
        load, cap = loads.get(user.id, 0), caps.get(user.id, default_cap)
        if not within_cap(load, cap):
            full.append(AtCap(user, load, cap))
    return full


def clean_reason(reason: str | None) -> str:
    """The override's reason, trimmed; 400 when too long."""
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise InvalidRequest(_("Check the highlighted fields."), {
            "override_reason": [_("Keep the reason to %(max)d characters.", max=MAX_REASON)]})
    return text


def record_overrides(actor: Actor, referral: Referral, full: list[AtCap], reason: str) -> list[CaseloadOverride]:
    """Keep and audit a coordinator's decision to assign each of `full` although they are at their cap."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators may assign over a caseload cap."))
    now = clock.now()
    decided_by = uuid.UUID(str(actor.audit_ref[1]))
    overrides = [CaseloadOverride(user_id=item.user.id, referral_id=referral.id, caseload=item.caseload,
                                  cap=item.cap, reason=reason, decided_by_id=decided_by, decided_at=now)
                 for item in full]
    db.session.add_all(overrides)
    db.session.flush()
    for override in overrides:
        # The reason stays out of the audit entry (codes and ids only); the override row keeps it.
        record(actor, "referral.caseload_override", override, referral_id=referral.id,
               details={"facilitator": str(override.user_id), "caseload": override.caseload, "cap": override.cap})
    return overrides


def override_reasons(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """For each facilitator, the reasons of overrides that still hold (still assigned, referral still open)."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(CaseloadOverride.user_id, CaseloadOverride.reason)
        .join(Referral, Referral.id == CaseloadOverride.referral_id)
        .where(CaseloadOverride.user_id.in_(ids), Referral.status.in_(OPEN),
               or_(Referral.lead_facilitator_id == CaseloadOverride.user_id,
                   Referral.co_facilitator_id == CaseloadOverride.user_id))
        .order_by(CaseloadOverride.decided_at.desc())
    ).all()
    reasons: dict[uuid.UUID, list[str]] = {}
    for user_id, reason in rows:
        reasons.setdefault(user_id, []).append(reason)
    return reasons
