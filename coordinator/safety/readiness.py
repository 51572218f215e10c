"""The readiness gate (docs/design.md section 3): may a circle be held for this referral, in this format, on this date?

`readiness()` is one pure function over `Facts`; `gather_facts()` reads them. The gate returns every unmet
condition with its fixed code and a message in the reader's language. Every caller states what it asks about as a
`CirclePlan` (booking from its request, the daily re-check from the booked circle, pages from their form), and
`unmet_for(plan)` is the one way from a plan to the gate, so booking and the re-check can never be fed differently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coordinator.consent.models import Scope
from coordinator.consent.queries import Overview, consent_overview
from coordinator.db import db, get_row
from coordinator.gates import Unmet
from coordinator.i18n import language_label
from coordinator.referrals.models import Acknowledgement, PartyRole, Referral, ReferralStatus
from coordinator.roster.models import FacilitatorConflict, FacilitatorProfile, Training, TrainingKind, Venue
from coordinator.safety.models import MitigationPlan, ProtectiveOrder, RiskAssessment, RiskLevel, SafetyIncident
from coordinator.sessions.models import (
    FORMAT_LABELS,
    UPCOMING,
    ScheduledSession,
    SessionFormat,
    SessionKind,
    SessionStatus,
)

JOINT_FORMATS = (SessionFormat.in_person, SessionFormat.video)  # the parties meet; shuttle and letter do not
JOINT_ONLY = frozenset({"risk_prohibitive", "mitigation_unapproved", "protective_order"})
IN_PERSON_ONLY = frozenset({"venue_unsuitable"})
# Conditions that cannot be judged until another one is met: (condition, what it waits for).
NEEDS_FIRST = {"risk_assessment_stale": "risk_assessment_missing", "risk_prohibitive": "risk_assessment_missing",
               "mitigation_unapproved": "risk_assessment_missing", "facilitator_training": "facilitators_missing",
               "facilitator_conflicted": "facilitators_missing", "language_unmatched": "facilitators_missing"}
OPEN_STATES = (ReferralStatus.preparation, ReferralStatus.ready, ReferralStatus.circle_scheduled)

# Every condition, in the order the checklist shows them.
CONDITIONS: dict[str, object] = {
    "referral_state": _l("The referral is in preparation, ready, or has its circle booked."),
    "referral_paused": _l("The referral is not paused."),
    "consent_survivor_participation": _l("The survivor agrees to take part, on the circle's date."),
    "consent_survivor_contact_other_party": _l("The survivor agrees to contact with the other person, on the "
                                               "circle's date."),
    "consent_responsible_participation": _l("The responsible party agrees to take part, on the circle's date."),
    "acknowledgement_missing": _l("The responsible party's acknowledgement of the basic facts is recorded."),
    "pre_conference_survivor": _l("A preparation meeting with the survivor was held."),
    "pre_conference_responsible": _l("A preparation meeting with the responsible party was held."),
    "risk_assessment_missing": _l("A risk assessment exists, made after the latest safety incident."),
    "risk_assessment_stale": _l("The risk assessment is still valid on the circle's date."),
    "risk_prohibitive": _l("The risk is not prohibitive for a meeting of the parties."),
    "mitigation_unapproved": _l("A high risk has a mitigation plan approved by a coordinator."),
    "protective_order": _l("No no-contact order rules out a meeting of the parties on that date."),
    "facilitators_missing": _l("A lead facilitator and a co-facilitator are assigned."),
    "facilitator_training": _l("Both facilitators hold valid trafficking-specialist training on the circle's date."),
    "facilitator_conflicted": _l("Neither facilitator has declared a conflict of interest with the case."),
    "language_unmatched": _l("A facilitator speaks the survivor's language, or an interpreter is booked."),
    "venue_unsuitable": _l("The venue has separate waiting rooms and room for everyone."),
}


@dataclass(frozen=True)
class AssessmentFacts:
    """The latest risk assessment."""

    assessed_at: datetime
    valid_until: datetime
    level: str
    mitigation_approved: bool


@dataclass(frozen=True)
class FacilitatorFacts:
    """One assigned facilitator's trainings (kind: valid until), languages and any conflict with the case."""

    trainings: dict[str, date]
    languages: tuple[str, ...]
    conflicted: bool = False


