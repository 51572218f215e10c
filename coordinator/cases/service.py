"""The criminal case beside the restorative process: its hearings and its stage.

Hearings are scheduling context: a circle in the week before a trial is possible but rarely wise, so booking warns
(never blocks). The case's data belongs to the prosecution; nothing said in the restorative process reaches it
(docs/design.md rule 5), and nothing here reads that process.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Actor, Role
from coordinator.audit.service import record
from coordinator.cases.models import CaseStageChange, CourtReport, Hearing, HearingKind
from coordinator.db import atomic, db, get_row
from coordinator.errors import Conflict, Forbidden, InvalidRequest, NotFound
from coordinator.gates import Unmet
from coordinator.referrals.models import CaseStage, CriminalCase, Referral
from coordinator.referrals.service import load_referral, visible_to
from coordinator.sessions.models import SessionKind

READERS = (Role.coordinator, Role.facilitator, Role.prosecutor)
# A hearing years away (or years ago) is a typing mistake, not a court date.
FARTHEST_HEARING = timedelta(days=5 * 366)
# A circle in the week before a trial may weigh on the parties and the proceedings.
TRIAL_WARNING_DAYS = 7


def require_case_reader(actor: Actor) -> None:
    """Coordinators, the referral's facilitators and the case's prosecutor (the scope decides which referrals)."""
    if not actor.has_role(*READERS):
        raise Forbidden(_("Your role cannot see the criminal case's hearings."))


def require_case_writer(actor: Actor, referral: Referral) -> None:
    """Coordinators, and the prosecutor assigned to the referral's case, record hearings and stages."""
    if actor.has_role(Role.coordinator):
        return
    if actor.has_role(Role.prosecutor) and referral.case.prosecutor_id == actor.id:
        return
    raise Forbidden(_("Only coordinators and the case's prosecutor record hearings and the case's stage."))


def hearings_of(case: CriminalCase) -> list[Hearing]:
    """The case's hearings, soonest first."""
    return list(db.session.execute(
        select(Hearing).where(Hearing.case_id == case.id).order_by(Hearing.on_date, Hearing.id)
    ).scalars())


def stage_history(case: CriminalCase) -> list[CaseStageChange]:
    """Every recorded change of the case's stage, newest first."""
    return list(db.session.execute(
        select(CaseStageChange).where(CaseStageChange.case_id == case.id)
        .order_by(CaseStageChange.changed_at.desc(), CaseStageChange.id)
    ).scalars())


def _visible_referral(actor: Actor, case_id: uuid.UUID) -> Referral:
    """A referral of the case in the actor's scope (loaded through load_referral); NotFound when there is none."""
    referral_id = db.session.execute(
        select(Referral.id).where(Referral.case_id == case_id, visible_to(actor))
        .order_by(Referral.received_at, Referral.id).limit(1)
    ).scalar_one_or_none()
    if referral_id is None:
        raise NotFound(_("Not found."))
    return load_referral(actor, referral_id)


def load_hearing(actor: Actor, hearing_id: uuid.UUID | str) -> Hearing:
    """A hearing of a case with a referral in the actor's scope; NotFound otherwise (docs/design.md rule 6)."""
    hearing = get_row(Hearing, hearing_id)
    _visible_referral(actor, hearing.case_id)
    return hearing


