"""Which criminal case a referral belongs to, and who prosecutes it (docs/design.md rule 10, docs/api.md "Referrals").

Coordinators create cases, assign their prosecutor and link referrals to them. A prosecutor never gains a case by
typing its identifiers: their referral for identifiers no case has creates a case assigned to them; for the
identifiers of a case that is not theirs, it gets a provisional case of its own (assigned to them, waiting for a
coordinator to link it) and the answer looks exactly the same, so nothing tells them that another case exists.
Linking moves the provisional case's referrals, hearings and stage history into the case and removes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import find_user_by_email
from coordinator.audit.service import record
from coordinator.cases.models import CaseStageChange, CourtReport, Hearing
from coordinator.db import atomic, db, get_row
from coordinator.errors import Conflict, Forbidden, InvalidRequest, NotFound
from coordinator.pagination import Page, paginate
from coordinator.referrals.models import CriminalCase, Referral
from coordinator.referrals.schemas import CaseIn


def require_coordinator(actor: Actor) -> None:
    """Cases are kept by coordinators only."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators manage criminal cases."))


def _identity(jurisdiction: str, court: str, docket_number: str):
    return (CriminalCase.jurisdiction == jurisdiction, CriminalCase.court == court,
            CriminalCase.docket_number == docket_number)


def linked_case(jurisdiction: str, court: str, docket_number: str) -> CriminalCase | None:
    """The case with this identity, not counting provisional ones."""
    return db.session.execute(select(CriminalCase).where(
        *_identity(jurisdiction, court, docket_number), CriminalCase.awaiting_link_to_id.is_(None))
    ).scalar_one_or_none()


def load_case(actor: Actor, case_id: uuid.UUID | str) -> CriminalCase:
    """A case, for coordinators; NotFound for an unknown id."""
    require_coordinator(actor)
    return get_row(CriminalCase, case_id)


def view_case(actor: Actor, case_id: uuid.UUID | str) -> CriminalCase:
    """A case, read by a coordinator; the read is audited."""
    case = load_case(actor, case_id)
    record(actor, "criminal_case.view", case)
    return case


def find_cases(actor: Actor, *, docket_number: str | None = None, court: str | None = None,
               jurisdiction: str | None = None, waiting: bool = False, page: int | None = None,
               per_page: int | None = None) -> Page:
    """Cases by docket number (and court, jurisdiction), exact matches; `waiting`: only provisional cases."""
    require_coordinator(actor)
    query = select(CriminalCase).order_by(CriminalCase.docket_number, CriminalCase.court, CriminalCase.created_at,
                                          CriminalCase.id)
    if docket_number:
        query = query.where(CriminalCase.docket_number == docket_number.strip().upper())
    if court:
        query = query.where(func.lower(CriminalCase.court) == court.strip().lower())
    if jurisdiction:
        query = query.where(func.lower(CriminalCase.jurisdiction) == jurisdiction.strip().lower())
    if waiting:
        query = query.where(CriminalCase.awaiting_link_to_id.is_not(None))
    found = paginate(query, page, per_page)
    record(actor, "criminal_case.search", details={"docket": bool(docket_number), "court": bool(court),
                                          "waiting": waiting, "shown": len(found.items)})
    return found


def referrals_of(case: CriminalCase) -> list[Referral]:
    """The case's referrals, oldest first."""
    return list(db.session.execute(
        select(Referral).where(Referral.case_id == case.id).order_by(Referral.received_at, Referral.id)).scalars())


def referral_counts(cases: Sequence[CriminalCase]) -> dict[uuid.UUID, int]:
    """How many referrals each case has, in one query."""
    if not cases:
        return {}
    return dict(db.session.execute(
        select(Referral.case_id, func.count()).where(Referral.case_id.in_([case.id for case in cases]))
        .group_by(Referral.case_id)).all())


def prosecutor_for(email: str | None, field: str = "prosecutor_email") -> User | None:
    """The active prosecutor with this address (None for no address); a field error otherwise."""
    if not email:
        return None
    prosecutor = find_user_by_email(email)
    if prosecutor is None or not prosecutor.active or prosecutor.role != Role.prosecutor:
        raise InvalidRequest.field(_("Check the highlighted fields."), field,
                                   _("No active prosecutor account has this email address."))
    return prosecutor


def _new_case(data: CaseIn, prosecutor: User | None, awaiting: CriminalCase | None = None) -> CriminalCase:
    case = CriminalCase(jurisdiction=data.jurisdiction, court=data.court, docket_number=data.docket_number,
                        charges=list(data.charges), stage=data.stage,
                        prosecutor_id=prosecutor.id if prosecutor else None,
                        awaiting_link_to_id=awaiting.id if awaiting else None, created_at=clock.now())
    db.session.add(case)
    db.session.flush()
    return case


@atomic
def create_case(actor: Actor, data: CaseIn) -> CriminalCase:
    """A new case (coordinators); 409 when a case already has this identity."""
    require_coordinator(actor)
    prosecutor = prosecutor_for(data.prosecutor_email)
    if linked_case(data.jurisdiction, data.court, data.docket_number) is not None:
        raise Conflict(_("A case with this jurisdiction, court and docket number exists already."),
                       {"code": "case_exists"})
    case = _new_case(data, prosecutor)
    record(actor, "criminal_case.create", case, details={"prosecutor": str(case.prosecutor_id) if prosecutor else None})
    return case


