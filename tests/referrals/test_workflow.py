"""The status machine, pinned move by move against docs/design.md section 2."""

from __future__ import annotations

import itertools

import pytest

from coordinator.accounts.models import Role
from coordinator.referrals.models import Referral, ReferralStatus
from coordinator.referrals.workflow import allowed_move, resume_target

S = ReferralStatus
ACTIVE = [S.received, S.screening, S.preparation, S.ready, S.circle_scheduled, S.circle_held, S.monitoring]
STAFF = {Role.coordinator, Role.facilitator}
COORDINATORS = {Role.coordinator}
EXPECTED = {
    (S.received, S.screening): STAFF,
    (S.screening, S.preparation): STAFF,
    (S.preparation, S.ready): STAFF,
    (S.ready, S.preparation): STAFF,
    (S.ready, S.circle_scheduled): set(),
    (S.circle_scheduled, S.ready): set(),
    (S.circle_scheduled, S.circle_held): set(),
    (S.circle_held, S.monitoring): set(),
    (S.monitoring, S.completed): set(),
    **{(source, S.paused): STAFF for source in ACTIVE},
    **{(source, S.closed): COORDINATORS for source in [*ACTIVE, S.paused]},
}


@pytest.mark.parametrize(("source", "target"), list(itertools.product(S, S)))
def test_every_pair_of_statuses(source, target):
    """Exactly the moves of the design exist, with exactly their roles (empty: made by a service)."""
    referral = Referral(status=source, paused_from=S.screening if source == S.paused else None)
    move = allowed_move(referral, target)
    if source == S.paused and target == S.screening:
        assert move is not None and set(move.roles) == COORDINATORS
    elif (source, target) in EXPECTED:
        assert move is not None, f"{source} -> {target} should be allowed"
        assert set(move.roles) == EXPECTED[(source, target)]
    else:
        assert move is None, f"{source} -> {target} should not exist"


@pytest.mark.parametrize(
    ("paused_from", "resumes_to"),
    [(S.received, S.received), (S.screening, S.screening), (S.preparation, S.preparation),
     (S.ready, S.preparation), (S.circle_scheduled, S.preparation), (S.circle_held, S.circle_held),
     (S.monitoring, S.monitoring)],
)
def test_resume_target(paused_from, resumes_to):
    """A pause returns to where it stood, except that a bookable or booked circle is prepared again."""
    assert resume_target(Referral(status=S.paused, paused_from=paused_from)) == resumes_to


@pytest.mark.parametrize("reason_target", [S.paused, S.closed])
def test_pausing_and_closing_take_reason_codes(reason_target):
    """Both need a reason code from their fixed list."""
    move = allowed_move(Referral(status=S.screening), reason_target)
    assert move.reasons
    assert all(isinstance(code, str) for code in move.reasons)


def test_terminal_states_have_no_way_out():
    """Completed and closed are the end."""
    for terminal in (S.completed, S.closed):
        assert all(allowed_move(Referral(status=terminal), target) is None for target in S)
