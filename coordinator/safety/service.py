"""Safety (docs/design.md rule 4): assess risk, plan and approve mitigation, record protective orders and incidents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Actor, Role, User
from coordinator.accounts.service import sha256_hex, users_by_id
from coordinator.audit.service import record
from coordinator.db import atomic, db, get_row
from coordinator.errors import Conflict, Forbidden, InvalidRequest
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.referrals.models import ACTIVE, Party, PauseReason, Referral, ReferralStatus
from coordinator.referrals.service import load_referral
from coordinator.referrals.workflow import transition
from coordinator.safety.instrument import Instrument, current_instrument, instruments, score, unanswered
from coordinator.safety.models import (
    IncidentKind,
    Measure,
    MitigationPlan,
    ProtectiveOrder,
    RiskAssessment,
    SafetyIncident,
)
from coordinator.safety.readiness import CirclePlan, unmet_for
from coordinator.sessions.cancellation import cancel_upcoming
from coordinator.sessions.models import UPCOMING, ScheduledSession, SessionKind
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import close_tasks, raise_task

SAFETY_STAFF = (Role.coordinator, Role.facilitator)


def require_safety_staff(actor: Actor) -> None:
    """Coordinators and facilitators; everyone else is refused."""
    if not actor.has_role(*SAFETY_STAFF):
        raise Forbidden(_("Your role cannot record safety information."))


@atomic
def record_assessment(actor: User, referral: Referral, answers: dict[str, str],
                      summary: str | None) -> RiskAssessment:
    """Assess with the current instrument; every item must be answered. The result is never edited later."""
    require_safety_staff(actor)
    instrument = current_instrument()
    if problems := unanswered(instrument, answers):
        raise InvalidRequest(_("Answer every item of the instrument."),
                             {f"answers.{code}": [_("Choose an answer.")] for code in problems})
    result = score(instrument, answers)
    now = clock.now()
    assessment = RiskAssessment(
        referral_id=referral.id, instrument_version=instrument.version, answers=dict(answers), score=result.score,
        level=result.level, red_flags=list(result.red_flags), assessor_id=actor.id, assessed_at=now,
        valid_until=now + timedelta(days=current_app.config["ASSESSMENT_VALID_DAYS"]),
    )
    assessment.summary = (summary or "").strip() or None
    db.session.add(assessment)
    db.session.flush()
    record(actor, "risk.assess", assessment, referral_id=referral.id,
           details={"level": result.level.value, "score": result.score, "version": instrument.version})
    close_tasks(actor, [TaskKind.unsafe_report], referral_ids=[referral.id])  # the new assessment answers the report
    return assessment


def assessments_of(referral: Referral) -> list[RiskAssessment]:
    """The referral's assessments, newest first."""
    return list(db.session.execute(
        select(RiskAssessment).where(RiskAssessment.referral_id == referral.id)
        .order_by(RiskAssessment.assessed_at.desc())
    ).scalars())


@dataclass(frozen=True)
class Comparison:
    """How the latest assessment differs from the one before."""

    score_change: int
    level_before: str
    changed_items: tuple[tuple[str, str, str], ...]  # item code, answer before, answer now


def compare(latest: RiskAssessment, before: RiskAssessment | None) -> Comparison | None:
    """The difference between two assessments (item by item when they used the same instrument)."""
    if before is None:
        return None
    codes = sorted(set(latest.answers) | set(before.answers))
    changed = tuple((code, before.answers.get(code, ""), latest.answers.get(code, "")) for code in codes
                    if before.answers.get(code) != latest.answers.get(code))
    return Comparison(latest.score - before.score, before.level, changed)


def load_assessment(actor: Actor, assessment_id: uuid.UUID | str) -> RiskAssessment:
    """An assessment of a referral in the actor's scope; NotFound otherwise."""
    assessment = get_row(RiskAssessment, assessment_id)
    load_referral(actor, assessment.referral_id)
    return assessment


def plan_of(assessment: RiskAssessment) -> MitigationPlan | None:
    """The assessment's mitigation plan, if any."""
    return db.session.execute(select(MitigationPlan).where(MitigationPlan.assessment_id == assessment.id)
                              ).scalar_one_or_none()


@atomic
def propose_mitigation(actor: User, assessment: RiskAssessment, measures: list[str],
                       notes: str | None) -> MitigationPlan:
    """Propose measures from the fixed list; proposing again replaces an unapproved plan."""
    require_safety_staff(actor)
    if not measures or any(measure not in Measure.__members__ for measure in measures):
        raise InvalidRequest.field(_("Check the highlighted fields."), "measures",
                                   _("Choose one or more measures from the list."))
    plan = plan_of(assessment)
    if plan is not None and plan.approved_at is not None:
        raise Conflict(_("This plan is approved; a change needs a new assessment."), {"code": "plan_approved"})
    plan = plan or MitigationPlan(assessment_id=assessment.id, proposed_by_id=actor.id, proposed_at=clock.now())
    plan.measures = sorted(set(measures))
    plan.notes = (notes or "").strip() or None
    plan.proposed_by_id, plan.proposed_at = actor.id, clock.now()
    db.session.add(plan)
    db.session.flush()
    record(actor, "risk.mitigation_propose", plan, referral_id=assessment.referral_id,
           details={"measures": plan.measures})
    return plan


