"""Conflicts of interest a facilitator declares by docket number (docs/design.md section 4)."""

from __future__ import annotations

import uuid

from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Actor, User
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import InvalidRequest, NotFound
from coordinator.referrals.schemas import DOCKET
from coordinator.roster.availability import require_self_or_manager
from coordinator.roster.models import (
    FacilitatorConflict,
)
from coordinator.roster.profiles import as_uuid, check_fields


def conflicts_of(actor: Actor, user: User) -> list[FacilitatorConflict]:
    """The conflicts a facilitator declared, newest first."""
    require_self_or_manager(actor, user)
    return list(db.session.execute(
        select(FacilitatorConflict).where(FacilitatorConflict.user_id == user.id)
        .order_by(FacilitatorConflict.declared_at.desc())
    ).scalars())


@atomic
def declare_conflict(actor: Actor, user: User, docket_number: str) -> FacilitatorConflict:
    """Declare a conflict with any case of this docket number, known now or referred later."""
    require_self_or_manager(actor, user)
    docket = (docket_number or "").strip().upper()  # as intake stores it, so the two always compare equal
    if not docket or len(docket) > 64 or not DOCKET.match(docket):
        raise InvalidRequest(check_fields(), {"docket_number": [_("Enter the case's docket number: letters, digits, "
                                                                  "spaces and . / : _ - only.")]})
    if db.session.execute(select(FacilitatorConflict.id).where(
            FacilitatorConflict.user_id == user.id, FacilitatorConflict.docket_number == docket)).first():
        raise InvalidRequest(check_fields(), {"docket_number": [_("This conflict is already declared.")]})
    conflict = FacilitatorConflict(user_id=user.id, docket_number=docket, declared_at=clock.now())
    db.session.add(conflict)
    db.session.flush()
    record(actor, "roster.conflict.declare", conflict, details={"user": str(user.id)})
    return conflict


def load_conflict(actor: Actor, user: User, conflict_id: uuid.UUID | str) -> FacilitatorConflict:
    """One of a facilitator's conflicts; 404 otherwise."""
    require_self_or_manager(actor, user)
    key = as_uuid(conflict_id)
    conflict = db.session.get(FacilitatorConflict, key) if key else None
    if conflict is None or conflict.user_id != user.id:
        raise NotFound(_("Not found."))
    return conflict


@atomic
def remove_conflict(actor: Actor, conflict: FacilitatorConflict) -> None:
    """Withdraw a declared conflict."""
    record(actor, "roster.conflict.remove", conflict, details={"user": str(conflict.user_id)})
    db.session.delete(conflict)
    db.session.flush()