@dataclass(frozen=True)
class Facts:
    """Everything the gate looks at, read once."""

    status: str
    consents: Overview
    acknowledged: bool
    held_kinds: frozenset[str]
    assessment: AssessmentFacts | None
    last_incident_at: datetime | None
    no_contact_until: date | None
    facilitators: tuple[FacilitatorFacts, ...]
    survivor_language: str
    venue_suitable: bool | None = None  # None: no venue chosen (yet)


def _consents_on(facts: Facts, on: date) -> list[str]:
    def valid(role: str, scope: str) -> bool:
        state = facts.consents[role][scope]
        return state.granted and (state.expires_at is None or state.expires_at.date() >= on)

    unmet = []
    if not valid("survivor", Scope.participation):
        unmet.append("consent_survivor_participation")
    if not valid("survivor", Scope.contact_other_party):
        unmet.append("consent_survivor_contact_other_party")
    if not valid("responsible_party", Scope.participation):
        unmet.append("consent_responsible_participation")
    return unmet


def _risk(facts: Facts, fmt: str | None, on: date) -> list[str]:
    assessment = facts.assessment
    if assessment is None or (facts.last_incident_at and assessment.assessed_at <= facts.last_incident_at):
        return ["risk_assessment_missing"]
    unmet = []
    if assessment.valid_until.date() < on:
        unmet.append("risk_assessment_stale")
    if applies("risk_prohibitive", fmt):
        if assessment.level == RiskLevel.prohibitive:
            unmet.append("risk_prohibitive")
        elif assessment.level == RiskLevel.high and not assessment.mitigation_approved:
            unmet.append("mitigation_unapproved")
    return unmet


def _people(facts: Facts, on: date, interpreter: bool) -> list[str]:
    if len(facts.facilitators) < 2:
        return ["facilitators_missing"]
    unmet = []
    specialist = TrainingKind.trafficking_specialist
    if not all(facilitator.trainings.get(specialist, date.min) >= on for facilitator in facts.facilitators):
        unmet.append("facilitator_training")
    if any(facilitator.conflicted for facilitator in facts.facilitators):
        unmet.append("facilitator_conflicted")
    if not interpreter and not any(facts.survivor_language in facilitator.languages
                                   for facilitator in facts.facilitators):
        unmet.append("language_unmatched")
    return unmet


def applies(code: str, fmt: str | None) -> bool:
    """Whether a condition concerns a circle in `fmt` (None: any format, so only what every format needs)."""
    if code in JOINT_ONLY:
        return fmt in JOINT_FORMATS
    if code in IN_PERSON_ONLY:
        return fmt == SessionFormat.in_person
    return True


def readiness(facts: Facts, fmt: str | None, on: date, interpreter: bool = False) -> list[Unmet]:
    """Every unmet condition for a circle in `fmt` (None: any format) on `on`, in checklist order."""
    codes = []
    if facts.status == ReferralStatus.paused:
        codes.append("referral_paused")
    elif facts.status not in OPEN_STATES:
        codes.append("referral_state")
    codes += _consents_on(facts, on)
    if not facts.acknowledged:
        codes.append("acknowledgement_missing")
    if SessionKind.pre_conference_survivor not in facts.held_kinds:
        codes.append("pre_conference_survivor")
    if SessionKind.pre_conference_responsible not in facts.held_kinds:
        codes.append("pre_conference_responsible")
    codes += _risk(facts, fmt, on)
    if applies("protective_order", fmt) and facts.no_contact_until is not None and facts.no_contact_until >= on:
        codes.append("protective_order")
    codes += _people(facts, on, interpreter)
    if applies("venue_unsuitable", fmt) and facts.venue_suitable is False:
        codes.append("venue_unsuitable")
    return [Unmet(code, condition_text(code, facts)) for code in CONDITIONS if code in codes]