def _check_hearing(kind: str | None, on_date: date | None) -> None:
    fields: dict[str, list[str]] = {}
    if kind not in HearingKind.__members__:
        fields["kind"] = [_("Choose the kind of hearing.")]
    if not isinstance(on_date, date) or isinstance(on_date, datetime):
        fields["date"] = [_("Enter the hearing's date.")]
    elif abs(on_date - clock.today()) > FARTHEST_HEARING:
        fields["date"] = [_("Enter a date within five years of today.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)


@atomic
def add_hearing(actor: Actor, referral: Referral, kind: str, on_date: date) -> Hearing:
    """Record a hearing of the referral's case; the same kind on the same day twice is a conflict."""
    require_case_writer(actor, referral)
    _check_hearing(kind, on_date)
    duplicate = db.session.execute(
        select(Hearing.id).where(Hearing.case_id == referral.case_id, Hearing.kind == kind,
                                 Hearing.on_date == on_date)
    ).first()
    if duplicate is not None:
        raise Conflict(_("This hearing is already recorded."), {"code": "hearing_exists"})
    hearing = Hearing(case_id=referral.case_id, kind=kind, on_date=on_date, recorded_by_id=actor.id,
                      recorded_at=clock.now())
    db.session.add(hearing)
    db.session.flush()
    record(actor, "case.hearing_add", hearing, referral_id=referral.id,
           details={"case_id": str(referral.case_id), "kind": kind, "date": on_date.isoformat()})
    return hearing


@atomic
def remove_hearing(actor: Actor, hearing: Hearing, referral: Referral | None = None) -> None:
    """Remove a hearing recorded by mistake or taken off the court's calendar.

    `referral` is the one the actor is looking at; without it, one of the case's referrals in their scope.
    A hearing a court report was prepared for stays (the report names it).
    """
    referral = referral if referral is not None else _visible_referral(actor, hearing.case_id)
    if referral.case_id != hearing.case_id:
        raise NotFound(_("Not found."))
    require_case_writer(actor, referral)
    if db.session.execute(select(CourtReport.id).where(CourtReport.hearing_id == hearing.id)).first():
        raise Conflict(_("A court report was prepared for this hearing, so it stays on record."),
                       {"code": "hearing_reported"})
    record(actor, "case.hearing_remove", hearing, referral_id=referral.id,
           details={"case_id": str(hearing.case_id), "kind": hearing.kind, "date": hearing.on_date.isoformat()})
    db.session.delete(hearing)
    db.session.flush()


@atomic
def change_stage(actor: Actor, referral: Referral, stage: str) -> CaseStageChange | None:
    """Move the referral's case to `stage` and keep the change; the stage it already has changes nothing (None)."""
    require_case_writer(actor, referral)
    if stage not in CaseStage.__members__:
        raise InvalidRequest.field(_("Check the highlighted fields."), "stage", _("Choose the case's stage."))
    case = referral.case
    if case.stage == stage:
        return None
    change = CaseStageChange(case_id=case.id, from_stage=case.stage, to_stage=stage, changed_by_id=actor.id,
                             changed_at=clock.now())
    case.stage = stage
    db.session.add(change)
    db.session.flush()
    record(actor, "case.stage_change", change, referral_id=referral.id,
           details={"case_id": str(case.id), "from": change.from_stage, "to": stage})
    return change


def programme_date(moment: datetime) -> date:
    """The programme's calendar day of an aware time: hearing dates are the programme's days."""
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def trial_warning(referral: Referral, start: datetime, hearings: list[Hearing] | None = None) -> list[Unmet]:
    """A `near_trial` warning when `start` falls in the 7 days before a trial hearing of the case (else empty).

    The window is the hearing's date minus 7 days up to the hearing's date, both included, in programme days.
    `hearings` (the case's, read once) saves a query per slot when many times are checked.
    """
    day = programme_date(start)
    window = timedelta(days=TRIAL_WARNING_DAYS)
    hearings = hearings_of(referral.case) if hearings is None else hearings
    trials = [hearing for hearing in hearings
              if hearing.kind == HearingKind.trial and hearing.on_date - window <= day <= hearing.on_date]
    if not trials:
        return []
    return [Unmet("near_trial", _("This circle falls within the 7 days before the trial hearing on %(date)s.",
                                  date=format_date(trials[0].on_date, "long")))]


def booking_warnings(referral: Referral, kind: str, start: datetime, hearings: list[Hearing] | None = None
                     ) -> list[Unmet]:
    """What booking a session of `kind` at `start` should warn about; only circles are warned about."""
    return trial_warning(referral, start, hearings) if kind == SessionKind.circle else []
