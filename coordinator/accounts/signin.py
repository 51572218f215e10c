"""Signing in: the password step, then, for an account with a second factor, the code step.

Each step is throttled (coordinator/accounts/throttling.py) and every failure is audited (OWASP ASVS 5.0 V16.3.1).
A password alone never counts as a complete sign-in for an account with a second factor: the counters start again
only after the last step, so knowing the password does not buy fresh guesses at the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from coordinator.accounts import mfa, throttling
from coordinator.accounts.hashing import password_matches
from coordinator.accounts.models import ANONYMOUS, User
from coordinator.accounts.resets import end_pending_resets
from coordinator.accounts.service import find_user_by_email
from coordinator.accounts.sessions import start_session
from coordinator.accounts.throttling import Attempt
from coordinator.audit.service import record
from coordinator.db import atomic

PENDING_CODE_MINUTES = 5  # how long the code step waits after a right password


class Outcome(StrEnum):
    """How a sign-in step ended."""

    signed_in = "signed_in"
    code_needed = "code_needed"
    refused = "refused"
    throttled = "throttled"


@dataclass(frozen=True)
class StepResult:
    """A step's outcome; the user once the password was right, the session token once signed in, the wait when
    throttled."""

    outcome: Outcome
    user: User | None = None
    token: str | None = None
    wait: timedelta | None = None


def _throttled(attempt: Attempt, step: str, user: User | None = None) -> StepResult | None:
    wait = throttling.wait_before(attempt)
    if wait is None:
        return None
    record(ANONYMOUS, "auth.login_throttled", user, details={"step": step})
    return StepResult(Outcome.throttled, wait=wait)


def _finish(user: User, attempt: Attempt) -> StepResult:
    throttling.count_success(attempt)
    end_pending_resets(user, "signed_in")
    return StepResult(Outcome.signed_in, user=user, token=start_session(user))


@atomic
def check_password(email: str, password: str, address: str) -> StepResult:
    """The first step; the password is checked only if the client need not wait."""
    attempt = Attempt(email, address)
    if throttled := _throttled(attempt, "password"):
        return throttled
    user = find_user_by_email(email) if email else None
    verified = password_matches(user, password)
    if user is None or not verified or not user.active:
        # Unknown addresses are audited too, without the address; checking a dummy hash for them keeps known and
        # unknown addresses from answering at different speeds.
        reason = "unknown_account" if user is None else "inactive" if verified else "password"
        record(ANONYMOUS, "auth.login_failed", user, details={"reason": reason})
        throttling.count_failure(attempt)
        return StepResult(Outcome.refused)
    if user.mfa_enabled:
        return StepResult(Outcome.code_needed, user=user)
    return _finish(user, attempt)


@atomic
def check_code(user: User, code: str, address: str) -> StepResult:
    """The second step: a TOTP code or a recovery code, for the account whose password was just right."""
    attempt = Attempt(user.email, address)
    if throttled := _throttled(attempt, "code", user):
        return throttled
    if not user.active or not user.mfa_enabled or not (kind := mfa.verify_second_factor(user, code or "")):
        record(ANONYMOUS, "auth.login_failed", user, details={"reason": "code"})
        throttling.count_failure(attempt)
        return StepResult(Outcome.refused)
    result = _finish(user, attempt)
    record(user, "auth.second_factor", user, details={"kind": kind})
    return result