@atomic
def assign_prosecutor(actor: Actor, case: CriminalCase, email: str | None) -> CriminalCase:
    """Name the case's prosecutor, or none (coordinators only); a waiting referral of theirs joins the case."""
    require_coordinator(actor)
    if case.awaiting_link:
        raise Conflict(_("This case waits to be linked. Link it first, then assign the prosecutor."),
                       {"code": "case_awaiting_link"})
    prosecutor = prosecutor_for(email)
    previous = case.prosecutor_id
    case.prosecutor_id = prosecutor.id if prosecutor else None
    db.session.flush()
    record(actor, "criminal_case.assign_prosecutor", case,
           details={"from": str(previous) if previous else None, "to": str(case.prosecutor_id) if prosecutor else None})
    if prosecutor is not None:
        for provisional in db.session.execute(select(CriminalCase).where(
                CriminalCase.awaiting_link_to_id == case.id, CriminalCase.prosecutor_id == prosecutor.id)).scalars():
            _link(actor, provisional, case)
    return case


@atomic
def link_case(actor: Actor, provisional: CriminalCase) -> CriminalCase:
    """Link a waiting referral's provisional case into the case it named (coordinators); returns that case.

    Its prosecutor sees the referral afterwards only if they are the case's prosecutor.
    """
    require_coordinator(actor)
    if not provisional.awaiting_link:
        raise Conflict(_("This case does not wait to be linked."), {"code": "case_not_awaiting_link"})
    target = db.session.get(CriminalCase, provisional.awaiting_link_to_id)
    if target is None:  # the foreign key keeps it; a broken row is a defect, not a user's mistake
        raise NotFound(_("Not found."))
    return _link(actor, provisional, target)


def _link(actor: Actor, provisional: CriminalCase, target: CriminalCase) -> CriminalCase:
    moved = [referral.id for referral in referrals_of(provisional)]
    db.session.execute(update(Referral).where(Referral.case_id == provisional.id).values(case_id=target.id))
    known = {(hearing.kind, hearing.on_date): hearing for hearing in
             db.session.execute(select(Hearing).where(Hearing.case_id == target.id)).scalars()}
    for hearing in db.session.execute(select(Hearing).where(Hearing.case_id == provisional.id)).scalars():
        twin = known.get((hearing.kind, hearing.on_date))
        if twin is None:
            hearing.case_id = target.id
        else:  # the same hearing recorded on both: keep the case's, and any court report follows it
            db.session.execute(update(CourtReport).where(CourtReport.hearing_id == hearing.id)
                               .values(hearing_id=twin.id))
            db.session.flush()
            db.session.delete(hearing)
    db.session.execute(update(CaseStageChange).where(CaseStageChange.case_id == provisional.id)
                       .values(case_id=target.id))
    db.session.flush()
    record(actor, "criminal_case.link", target, details={"provisional": str(provisional.id), "referrals": len(moved)})
    for referral_id in moved:
        record(actor, "referral.case_linked", target, referral_id=referral_id,
               details={"case_id": str(target.id), "provisional": str(provisional.id)})
    db.session.delete(provisional)
    db.session.flush()
    db.session.expire_all()
    return target


def case_for_referral(actor: Actor, case_data: CaseIn | None, case_id: uuid.UUID | None) -> CriminalCase:
    """The case a new referral joins (called by `create_referral()` inside its transaction).

    Coordinators name a case by id, or by identity (the linked case, else a new one). A prosecutor's identity
    gives their own case, else a new case assigned to them, else, for another's case, their provisional case.
    """
    if case_id is not None:
        require_coordinator(actor)
        named = get_row(CriminalCase, case_id)
        if named.awaiting_link:
            raise Conflict(_("This case waits to be linked. Link it first, then refer to it."),
                           {"code": "case_awaiting_link"})
        return named
    if case_data is None:
        raise InvalidRequest.field(_("Check the highlighted fields."), "case", _("Name the case."))
    if actor.has_role(Role.prosecutor):
        return _prosecutors_case(actor, case_data)
    require_coordinator(actor)
    prosecutor = prosecutor_for(case_data.prosecutor_email, "case.prosecutor_email")
    case = linked_case(case_data.jurisdiction, case_data.court, case_data.docket_number)
    if case is None:
        case = _new_case(case_data, prosecutor)
        record(actor, "criminal_case.create", case,
               details={"prosecutor": str(case.prosecutor_id) if prosecutor else None})
    elif prosecutor is not None and case.prosecutor_id != prosecutor.id:
        if case.prosecutor_id is not None:
            raise Conflict(_("This case already has another prosecutor. Change it on the case's page."),
                           {"code": "case_has_prosecutor"})
        case.prosecutor_id = prosecutor.id
        record(actor, "criminal_case.assign_prosecutor", case, details={"from": None, "to": str(prosecutor.id)})
    return case


def _prosecutors_case(actor: Actor, data: CaseIn) -> CriminalCase:
    if data.prosecutor_email and data.prosecutor_email.lower() != getattr(actor, "email", None):
        raise InvalidRequest.field(_("Check the highlighted fields."), "case.prosecutor_email",
                                   _("You can only refer cases assigned to you."))
    prosecutor = db.session.get(User, actor.id)
    case = linked_case(data.jurisdiction, data.court, data.docket_number)
    if case is None:
        case = _new_case(data, prosecutor)
        record(actor, "criminal_case.create", case, details={"prosecutor": str(actor.id)})
        return case
    if case.prosecutor_id == actor.id:
        return case
    waiting = db.session.execute(select(CriminalCase).where(
        *_identity(data.jurisdiction, data.court, data.docket_number),
        CriminalCase.awaiting_link_to_id == case.id, CriminalCase.prosecutor_id == actor.id)
    ).scalars().first()
    if waiting is not None:
        return waiting
    provisional = _new_case(data, prosecutor, awaiting=case)
    record(actor, "criminal_case.awaiting_link", provisional, details={"case_id": str(case.id)})
    return provisional