def condition_text(code: str, facts: Facts) -> str:
    """A condition in plain words; the language condition names the survivor's language (docs/design.md 7)."""
    if code == "language_unmatched":
        return _("A facilitator speaks the survivor's language (%(language)s), or an interpreter is booked.",
                 language=language_label(facts.survivor_language))
    return str(CONDITIONS[code])


def latest_assessment(referral: Referral) -> RiskAssessment | None:
    """The referral's newest risk assessment."""
    return db.session.execute(
        select(RiskAssessment).where(RiskAssessment.referral_id == referral.id)
        .order_by(RiskAssessment.assessed_at.desc()).limit(1)
    ).scalar_one_or_none()


def last_incident_at(referral: Referral) -> datetime | None:
    """When the latest safety incident was reported."""
    return db.session.execute(
        select(SafetyIncident.reported_at).where(SafetyIncident.referral_id == referral.id)
        .order_by(SafetyIncident.reported_at.desc()).limit(1)
    ).scalar_one_or_none()


def gather_facts(referral: Referral, venue: Venue | None = None) -> Facts:
    """Read what the gate needs about a referral (and the venue, for in-person circles)."""
    assessment = latest_assessment(referral)
    plan = None
    if assessment is not None:
        plan = db.session.execute(select(MitigationPlan).where(MitigationPlan.assessment_id == assessment.id)
                                  ).scalar_one_or_none()
    orders = db.session.execute(
        select(ProtectiveOrder.expires_on).where(ProtectiveOrder.referral_id == referral.id,
                                                 ProtectiveOrder.no_contact.is_(True))
    ).scalars().all()
    held = db.session.execute(
        select(ScheduledSession.kind).where(ScheduledSession.referral_id == referral.id,
                                            ScheduledSession.status == SessionStatus.held)
    ).scalars().all()
    acknowledged = db.session.execute(
        select(Acknowledgement.id).where(Acknowledgement.referral_id == referral.id).limit(1)
    ).first() is not None
    return Facts(
        status=referral.status,
        consents=consent_overview(referral),
        acknowledged=acknowledged,
        held_kinds=frozenset(held),
        assessment=AssessmentFacts(assessment.assessed_at, assessment.valid_until, assessment.level,
                                   bool(plan and plan.approved_at)) if assessment else None,
        last_incident_at=last_incident_at(referral),
        no_contact_until=max(orders, default=None),
        facilitators=_facilitator_facts(referral),
        survivor_language=referral.require_party(PartyRole.survivor).preferred_language,
        venue_suitable=venue.suits(SessionKind.circle) if venue else None,
    )


def _facilitator_facts(referral: Referral) -> tuple[FacilitatorFacts, ...]:
    ids = [i for i in (referral.lead_facilitator_id, referral.co_facilitator_id) if i is not None]
    if not ids:
        return ()
    trainings: dict = {i: {} for i in ids}
    for training in db.session.execute(select(Training).where(Training.user_id.in_(ids))).scalars():
        trainings[training.user_id][training.kind] = training.valid_until
    languages = {profile.user_id: tuple(profile.languages) for profile in db.session.execute(
        select(FacilitatorProfile).where(FacilitatorProfile.user_id.in_(ids))).scalars()}
    conflicted = set(db.session.execute(select(FacilitatorConflict.user_id).where(
        FacilitatorConflict.user_id.in_(ids), FacilitatorConflict.docket_number == referral.case.docket_number
    )).scalars())
    return tuple(FacilitatorFacts(trainings[i], languages.get(i, ()), i in conflicted) for i in ids)


@dataclass(frozen=True)
class CirclePlan:
    """A circle as someone proposes or booked it: what the gate is asked about."""

    referral: Referral
    format: str | None  # None: any format (the referral page's checklist before a format is chosen)
    on: date
    venue: Venue | None = None
    interpreter: bool = False

    @classmethod
    def of_session(cls, session: ScheduledSession) -> CirclePlan:
        """A booked circle, exactly as booking saw it: its format, date, venue and interpreter."""
        return cls(get_row(Referral, session.referral_id), session.format, session.starts_at.date(),
                   db.session.get(Venue, session.venue_id) if session.venue_id else None, session.interpreter)


