"""What the prosecution may know (docs/design.md rule 5, docs/api.md "prosecution/cases"), and nothing more.

Consent status of each party's participation, a coarse stage, the circle's status and date, and an agreement
summary only when both parties agreed to share it. Every view is audited as a disclosure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import selectinload

from coordinator.accounts.models import Actor, Role
from coordinator.agreements.queries import shared_summaries
from coordinator.audit.service import record_disclosure
from coordinator.consent.models import Scope
from coordinator.consent.queries import consent_overviews
from coordinator.db import db
from coordinator.errors import Conflict, Forbidden, NotFound
from coordinator.pagination import Page, paginate
from coordinator.referrals.models import CriminalCase, Referral
from coordinator.referrals.workflow import prosecution_stage
from coordinator.sessions.models import ScheduledSession, SessionKind, SessionStatus

# Each case shows all its referrals, so a page holds fewer cases than other lists hold rows.
CASES_PER_PAGE = 20


def _require_prosecutor(actor: Actor) -> None:
    if not actor.has_role(Role.prosecutor):
        raise Forbidden(_("Only prosecutors have a case view."))


def my_cases(actor: Actor, page: int | None = None) -> Page:
    """One page of the prosecutor's own cases, each disclosed exactly as the API shows a case."""
    _require_prosecutor(actor)
    cases = paginate(
        select(CriminalCase).where(CriminalCase.prosecutor_id == actor.id,
                                   CriminalCase.id.in_(select(Referral.case_id)))
        .order_by(CriminalCase.docket_number, CriminalCase.id),
        page, CASES_PER_PAGE,
    )
    by_case = defaultdict(list)
    for referral, item in _disclose(actor, _referrals_of(actor, CriminalCase.id.in_([c.id for c in cases.items]))):
        by_case[referral.case_id].append(item)
    items = [_case_item(case, by_case[case.id]) for case in cases.items]
    return Page(items=items, page=cases.page, per_page=cases.per_page, total=cases.total)


def _case_item(case: CriminalCase, referrals: list[dict]) -> dict:
    return {"docket_number": case.docket_number, "court": case.court, "jurisdiction": case.jurisdiction,
            "referrals": referrals}


def participation_only(overview: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """What a prosecutor may know of a referral's consent: each party's `participation` status, nothing else
    (docs/api.md "prosecution/cases"): no other scope, no dates. Every prosecutor surface reads it from here."""
    return {role: overview[role][Scope.participation].status.value for role in overview}


def _referrals_of(actor: Actor, which: ColumnElement[bool]) -> list[Referral]:
    """The actor's referrals among the cases `which` selects."""
    return list(db.session.execute(
        select(Referral).join(CriminalCase, Referral.case_id == CriminalCase.id)
        .where(which, CriminalCase.prosecutor_id == actor.id)
        .options(selectinload(Referral.parties), selectinload(Referral.case))
        .order_by(Referral.reference)
    ).scalars())


def _disclose(actor: Actor, referrals: list[Referral]) -> list[tuple[Referral, dict]]:
    """Each referral's disclosure, in a fixed number of queries, each one audited."""
    circles = defaultdict(list)
    if referrals:
        for circle in db.session.execute(
            select(ScheduledSession).where(ScheduledSession.referral_id.in_([r.id for r in referrals]),
                                           ScheduledSession.kind == SessionKind.circle)
        ).scalars():
            circles[circle.referral_id].append(circle)
    overviews = consent_overviews(referrals)
    summaries = shared_summaries(referrals, overviews)
    disclosed = []
    for referral in referrals:
        overview = overviews[referral.id]
        summary = summaries.get(referral.id)
        disclosed.append((referral, {
            "reference": referral.reference,
            "stage": prosecution_stage(referral),
            "consent": participation_only(overview),
            "circle": circle_summary(circles[referral.id]),
            "agreement": asdict(summary) if summary else None,  # only with both parties' consent to share it
        }))
    if referrals:
        # One entry naming every referral shown (docs/design.md rule 7), not one per row.
        record_disclosure(actor, "prosecution.disclose", [(referral, referral.id) for referral in referrals])
    return disclosed



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


def case_disclosure(actor: Actor, docket_number: str, court: str | None = None,
                    jurisdiction: str | None = None) -> dict:
    """The prosecutor's view of one of their cases; 404 for a case that is not theirs.

    Docket numbers repeat across courts: when two of the prosecutor's cases share one, `court` (and, if courts
    repeat too, `jurisdiction`) picks the case; without it the answer is 409 `conflict`, naming their own courts.
    """
    _require_prosecutor(actor)
    docket = docket_number.strip().upper()
    which = [CriminalCase.docket_number == docket]
    if court:
        which.append(func.lower(CriminalCase.court) == court.strip().lower())
    if jurisdiction:
        which.append(func.lower(CriminalCase.jurisdiction) == jurisdiction.strip().lower())
    referrals = _referrals_of(actor, and_(*which))
    if not referrals:
        raise NotFound(_("Not found."))
    identities = sorted({(referral.case.court, referral.case.jurisdiction) for referral in referrals})
    if len(identities) > 1:
        raise Conflict(_("Several of your cases have this docket number. Choose the court."),
                       {"code": "docket_ambiguous",
                        "cases": [{"court": each, "jurisdiction": place} for each, place in identities]})
    case = referrals[0].case
    return _case_item(case, [item for _referral, item in _disclose(actor, referrals)])


def report_ids(actor: Actor, cases: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """{reference: referral id} for the referrals whose summary is shared, in one query: the pages link their
    court reports (the disclosure itself carries no ids, exactly as the API)."""
    shared = [item["reference"] for case in cases for item in case["referrals"] if item["agreement"] is not None]
    if not shared:
        return {}
    return {reference: str(referral_id) for reference, referral_id in db.session.execute(
        select(Referral.reference, Referral.id).join(CriminalCase, Referral.case_id == CriminalCase.id)
        .where(Referral.reference.in_(shared), CriminalCase.prosecutor_id == actor.id))}