@atomic
def approve_mitigation(actor: Actor, assessment: RiskAssessment) -> MitigationPlan:
    """A coordinator approves the plan of a high-risk assessment."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators approve mitigation plans."))
    plan = plan_of(assessment)
    if plan is None:
        raise Conflict(_("There is no mitigation plan to approve."), {"code": "no_plan"})
    if plan.approved_at is None:
        plan.approved_by_id, plan.approved_at = actor.id, clock.now()
        record(actor, "risk.mitigation_approve", plan, referral_id=assessment.referral_id)
    return plan


@atomic
def record_protective_order(actor: User, referral: Referral, court_reference: str, no_contact: bool,
                            expires_on: date) -> ProtectiveOrder:
    """Record a protective order; a no-contact order allows only indirect formats while it runs."""
    require_safety_staff(actor)
    if not (court_reference or "").strip():
        raise InvalidRequest.field(_("Check the highlighted fields."), "court_reference",
                                   _("Enter the court's reference."))
    order = ProtectiveOrder(referral_id=referral.id, no_contact=no_contact, expires_on=expires_on,
                            recorded_by_id=actor.id, recorded_at=clock.now())
    order.court_reference = court_reference.strip()
    db.session.add(order)
    db.session.flush()
    record(actor, "safety.protective_order", order, referral_id=referral.id, details={"no_contact": no_contact})
    return order


def orders_of(referral: Referral) -> list[ProtectiveOrder]:
    """The referral's protective orders, latest expiry first."""
    return list(db.session.execute(
        select(ProtectiveOrder).where(ProtectiveOrder.referral_id == referral.id)
        .order_by(ProtectiveOrder.expires_on.desc())
    ).scalars())


@atomic
def report_incident(actor: Actor, referral: Referral, kind: str, description: str | None) -> SafetyIncident:
    """At once: the referral pauses (which cancels its sessions) and the staff are alerted.

    Resuming then needs a new risk assessment dated after the incident (referrals/gates.py).
    """
    if not isinstance(actor, Party):
        require_safety_staff(actor)
    if kind not in IncidentKind.__members__:
        raise InvalidRequest.field(_("Check the highlighted fields."), "kind", _("Choose what happened."))
    incident = SafetyIncident(referral_id=referral.id, kind=kind, reporter_type=actor.audit_ref[0],
                              reporter_id=actor.id, reported_at=clock.now())
    incident.description = (description or "").strip() or None
    db.session.add(incident)
    db.session.flush()
    record(actor, "safety.incident", incident, referral_id=referral.id, details={"kind": kind})
    if referral.status in ACTIVE:
        transition(actor, referral, ReferralStatus.paused, reason=PauseReason.safety_incident, automatic=True)
    else:  # already paused, or ended: nothing may still bring the parties together
        cancel_upcoming(actor, referral, "safety", decided_by=actor if isinstance(actor, Party) else None)
    staff = {user.id: user for user in [*coordinators(), *users_by_id(referral.facilitator_ids).values()]}
    notify_staff(staff.values(), "unsafe_reported", key=f"safety_incident:{incident.id}", referral=referral)
    raise_task(TaskKind.unsafe_report, source=f"incident:{incident.id}", referral_id=referral.id,
               subject_id=incident.id, params={"kind": kind, "reported_by": actor.audit_ref[0]})
    return incident


def report_unsafe(party: Party) -> SafetyIncident:
    """A party's "I feel unsafe" button: an incident reported by the party themself."""
    return report_incident(party, party.referral, IncidentKind.other, None)


def incidents_of(referral: Referral) -> list[SafetyIncident]:
    """The referral's incidents, newest first."""
    return list(db.session.execute(
        select(SafetyIncident).where(SafetyIncident.referral_id == referral.id)
        .order_by(SafetyIncident.reported_at.desc())
    ).scalars())



def instrument_for(version: str) -> Instrument:
    """The instrument an assessment used."""
    return instruments()[version]


def alert_unready_circles() -> tuple[int, int]:
    """Re-check the readiness gate for every booked circle, fed as booking fed it; tell its facilitators when it
    no longer holds.

    Returns how many circles were checked and how many failed. A circle's facilitators hear once about each set of
    unmet conditions: the job running again changes nothing until a condition is added.
    """
    circles = list(db.session.execute(
        select(ScheduledSession).where(ScheduledSession.kind == SessionKind.circle,
                                       ScheduledSession.status.in_(UPCOMING),
                                       ScheduledSession.starts_at > clock.now())
    ).scalars())
    failed = 0
    for circle in circles:
        if unmet := unmet_for(CirclePlan.of_session(circle)):
            failed += 1
            referral = get_row(Referral, circle.referral_id)
            codes = "+".join(sorted(item.code for item in unmet))
            notify_staff(users_by_id(referral.facilitator_ids).values(), "circle_not_ready",
                         key=f"circle_not_ready:{circle.id}:{sha256_hex(codes)[:16]}", referral=referral)
            raise_task(TaskKind.circle_not_ready, source=f"circle:{circle.id}:{sha256_hex(codes)[:16]}",
                       referral_id=referral.id, subject_id=circle.id, params={"codes": sorted(codes.split("+"))},
                       due_at=max(clock.now(), circle.starts_at - timedelta(days=1)))
        else:  # ready again: whatever made it unready has been dealt with
            close_tasks(SYSTEM, [TaskKind.circle_not_ready], subject_id=circle.id)
    return len(circles), failed
