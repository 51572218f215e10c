"""The TOTP second factor (RFC 6238) and its one-time recovery codes (OWASP ASVS 5.0 V6.5, V6.6).

Admins, coordinators and prosecutors must use it while COORDINATOR_REQUIRE_MFA is on; facilitators may. The secret is
encrypted at rest (`sealed`), a code is accepted once (the last time step used is remembered), and each of the ten
recovery codes works once and is kept only as a salted SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Actor, RecoveryCode, Role, User
from coordinator.accounts.sessions import end_all_sessions
from coordinator.audit.service import record
from coordinator.db import atomic, db, execute_counted
from coordinator.errors import Conflict, Forbidden, InvalidRequest

MFA_ROLES = (Role.admin, Role.coordinator, Role.prosecutor)
ISSUER = "Circlekeeper"
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_CODE_LENGTH = 10
VALID_WINDOW = 1  # one 30-second step either side, for clocks that drift


def mfa_required(user: User) -> bool:
    """True when this person must sign in with a second factor."""
    return bool(current_app.config["REQUIRE_MFA"]) and user.has_role(*MFA_ROLES)


def needs_enrolment(user: User) -> bool:
    """True when a second factor is required and none is confirmed yet."""
    return mfa_required(user) and not user.mfa_enabled


def pending_secret(user: User) -> str:
    """The secret to enrol with: kept (encrypted) until a first code confirms it."""
    if user.mfa_enabled:
        raise Conflict(_("A second factor is already set up."))
    secret = user.mfa_secret
    if secret is None:
        secret = pyotp.random_base32()
        user.mfa_secret = secret
        db.session.flush()
    return secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    # One conditional UPDATE: of two requests replaying the same code at once, only one moves the step forward.
    claimed = execute_counted(
        update(User).where(User.id == user.id, or_(User.mfa_last_step.is_(None), User.mfa_last_step < step))
        .values(mfa_last_step=step).execution_options(synchronize_session=False)
    )
    if claimed:
        set_committed_value(user, "mfa_last_step", step)
    return bool(claimed)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _totp_accepted(user: User, code: str) -> bool:
    secret = user.mfa_secret
    if secret is None or not code.isdigit() or len(code) != 6:
        return False
    step = _matching_step(secret, code, clock.now())
    return step is not None and _claim_step(user, step)


@atomic
def confirm_enrolment(user: User, code: str) -> list[str]:
    """The first code from the app proves the secret arrived; returns the ten recovery codes, shown once."""
    secret = pending_secret(user)
    step = _matching_step(secret, _clean(code), clock.now())
    if step is None:
        raise InvalidRequest(_("Check the highlighted fields."),
                             {"code": [_("This code is not right. Enter the 6 digits your app shows now.")]})
    user.mfa_enabled_at = clock.now()
    user.mfa_last_step = step
    codes = _replace_recovery_codes(user)
    record(user, "user.mfa_enrol", user)
    return codes


@atomic
def enrol_from_command(user: User) -> tuple[str, list[str]]:
    """`users mfa-secret EMAIL`: a new, confirmed secret (replacing any other) and new recovery codes."""
    secret = pyotp.random_base32()
    user.mfa_secret = secret
    user.mfa_enabled_at = clock.now()
    user.mfa_last_step = None
    codes = _replace_recovery_codes(user)
    record(SYSTEM, "user.mfa_enrol", user, details={"by": "command"})
    return secret, codes


def verify_second_factor(user: User, code: str) -> str | None:
    """Accept a current TOTP code not used before, or an unused recovery code (which is then spent); returns which
    kind was accepted, or None."""
    code = _clean(code)
    if _totp_accepted(user, code):
        return "totp"
    if len(code) == RECOVERY_CODE_LENGTH and _spend_recovery_code(user, code):
        return "recovery_code"
    return None


def _hash_code(code: str, salt: str) -> str:
    return "sha256$" + salt + "$" + hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                       .execution_options(synchronize_session=False))
    now = clock.now()
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(code, secrets.token_hex(16)),
                                    created_at=now))
    db.session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _spend_recovery_code(user: User, code: str) -> bool:
    unused = db.session.execute(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalars()
    for row in unused:
        salt = row.code_hash.split("$")[1]
        if hmac.compare_digest(row.code_hash, _hash_code(code, salt)):
            spent = execute_counted(
                update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=clock.now()).execution_options(synchronize_session=False)
            )
            if spent:
                record(user, "user.recovery_code_used", user)
            return bool(spent)
    return False


def recovery_codes_left(user: User) -> int:
    """How many recovery codes the person still has."""
    return len(db.session.execute(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all())


@atomic
def new_recovery_codes(user: User, code: str) -> list[str]:
    """Ten fresh recovery codes in place of the old ones, against a current code from the app."""
    if not user.mfa_enabled or not _totp_accepted(user, _clean(code)):
        raise InvalidRequest(_("Check the highlighted fields."),
                             {"code": [_("This code is not right. Enter the 6 digits your app shows now.")]})
    codes = _replace_recovery_codes(user)
    record(user, "user.recovery_codes_renewed", user)
    return codes


@atomic
def reset_second_factor(actor: Actor, user: User) -> None:
    """An admin removes a person's second factor (a lost phone): they enrol again at their next sign-in, and every
    live session of theirs ends."""
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                       .execution_options(synchronize_session=False))
    end_all_sessions(user, "mfa_reset")
    record(actor, "user.mfa_reset", user)
