"""A believable, entirely fictional programme for demos (`flask --app app seed-demo`)."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from config import DEMO_TIMEZONE
from coordinator import clock
from coordinator.accounts.models import SYSTEM, Role, User
from coordinator.accounts.service import create_user, find_user_by_email
from coordinator.agreements.queries import items_of
from coordinator.agreements.service import ItemDraft, accept, draft_agreement, record_progress
from coordinator.cases.models import Hearing, HearingKind
from coordinator.consent.models import Method, Scope
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.portal.service import issue_link
from coordinator.referrals.models import AcknowledgementBasis, CloseReason, PauseReason, Referral, ReferralStatus
from coordinator.referrals.schemas import ReferralIn
from coordinator.referrals.service import assign_facilitators, create_referral, record_acknowledgement
from coordinator.referrals.workflow import transition
from coordinator.roster.models import AvailabilityWindow, TrainingKind, Venue
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.safety.service import record_assessment
from coordinator.sessions.booking import book_session, mark_held
from coordinator.sessions.models import ScheduledSession, SessionFormat, SessionKind
from coordinator.sessions.search import find_slots

DEMO_PASSWORD = "walnut-ferry-lantern-73"  # nosec B105 # the demo's published password; seed-demo refuses production
DOMAIN = "circlekeeper.example"
S = ReferralStatus

# Languages and time zones of the facilitators (all hold valid trafficking-specialist training in the demo).
FACILITATOR_LANGUAGES = {"facilitator": ["en", "de"], "amaia": ["es", "en", "eu"], "chidi": ["en", "yo"],
                         "lucie": ["fr", "en"]}
FACILITATOR_ZONES = {"facilitator": "Europe/Berlin", "amaia": "Europe/Madrid", "chidi": "Europe/London",
                     "lucie": "Europe/Paris"}
WEEKDAYS_NINE_TO_FIVE = [(day, time(9), time(17)) for day in range(5)]
# Every demo venue is in the demo's zone, which is the programme's zone under `make run` (config.DEMO_TIMEZONE).
VENUES = [("Harbour Room", DEMO_TIMEZONE, True, 12), ("Garden Room", DEMO_TIMEZONE, True, 8),
          ("Quiet Office", DEMO_TIMEZONE, False, 4)]
# A plausible, moderate first assessment for the referrals that reach a circle.
DEMO_ANSWERS = {"violence_history": "past_others", "ongoing_contact": "none", "survivor_fear": "somewhat",
                "coercive_control": "some", "leverage": "past", "denial": "minimises", "support_network": "some",
                "mental_health_crisis": "no", "substance_misuse": "no", "weapons": "no", "retaliation": "none",
                "protective_orders": "none"}

STAFF = [
    ("admin", Role.admin, "Noor Haddad", "en"),
    ("coordinator", Role.coordinator, "Marta Ibáñez", "es"),
    ("facilitator", Role.facilitator, "Jonas Weber", "en"),
    ("amaia", Role.facilitator, "Amaia Etxeberria", "es"),
    ("chidi", Role.facilitator, "Chidi Okafor", "en"),
    ("lucie", Role.facilitator, "Lucie Marchand", "fr"),
    ("prosecutor", Role.prosecutor, "Daniel Price", "en"),
    ("claire", Role.prosecutor, "Claire Moreau", "fr"),
]
LOGINS = ("admin", "coordinator", "facilitator", "prosecutor")

CASES = {
    "northbridge": ("Northbridge County", "Northbridge County Circuit Court", "prosecutor"),
    "valverde": ("Comunidad de Valverde", "Juzgado de lo Penal nº 3 de Valverde", "prosecutor"),
    "montclair": ("Région de Montclair", "Tribunal judiciaire de Montclair", "claire"),
}

# A step of a demo referral's path: the status to enter, with the reason when it needs one.
Step = ReferralStatus | tuple[ReferralStatus, str]
# (survivor alias, language, responsible alias, case, docket, charge, stage, facilitators, path to walk, days ago)
DemoReferral = tuple[str, str, str, str, str, str, str, tuple[str, str] | None, list[Step], int]
REFERRALS: list[DemoReferral] = [
    ("Mariposa", "es", "R. Ortega", "valverde", "PA-2026-0117", "Trata de seres humanos", "charged", None, [], 2),
    ("Iryna", "uk", "V. Sokol", "northbridge", "CR-2026-0311", "Labor trafficking", "charged", None, [], 5),
    ("Adaeze", "en", "K. Bello", "northbridge", "CR-2026-0298", "Sex trafficking", "plea", ("facilitator", "amaia"),
     [S.screening], 9),
    ("Luz", "es", "M. Paredes", "valverde", "PA-2026-0098", "Explotación laboral", "charged", ("amaia", "chidi"),
     [S.screening], 12),
    ("Thi Lan", "vi", "D. Hoang", "northbridge", "CR-2026-0270", "Forced labor", "trial", ("facilitator", "chidi"),
     [S.screening, S.preparation], 20),
    ("Fatou", "fr", "J. Mercier", "montclair", "TJ-2026-0412", "Traite des êtres humains", "charged",
     ("lucie", "facilitator"), [S.screening, S.preparation], 26),
    ("Esperanza", "es", "L. Vidal", "valverde", "PA-2026-0064", "Trata con fines de explotación sexual", "plea",
     ("facilitator", "amaia"), [S.screening, S.preparation, S.ready], 34),
    ("Mei", "en", "T. Walsh", "northbridge", "CR-2026-0221", "Debt bondage", "plea", ("facilitator", "chidi"),
     [S.screening, S.preparation, S.ready, S.circle_scheduled], 41),
    ("Ioana", "fr", "A. Roux", "montclair", "TJ-2026-0377", "Traite des êtres humains", "sentencing",
     ("lucie", "amaia"), [S.screening, S.preparation, S.ready, S.circle_scheduled, S.circle_held], 55),
    ("Nadia", "en", "P. Kerr", "northbridge", "CR-2026-0154", "Labor trafficking", "sentencing",
     ("facilitator", "lucie"), [S.screening, S.preparation, S.ready, S.circle_scheduled, S.circle_held, S.monitoring],
     80),
    ("Rosa", "es", "F. Gil", "valverde", "PA-2025-0988", "Trata de seres humanos", "closed", ("amaia", "chidi"),
     [S.screening, S.preparation, S.ready, S.circle_scheduled, S.circle_held, S.monitoring, S.completed], 160),
    ("Elena", "en", "G. Novak", "northbridge", "CR-2026-0190", "Sex trafficking", "trial", ("facilitator", "chidi"),
     [S.screening, S.preparation, (S.paused, PauseReason.facilitator_stop)], 48),
    ("Amara", "fr", "B. Laurent", "montclair", "TJ-2026-0350", "Traite des êtres humains", "trial",
     ("lucie", "chidi"), [S.screening, (S.closed, CloseReason.not_suitable)], 63),
]
# Given with every demo assignment; recorded only where it puts someone over their cap (the seventh for "facilitator").
DEMO_OVERRIDE_REASON = "Knows the case from a previous referral; a lighter case moves to another keeper next month."
# Hearings of the demo's cases, in days from today: Nadia's sentencing is two weeks away (a court report is due).
HEARINGS = {"CR-2026-0154": [(HearingKind.plea, -40), (HearingKind.sentencing, 14)],
            "CR-2026-0270": [(HearingKind.trial, 30)],
            "CR-2026-0221": [(HearingKind.trial, 12)],
            "TJ-2026-0377": [(HearingKind.sentencing, 45)]}


def demo_agreement(actor: User, referral: Referral, completed: bool) -> None:
    """An agreement both parties accepted in person and agreed to share with the court; paid off if `completed`."""
    today = clock.today()
    agreement, _created = draft_agreement(actor, referral, [
        ItemDraft("apology", "A written apology, read aloud at a follow-up meeting (fictional).",
                  today + timedelta(days=10)),
        ItemDraft("restitution", "Repay the withheld wages in three instalments (fictional).",
                  today + timedelta(days=90), 120000, "EUR"),
        ItemDraft("programme", "Complete a labour-rights awareness programme (fictional).", today + timedelta(days=60)),
    ])
    for party in ("survivor", "responsible_party"):
        record_decision(actor, referral, party=party, scope=Scope.share_outcome_with_court, decision="granted",
                        method=Method.in_person)
        accept(actor, agreement, party, "in_person")
    apology, restitution, programme = items_of(agreement)
    record_progress(actor, restitution, None, "First instalment received (fictional).", 40000)
    if completed:
        with clock.travel(clock.now() + timedelta(days=30)):
            record_progress(actor, apology, "completed", None)
            record_progress(actor, programme, "completed", None)
            record_progress(actor, restitution, None, None, 80000)


def prepare_for_circle(actor: User, referral: Referral) -> None:
    """The demo's preparation, as it would have happened: both preparation meetings booked by video, held three
    days later, then an acknowledgement and a moderate assessment."""
    now = clock.now()
    pair = [user_id for user_id in (referral.lead_facilitator_id, referral.co_facilitator_id) if user_id is not None]
    meetings = []
    with clock.travel(now - timedelta(days=4)):
        for kind, hours in ((SessionKind.pre_conference_survivor, 50), (SessionKind.pre_conference_responsible, 54)):
            start = clock.now() + timedelta(hours=hours)
            meetings.append(book_session(actor, referral, kind=kind, fmt=SessionFormat.video, start=start,
                                         end=start + timedelta(hours=1),
                                         facilitator_ids=pair))
    with clock.travel(now - timedelta(days=1)):
        for meeting, party in zip(meetings, ("survivor", "responsible_party"), strict=True):
            mark_held(actor, meeting, [party])
    record_acknowledgement(actor, referral, AcknowledgementBasis.plea, "Guilty plea entered at the plea hearing")
    record_assessment(actor, referral, DEMO_ANSWERS, "Fictional demo assessment.")


def book_first_circle(actor: User, referral: Referral) -> ScheduledSession:
    """Book the referral's circle at the first in-person slot the search finds."""
    slot = find_slots(referral, SessionKind.circle, SessionFormat.in_person, timedelta(minutes=120), limit=1)[0]
    return book_session(actor, referral, kind=SessionKind.circle, fmt=SessionFormat.in_person, start=slot.start,
                        end=slot.end, facilitator_ids=list(slot.facilitator_ids), venue_id=slot.venue_id)


