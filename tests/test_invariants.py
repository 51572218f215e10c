"""Invariants that no sequence of actions, through any door, may break (docs/design.md rules 1, 5 and 9).

A hypothesis state machine drives one referral with a prosecutor, two facilitators and both parties through random
actions from every door: staff pages (forms with CSRF), the JSON API, the parties' portal (links and continue), and
the scheduler's jobs. After every step it checks:
- a paused or closed referral has no upcoming active session and no active reservation;
- a party who withdrew participation has no upcoming session;
- every stage a prosecutor can read (case API, referral API, list API, list page, referral page, case pages) is the
  same value, the one `prosecution_stage` gives, and it is never `paused`;
- nobody is told twice about one cancellation: each party gets at most one message per channel for each cancelled
  session they were invited to, and none about a session they were not invited to.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from coordinator import clock
from coordinator.consent.queries import consent_overview
from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.models import OutboxMessage
from coordinator.prosecution.service import CASES_PER_PAGE
from coordinator.referrals.models import PROSECUTION_STAGE_LABELS, Referral
from coordinator.referrals.workflow import RESUME_TO, prosecution_stage
from coordinator.sessions.models import PARTIES_OF, UPCOMING, Reservation, ScheduledSession, SessionParticipant
from tests.factories import LOW_RISK
from tests.portal.helpers import Phone

DOORS = st.sampled_from(["page", "api"])
PARTIES = st.sampled_from(["survivor", "responsible_party"])
KINDS = st.sampled_from(["circle", "pre_conference_survivor", "pre_conference_responsible", "follow_up"])
JOBS = st.sampled_from(["recheck_circles", "send_reminders", "check_overdue_items"])
# Every stage's words, to find which stage a page shows.
STAGE_LABELS = {stage: str(label) for stage, label in PROSECUTION_STAGE_LABELS.items()}



class ReferralLife(RuleBasedStateMachine):
    """One referral, ready for its circle, and everyone who can act on it."""

    def __init__(self, app, factory, people: dict):
        super().__init__()
        self.app, self.factory = app, factory
        # Signed in once for the whole test: sign-in is rate limited per address, as it should be.
        self.coordinator, self.prosecutor = people["coordinator"], people["prosecutor"]
        self.api, self.prosecution = people["api"], people["prosecution"]
        self.staff, self.reader = people["staff"], people["reader"]
        self.people = people

    @initialize()
    def ready_referral(self):
        self.pair = (self.factory.user("facilitator"), self.factory.user("facilitator"))
        referral = self.factory.referral(by=self.coordinator, prosecutor=self.prosecutor, facilitators=self.pair,
                                         status="ready", survivor={"contact": {"email": "s@example.org",
                                                                               "phone": "+1 555 0101"}})
        self.referral_id = referral.id
        self.cases = self.people["cases"] = self.people["cases"] + 1  # each referral has its own case
        self.phones: dict[str, Phone] = {}
        self.days = 3

    # Helpers ---------------------------------------------------------------------------------------------------

    def url(self, tail: str = "") -> str:
        return f"/api/v1/referrals/{self.referral_id}{tail}"

    def upcoming_ids(self) -> list[str]:
        with self.app.app_context():
            return [str(i) for i in db.session.execute(select(ScheduledSession.id).where(
                ScheduledSession.referral_id == self.referral_id, ScheduledSession.status.in_(UPCOMING),
                ScheduledSession.starts_at > clock.now()).order_by(ScheduledSession.starts_at)).scalars()]

    def phone(self, party: str) -> Phone | None:
        """The party's phone inside the portal, through a fresh link when its session is gone; None if refused."""
        phone = self.phones.get(party)
        if phone is not None and phone.open("/portal").status_code == 200:
            return phone
        issued = self.api.post(self.url("/links"), json={"party": party, "channel": "handover"})
        if issued.status_code != 201:
            return None  # e.g. the responsible party before the survivor agreed to contact
        phone = Phone(self.app.test_client())
        path = issued.get_json()["url"].removeprefix(self.app.config["COORDINATOR_BASE_URL"])
        if phone.continue_link(path).status_code != 302:
            return None
        self.phones[party] = phone
        return phone

    def next_start(self):
        with self.app.app_context():
            self.days += 1
            return (clock.now() + timedelta(days=self.days)).replace(minute=0, second=0, microsecond=0)

    # Rules: staff through pages and the API -----------------------------------------------------------------------

    @rule(kind=KINDS, door=DOORS)
    def book(self, kind, door):
        start = self.next_start()
        end = start + timedelta(hours=2)
        people = [str(user.id) for user in self.pair]
        if door == "api":
            self.api.post(self.url("/sessions"), json={"kind": kind, "format": "video", "start": start.isoformat(),
                                                       "end": end.isoformat(), "facilitator_ids": people})
        else:
            self.staff.post(f"/referrals/{self.referral_id}/sessions", {
                "kind": kind, "format": "video", "start": start.isoformat(), "end": end.isoformat(),
                "facilitator_ids": ",".join(people)})

    @rule(door=DOORS, pick=st.integers(0, 3))
    def cancel(self, door, pick):
        upcoming = self.upcoming_ids()
        if not upcoming:
            return
        session_id = upcoming[pick % len(upcoming)]
        if door == "api":
            self.api.post(f"/api/v1/sessions/{session_id}/cancel", json={"reason": "party_request"})
        else:
            self.staff.post(f"/sessions/{session_id}/cancel", {"reason": "party_request"})

    @rule(move=st.sampled_from([("paused", "facilitator_stop"), ("paused", "other"), ("closed", "not_suitable"),
                                ("closed", "safety"), ("preparation", None), ("ready", None), ("screening", None)]),
          door=DOORS)
    def transition(self, move, door):
        """Pause, close, go back to preparation, get ready again, or reopen after a withdrawal."""
        to, reason = move
        body = {"to": to, "reason": reason} if reason else {"to": to}
        if door == "api":
            self.api.post(self.url("/transitions"), json=body)
        else:
            self.staff.post(f"/referrals/{self.referral_id}/transitions", body)

    @rule(door=DOORS)
    def resume(self, door):
        """A coordinator resumes a paused referral where it stood (a new assessment first, if an incident)."""
        self.api.post(self.url("/risk-assessments"), json={"answers": LOW_RISK, "summary": "Fictional."})
        with self.app.app_context():
            paused_from = db.session.get(Referral, self.referral_id).paused_from
        if paused_from:
            self.transition((RESUME_TO.get(paused_from, paused_from), None), door)

    @rule(party=PARTIES, decision=st.sampled_from(["granted", "withdrawn"]))
    def staff_records_consent(self, party, decision):
        self.api.post(self.url("/consent"), json={"party": party, "scope": "participation", "decision": decision,
                                                  "method": "in_person", "information_version": "v1"})

    @rule(kind=st.sampled_from(["threat", "retaliation", "contact_violation", "other"]))
    def staff_records_an_incident(self, kind):
        self.api.post(self.url("/safety-incidents"), json={"kind": kind, "description": "Fictional."})

    # Rules: the parties through the portal ------------------------------------------------------------------------

    @rule(party=PARTIES, decision=st.sampled_from(["granted", "withdrawn"]),
          scope=st.sampled_from(["participation", "contact_other_party"]))
    def party_decides(self, party, decision, scope):
        if party == "responsible_party" and scope == "contact_other_party":
            return
        phone = self.phone(party)
        if phone is not None:
            phone.post(f"/portal/consent/{scope}", {"decision": decision, "sheet_version": "v1",
                                                    "sheet_language": "es" if party == "survivor" else "en"},
                       page_url=f"/portal/consent/{scope}")

    @rule(party=PARTIES, answer=st.sampled_from(["confirm", "decline"]))
    def party_answers(self, party, answer):
        upcoming = self.upcoming_ids()
        phone = self.phone(party) if upcoming else None
        if phone is not None:
            phone.post(f"/portal/sessions/{upcoming[0]}/{answer}", page_url="/portal")

    @rule(party=PARTIES)
    def feels_unsafe(self, party):
        phone = self.phone(party)
        if phone is not None:
            phone.post("/portal/unsafe")

    # Rules: the scheduler ------------------------------------------------------------------------------------

    @rule(name=JOBS)
    def job_runs(self, name):
        with self.app.app_context():
            JOBS_BY_ID[name].run()

    # Invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def paused_or_closed_has_nothing_booked(self):
        if not hasattr(self, "referral_id"):
            return
        with self.app.app_context():
            referral = db.session.get(Referral, self.referral_id)
            if referral.status not in ("paused", "closed"):
                return
            now = clock.now()
            reserved = db.session.execute(select(Reservation.id).join(ScheduledSession).where(
                ScheduledSession.referral_id == self.referral_id, Reservation.active.is_(True),
                Reservation.ends_at > now)).all()
        assert self.upcoming_ids() == [], referral.status
        assert reserved == [], referral.status

    @invariant()
    def a_withdrawn_party_has_no_upcoming_session(self):
        if not hasattr(self, "referral_id"):
            return
        with self.app.app_context():
            referral = db.session.get(Referral, self.referral_id)
            overview = consent_overview(referral)
            withdrawn = {role for role in ("survivor", "responsible_party")
                         if overview[role]["participation"].status == "withdrawn"}
            booked = db.session.execute(select(ScheduledSession.kind).where(
                ScheduledSession.referral_id == self.referral_id, ScheduledSession.status.in_(UPCOMING),
                ScheduledSession.starts_at > clock.now())).scalars().all()
        for kind in booked:
            assert not withdrawn & set(PARTIES_OF[kind]), (kind, withdrawn)

    @invariant()
    def every_prosecutor_surface_shows_the_same_stage(self):
        if not hasattr(self, "referral_id"):
            return
        with self.app.app_context():
            referral = db.session.get(Referral, self.referral_id)
            expected, docket, reference = prosecution_stage(referral), referral.case.docket_number, referral.reference
        assert expected != "paused"
        case = self.prosecution.get(f"/api/v1/prosecution/cases/{docket}").get_json()
        seen = {
            "case": case["referrals"][0]["stage"],
            "referral": self.prosecution.get(self.url()).get_json()["stage"],
            "list": self.prosecution.get(f"/api/v1/referrals?q={reference}").get_json()["items"][0]["stage"],
        }
        assert set(seen.values()) == {expected}, seen
        newest_cases = f"/prosecution?page={-(-self.cases // CASES_PER_PAGE)}"  # dockets sort in the order made
        for page_url in (f"/referrals?q={reference}", f"/referrals/{self.referral_id}", newest_cases,
                         f"/prosecution/cases/{docket}"):
            page = self.reader.get(page_url).get_data(as_text=True)
            assert reference in page, page_url
            shown = {stage for stage, label in STAGE_LABELS.items()
                     if re.search(rf">\s*{re.escape(label)}\s*<", part_about(page, reference))}
            assert shown == {expected}, (page_url, shown, expected)

    @invariant()
    def nobody_is_told_twice_about_one_cancellation(self):
        if not hasattr(self, "referral_id"):
            return
        with self.app.app_context():
            messages = db.session.execute(select(OutboxMessage).where(
                OutboxMessage.referral_id == self.referral_id,
                OutboxMessage.template == "appointment_cancelled")).scalars().all()
            invited = {(str(session_id), party_id) for session_id, party_id in db.session.execute(
                select(SessionParticipant.session_id, SessionParticipant.party_id).join(ScheduledSession).where(
                    ScheduledSession.referral_id == self.referral_id, ScheduledSession.status == "cancelled"))}
        told = Counter((message.idempotency_key.split(":")[1], message.recipient_id, message.channel)
                       for message in messages)
        assert all(count == 1 for count in told.values()), told
        assert all((session_id, recipient) in invited for session_id, recipient, _channel in told), (told, invited)


def part_about(page: str, reference: str) -> str:
    """The table row that names the reference, or the whole page when it is not a table of several."""
    rows = [row for row in re.findall(r"<tr>.*?</tr>", page, re.S) if reference in row]
    return rows[0] if rows else page


def test_no_sequence_of_actions_breaks_the_invariants(app, factory, api, browser):
    """Bounded: a fixed number of short random runs, so the whole suite stays well inside CI's time."""
    # One token per role serves every run: hundreds of API requests a minute, past a real client's budget.
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    people = {"coordinator": coordinator, "prosecutor": prosecutor, "api": api(coordinator),
              "prosecution": api(prosecutor), "staff": browser(coordinator), "reader": browser(prosecutor), "cases": 0}
    run_state_machine_as_test(
        lambda: ReferralLife(app, factory, people),
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