def referral_plan(referral: Referral, on: date) -> CirclePlan:
    """The referral's own readiness (the `ready` status): any format, with an interpreter when one is arranged for
    the survivor or booked for the circle being booked (so booking a circle with an interpreter can make it ready)."""
    survivor = referral.require_party(PartyRole.survivor)
    booked = db.session.execute(
        select(ScheduledSession.id).where(ScheduledSession.referral_id == referral.id,
                                          ScheduledSession.kind == SessionKind.circle,
                                          ScheduledSession.status.in_(UPCOMING),
                                          ScheduledSession.interpreter.is_(True)).limit(1)
    ).first() is not None
    return CirclePlan(referral, None, on, interpreter=bool(survivor.interpreter_arranged) or booked)


def _assess(plan: CirclePlan) -> tuple[Facts, list[Unmet]]:
    """The one way from a plan to `readiness()`: its facts, and what is unmet."""
    facts = gather_facts(plan.referral, plan.venue)
    return facts, readiness(facts, plan.format, plan.on, plan.interpreter)


def unmet_for(plan: CirclePlan) -> list[Unmet]:
    """The gate for a plan."""
    return _assess(plan)[1]


def unmet_by_day(plan: CirclePlan, days: Iterable[date]) -> dict[date, list[Unmet]]:
    """The gate for the same plan on each of several days (the plan's own date ignored), its facts read once."""
    facts = gather_facts(plan.referral, plan.venue)
    return {day: readiness(facts, plan.format, day, plan.interpreter) for day in days}


@dataclass(frozen=True)
class ChecklistItem:
    """One condition on the checklist: met, unmet or not applicable, with a note saying why when it is not met."""

    code: str
    words: str
    state: str  # "met", "unmet" or "not_applicable"
    note: str = ""

    @property
    def met(self) -> bool:
        """True only for a condition that applies and is met (a condition that does not apply is not "met")."""
        return self.state == "met"


def _not_applicable_note(code: str, plan: CirclePlan) -> str | None:
    """Why a condition does not concern this circle, or None when it does."""
    if not applies(code, plan.format):
        if plan.format is None:
            return _("Checked once a format is chosen.")
        return _("Does not apply to this format (%(format)s).", format=FORMAT_LABELS[plan.format])
    if code in IN_PERSON_ONLY and plan.venue is None:
        return _("Checked when a venue is chosen.")
    return None


def checklist(plan: CirclePlan) -> list[ChecklistItem]:
    """Each condition for the plan's format, for the checklist on the referral's pages.

    A condition that does not apply to the format says so rather than showing as met; one that cannot be judged
    until another is met (the assessment's validity with no assessment) is unmet, saying what it waits for.
    """
    facts, unmet = _assess(plan)
    missing = {item.code for item in unmet}
    items = []
    for code in CONDITIONS:
        words = condition_text(code, facts)
        waits_for = NEEDS_FIRST.get(code)
        if (note := _not_applicable_note(code, plan)) is not None:
            items.append(ChecklistItem(code, words, "not_applicable", note))
        elif code in missing:
            items.append(ChecklistItem(code, words, "unmet"))
        elif waits_for in missing:
            items.append(ChecklistItem(code, words, "unmet", _("Cannot be checked until this is met: %(condition)s",
                                                               condition=condition_text(waits_for, facts))))
        elif code == "mitigation_unapproved" and facts.assessment and facts.assessment.level != RiskLevel.high:
            items.append(ChecklistItem(code, words, "not_applicable", _("Does not apply: the risk is not high.")))
        else:
            items.append(ChecklistItem(code, words, "met"))
    return items


def default_format(referral: Referral, chosen: str | None = None) -> str:
    """The format a checklist is shown for: the one chosen, else the booked circle's, else in person."""
    if chosen in SessionFormat.__members__:
        return str(chosen)
    booked = db.session.execute(
        select(ScheduledSession.format).where(ScheduledSession.referral_id == referral.id,
                                              ScheduledSession.kind == SessionKind.circle,
                                              ScheduledSession.status.in_(UPCOMING))
        .order_by(ScheduledSession.starts_at).limit(1)
    ).scalar_one_or_none()
    return str(booked or SessionFormat.in_person)