def hold_first_circle(actor: User, referral: Referral) -> None:
    """Book the circle, then record it held (both parties came) once it has taken place."""
    circle = book_first_circle(actor, referral)
    with clock.travel(circle.ends_at + timedelta(hours=1)):
        mark_held(actor, circle, ["survivor", "responsible_party"])


def walk(actor: User, referral: Referral, path: list[Step], days: int) -> None:
    """Move a demo referral along `path` through the services, each step at the time it would have happened:
    received `days` ago, prepared in the weeks before its circle, its circle held (when the path says so) a few
    days after it was ready, and an agreement in force recorded lately."""
    now = clock.now()
    targets = [step[0] if isinstance(step, tuple) else step for step in path]
    # When the path reaches `ready` (the steps after it happen from then on).
    ready_at = now - timedelta(days=max(2, days // 3))
    # Consent lasts 90 days: the grants that let preparation start are given ten days before the preparation ends.
    prepared_at = ready_at - timedelta(days=10) if S.ready in targets else now - timedelta(days=days - 1)
    for step in path:
        target, reason = step if isinstance(step, tuple) else (step, None)
        if target == S.preparation:
            with clock.travel(prepared_at):
                for party, scope in (("survivor", Scope.participation), ("survivor", Scope.contact_other_party),
                                     ("responsible_party", Scope.participation)):
                    record_decision(actor, referral, party=party, scope=scope, decision="granted",
                                    method=Method.in_person)
                transition(actor, referral, target)
        elif target == S.ready:
            with clock.travel(ready_at):
                prepare_for_circle(actor, referral)
                transition(actor, referral, target)
        elif target == S.circle_scheduled:
            if S.circle_held in targets:
                with clock.travel(ready_at):
                    hold_first_circle(actor, referral)
            else:
                book_first_circle(actor, referral)  # a real booking ahead, for the calendars and the portal
        elif target == S.monitoring:
            # An agreement in force was drafted lately; a completed one soon after its circle.
            completed = S.completed in targets
            with clock.travel(ready_at + timedelta(days=5) if completed else now - timedelta(days=3)):
                demo_agreement(actor, referral, completed=completed)
        elif target in (S.screening, S.paused, S.closed):
            with clock.travel(now - timedelta(days=days if target == S.screening else days // 2)):
                transition(actor, referral, target, reason=reason)


def email_of(login: str) -> str:
    """The demo address of a login name."""
    return f"{login}@{DOMAIN}"


def login_lines() -> list[str]:
    """The demo logins `make run` prints."""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {login:<12} {email_of(login)}" for login in LOGINS]
    return lines


def seed(if_empty: bool = False) -> str | None:
    """Create the demo staff and referrals; returns a survivor's private link to try the portal with.

    Returns None when skipped because accounts exist.
    """
    if if_empty and db.session.execute(select(func.count()).select_from(User)).scalar_one():
        return None
    staff = {}
    for login, role, name, language in STAFF:
        user = find_user_by_email(email_of(login))
        if user is None:
            user, _ = create_user(SYSTEM, email=email_of(login), role=role, name=name, password=DEMO_PASSWORD,
                                  language=language)
        staff[login] = user
        if login in FACILITATOR_LANGUAGES:
            set_facilitator_profile(SYSTEM, user, FACILITATOR_LANGUAGES[login],
                                    {TrainingKind.trafficking_specialist: clock.now().date() + timedelta(days=300),
                                     TrainingKind.trauma_informed: clock.now().date() + timedelta(days=500)},
                                    timezone=FACILITATOR_ZONES[login])
            for weekday, start, end in WEEKDAYS_NINE_TO_FIVE:
                db.session.add(AvailabilityWindow(user_id=user.id, weekday=weekday, start_time=start, end_time=end))
    for name, zone, waiting_rooms, capacity in VENUES:
        venue = Venue(name=name, timezone=zone, separate_waiting_rooms=waiting_rooms, accessible=True,
                      capacity=capacity, opening_hours=[{"weekday": d, "start": "08:00", "end": "19:00"}
                                                        for d in range(6)])
        venue.address = f"{name}, 1 Example Street (fictional)"
        db.session.add(venue)
    db.session.flush()
    coordinator = staff["coordinator"]
    now = clock.now()
    portal_link = None
    for number, (alias, language, responsible, case_key, docket, charge, stage, pair, path, days) in enumerate(
            REFERRALS, start=1):
        jurisdiction, court, prosecutor_login = CASES[case_key]
        data = ReferralIn.model_validate({
            "source": "prosecutor" if number % 3 else "victim_services",
            "case": {"jurisdiction": jurisdiction, "court": court, "docket_number": docket, "charges": [charge],
                     "stage": stage, "prosecutor_email": email_of(prosecutor_login)},
            "survivor": {"alias": alias, "preferred_language": language, "needs_interpreter": language not in
                         ("en", "es", "fr"), "contact": {"email": f"survivor{number:02d}@example.org",
                                                         "phone": f"+1 555 01{number:02d}"}},
            "responsible_party": {"alias": responsible, "preferred_language": "en",
                                  "contact": {"email": f"party{number:02d}@example.org"}},
            "notes": "Fictional demo referral.",
        })
        with clock.travel(now - timedelta(days=days)):
            referral = create_referral(coordinator, data)
            if pair:
                # The demo shows one facilitator assigned over their cap, with the coordinator's reason on the roster.
                assign_facilitators(coordinator, referral, staff[pair[0]].id, staff[pair[1]].id,
                                    override_reason=DEMO_OVERRIDE_REASON)
        walk(coordinator, referral, path, days)
        for kind, offset in HEARINGS.get(docket, []):
            db.session.add(Hearing(case_id=referral.case_id, kind=kind, on_date=clock.today() + timedelta(days=offset),
                                   recorded_by_id=coordinator.id, recorded_at=now))
        if number == 3:  # Adaeze, in screening: her private link lets a newcomer try the portal
            _link, portal_link = issue_link(coordinator, referral, "survivor", "handover")
    return portal_link
