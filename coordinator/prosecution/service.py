"""What the prosecution may know (DESIGN.md rule 5, API.md "prosecution/cases"), and nothing more.

Consent status of each party's participation, a coarse stage, the circle's status and date, and an agreement
summary only when both parties agreed to share it. Every view is audited as a disclosure.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from coordinator.accounts.models import Role
from coordinator.audit.service import record
from coordinator.consent.models import Scope
from coordinator.consent.queries import consent_overview
from coordinator.db import db
from coordinator.errors import Forbidden, NotFound
from coordinator.referrals.models import PROSECUTION_STAGE, CriminalCase, Referral
from coordinator.scheduling.models import ScheduledSession, SessionKind, SessionStatus


def _require_prosecutor(actor) -> None:
    if not actor.has_role(Role.prosecutor):
        raise Forbidden(_("Only prosecutors have a case view."))


def my_cases(actor) -> list[tuple[CriminalCase, int]]:
    """The prosecutor's own cases with how many referrals each has."""
    _require_prosecutor(actor)
    rows = db.session.execute(
        select(CriminalCase, func.count(Referral.id))
        .join(Referral, Referral.case_id == CriminalCase.id)
        .where(CriminalCase.prosecutor_id == actor.id)
        .group_by(CriminalCase.id)
        .order_by(CriminalCase.docket_number)
    ).all()
    return [(case, count) for case, count in rows]


def circle_summary(sessions: list[ScheduledSession]) -> dict:
    """not_scheduled, scheduled (with its date), held (with its date) or cancelled."""
    circles = sorted((s for s in sessions if s.kind == SessionKind.circle), key=lambda s: s.starts_at)
    held = [s for s in circles if s.status == SessionStatus.held]
    booked = [s for s in circles if s.status in (SessionStatus.proposed, SessionStatus.confirmed)]
    if held:
        return {"status": "held", "date": held[-1].starts_at.date().isoformat()}
    if booked:
        return {"status": "scheduled", "date": booked[0].starts_at.date().isoformat()}
    if circles:
        return {"status": "cancelled", "date": None}
    return {"status": "not_scheduled", "date": None}


def referral_disclosure(referral: Referral, sessions: list[ScheduledSession]) -> dict:
    """Exactly the fields of API.md for one referral."""
    overview = consent_overview(referral)
    return {
        "reference": referral.reference,
        "stage": PROSECUTION_STAGE[referral.status],
        "consent": {role: overview[role][Scope.participation].status.value for role in overview},
        "circle": circle_summary(sessions),
        "agreement": None,  # shared only with both parties' consent, once agreements exist
    }


def case_disclosure(actor, docket_number: str) -> dict:
    """The prosecutor's view of one of their cases; 404 for a case that is not theirs."""
    _require_prosecutor(actor)
    docket = docket_number.strip().upper()
    referrals = list(db.session.execute(
        select(Referral).join(CriminalCase, Referral.case_id == CriminalCase.id)
        .where(CriminalCase.docket_number == docket, CriminalCase.prosecutor_id == actor.id)
        .order_by(Referral.reference)
    ).scalars())
    if not referrals:
        raise NotFound(_("Not found."))
    sessions = list(db.session.execute(
        select(ScheduledSession).where(ScheduledSession.referral_id.in_([r.id for r in referrals]))
    ).scalars())
    items = []
    for referral in referrals:
        items.append(referral_disclosure(referral, [s for s in sessions if s.referral_id == referral.id]))
        record(actor, "prosecution.disclose", referral, referral_id=referral.id)
    return {"docket_number": docket, "referrals": items}
