"""The rollup counts consent from every party's decisions; the counts must agree with each referral's consent
overview, whatever happened (decisions in any order, expired grants, links without a decision)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from coordinator import clock
from coordinator.consent.models import PARTY_SCOPES
from coordinator.consent.queries import consent_overview
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.errors import GateFailed
from coordinator.portal.service import issue_link
from coordinator.referrals.models import PartyRole, Referral
from coordinator.statistics.rollup import rebuild_rollup
from coordinator.statistics.service import Ratio, programme_statistics

EVENTS = st.one_of(
    st.tuples(st.just("decide"), st.integers(0, 2), st.sampled_from(list(PartyRole)),
              st.sampled_from(["participation", "contact_other_party", "share_outcome_with_court"]),
              st.sampled_from(["granted", "withdrawn"]), st.integers(0, 200)),
    st.tuples(st.just("link"), st.integers(0, 2), st.sampled_from(list(PartyRole))),
)


@pytest.fixture
def programme(app, factory):
    """Three referrals and their coordinator; examples add decisions and links to them."""
    coordinator = factory.user("coordinator")
    return coordinator, [factory.referral(by=coordinator).id for _ in range(3)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, max_size=12))
def test_the_rates_agree_with_the_status_of_every_party(app, programme, events):
    """Decisions at any time in the last 200 days (grants last 90), links sent, in any order."""
    coordinator, referral_ids = programme
    with app.app_context():
        actor = db.session.merge(coordinator)
        now = clock.now()
        for event in events:
            referral = db.session.get(Referral, referral_ids[event[1]])
            if event[0] == "link":
                if event[2] == PartyRole.survivor:
                    issue_link(actor, referral, event[2], "handover")
                continue
            _kind, _index, party, scope, decision, days_ago = event
            if scope not in PARTY_SCOPES[party]:
                continue
            # The responsible party's grant before the survivor agreed to contact is refused.
            with clock.travel(now - timedelta(days=days_ago)), contextlib.suppress(GateFailed):
                record_decision(actor, referral, party=party, scope=scope, decision=decision, method="in_person")
        db.session.commit()
        rebuild_rollup()
        stats = programme_statistics(actor)
        referrals = db.session.execute(select(Referral)).scalars().all()
        expected: dict[tuple[str, str], list[int]] = {}
        for referral in referrals:
            overview = consent_overview(referral)
            for role in PartyRole:
                for scope in PARTY_SCOPES[role]:
                    state = overview[role.value][scope.value]
                    counts = expected.setdefault((role.value, scope.value), [0, 0])
                    counts[0] += state.granted
                    counts[1] += state.status != "not_requested"
    for (role, scope), (granted, asked) in expected.items():
        assert stats.consent(role, scope) == Ratio(granted, asked), (role, scope)
