"""Random sequences of grants, withdrawals, invitations and clock moves, checked against a simple model."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.consent.queries import consent_overview
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.errors import GateFailed
from coordinator.portal.service import issue_link
from coordinator.referrals.models import Referral

PARTIES = ("survivor", "responsible_party")
SCOPES = ("participation", "contact_other_party", "share_outcome_with_court")
VALID = timedelta(days=90)


class Model:
    """What the status should be, computed the plain way: a list of events per party and scope."""

    def __init__(self):
        self.events: dict[tuple[str, str], list[tuple[str, datetime]]] = {}
        self.invited: set[str] = set()

    def status(self, party: str, scope: str, now: datetime) -> str:
        events = self.events.get((party, scope), [])
        if not events:
            return "pending" if party in self.invited else "not_requested"
        kind, at = events[-1]
        if kind == "withdrawn":
            return "withdrawn"
        return "expired" if at + VALID <= now else "granted"

    def contact_allowed(self, now: datetime) -> bool:
        return self.status("survivor", "contact_other_party", now) == "granted"


class ConsentMachine(RuleBasedStateMachine):
    """One referral per example; every step commits through the real services."""

    def __init__(self, app, factory):
        super().__init__()
        self.app = app
        coordinator = factory.user(Role.coordinator)
        referral = factory.referral(by=coordinator)
        self.context = app.app_context()
        self.context.push()
        self.actor = db.session.merge(coordinator)
        self.referral = db.session.get(Referral, referral.id)
        self.model = Model()

    def teardown(self):
        db.session.rollback()
        self.context.pop()

    @rule(party=st.sampled_from(PARTIES), scope=st.sampled_from(SCOPES),
          decision=st.sampled_from(("granted", "withdrawn")))
    def decide(self, party, scope, decision):
        """A decision recorded in person; the responsible party's grant waits for the survivor."""
        now = clock.now()
        gated = decision == "granted" and party == "responsible_party" and not self.model.contact_allowed(now)
        try:
            made = record_decision(self.actor, self.referral, party=party, scope=scope, decision=decision,
                                   method="in_person")
        except GateFailed:
            db.session.rollback()
            assert gated, "refused although the model allows it"
            return
        db.session.commit()
        assert not gated, "allowed although the survivor has not agreed to contact"
        self.model.events.setdefault((party, scope), []).append((decision, made.decided_at))

    @rule(party=st.sampled_from(PARTIES))
    def invite(self, party):
        """A handover link: the party is asked; the responsible party only after the survivor agrees."""
        gated = party == "responsible_party" and not self.model.contact_allowed(clock.now())
        try:
            issue_link(self.actor, self.referral, party, "handover")
        except GateFailed:
            db.session.rollback()
            assert gated
            return
        db.session.commit()
        assert not gated
        self.model.invited.add(party)

    @rule(days=st.integers(min_value=0, max_value=120))
    def time_passes(self, days):
        """Move the service clock forward."""
        clock.set_clock(clock.now() + timedelta(days=days, seconds=1))
        db.session.commit()

    @invariant()
    def matches_the_model(self):
        """Every party and scope has the status the model expects."""
        overview = consent_overview(self.referral)
        now = clock.now()
        for party in PARTIES:
            for scope in SCOPES:
                assert overview[party][scope].status.value == self.model.status(party, scope, now), (party, scope)


def test_derived_status_follows_the_model(app, factory):
    """The derived status agrees with the model after every step of every random sequence."""
    run_state_machine_as_test(
        lambda: ConsentMachine(app, factory),
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]),
    )
