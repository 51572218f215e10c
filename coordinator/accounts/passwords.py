"""Passwords: what a new one must be (OWASP ASVS 5.0 V6.2), changing one's own, and an admin's temporary one."""

from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path

from flask_babel import gettext as _

from coordinator import clock
from coordinator.accounts.hashing import password_hasher, password_matches
from coordinator.accounts.models import SYSTEM, Actor, Role, User
from coordinator.accounts.sessions import end_all_sessions, start_session
from coordinator.audit.service import record
from coordinator.db import atomic
from coordinator.errors import Forbidden, InvalidRequest

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
# zxcvbn's score runs from 0 (guessed at once) to 4 (very hard); 3 is "safely unguessable" for an online attacker
# who is also throttled (coordinator/accounts/throttling.py).
MIN_STRENGTH = 3
SERVICE_NAMES = ("circlekeeper",)
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# zxcvbn's run time grows with length; what lies beyond this many characters no longer changes its verdict.
STRENGTH_CHECK_LENGTH = 64
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the most common leaked passwords (tools/common_passwords.py writes it)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _personal_words(email: str, name: str) -> list[str]:
    words = [email.lower(), email.lower().partition("@")[0], *name.lower().split(), *SERVICE_NAMES]
    return [word for word in words if len(word) >= 3]


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Why a new password is refused; an empty list when it is good enough."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [_("Use at least %(count)d characters.", count=PASSWORD_MIN_LENGTH)]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [_("Use at most %(count)d characters.", count=PASSWORD_MAX_LENGTH)]
    lowered = password.lower()
    if lowered in common_passwords() or _EDGES.sub("", lowered) in common_passwords():
        return [_("This password is on a list of commonly used passwords. Choose another.")]
    if any(word in lowered for word in _personal_words(email, name)):
        return [_("Do not use your name, your email address or the name of the service in your password.")]
    from zxcvbn import zxcvbn  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    strength = zxcvbn(password[:STRENGTH_CHECK_LENGTH], user_inputs=_personal_words(email, name))
    if strength["score"] < MIN_STRENGTH:
        return [_("This password is too easy to guess. Add a few more uncommon words.")]
    return []


def check_new_password(user: User, password: str, field: str = "new_password") -> None:
    """Raise InvalidRequest, on `field`, when `password` is not good enough for this user."""
    if problems := password_problems(password, email=user.email, name=user.name or ""):
        raise InvalidRequest(_("Check the highlighted fields."), {field: problems})


def store_password(user: User, password: str, *, must_change: bool) -> None:
    """Keep the new password's hash; every live session of the account ends."""
    user.password_hash = password_hasher().hash(password)
    user.password_changed_at = clock.now()
    user.must_change_password = must_change
    end_all_sessions(user, "password_changed")


@atomic
def change_password(user: User, current_password: str, new_password: str) -> str:
    """Replace one's own password, end every live session and open a fresh one for this browser."""
    fields: dict[str, list[str]] = {}
    if not password_matches(user, current_password):
        fields["current_password"] = [_("This is not your current password.")]
    if problems := password_problems(new_password, email=user.email, name=user.name or ""):
        fields["new_password"] = problems
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    store_password(user, new_password, must_change=False)
    record(user, "user.password_change", user)
    return start_session(user)


@atomic
def replace_first_password(user: User, new_password: str, confirmation: str) -> str:
    """The forced change after a first or temporary password: the person just proved the old one at sign-in."""
    if not user.must_change_password:
        raise InvalidRequest(_("Your password does not need to be changed."))
    if new_password != confirmation:
        raise InvalidRequest(_("Check the highlighted fields."),
                             {"confirmation": [_("The two passwords are not the same.")]})
    check_new_password(user, new_password)
    if password_matches(user, new_password):
        raise InvalidRequest(_("Check the highlighted fields."),
                             {"new_password": [_("Choose a password other than the one you were given.")]})
    store_password(user, new_password, must_change=False)
    record(user, "user.password_change", user, details={"forced": True})
    return start_session(user)


@atomic
def set_temporary_password(actor: Actor, user: User, password: str | None = None) -> str | None:
    """An admin gives the account a temporary password, to be changed at the next sign-in; returns it if it was
    generated. Every live session of the account ends."""
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    generated = None
    if password:
        check_new_password(user, password, field="password")
    else:
        password = generated = generate_password()
    store_password(user, password, must_change=True)
    record(actor, "user.password_reset_by_admin", user)
    return generated


def generate_password() -> str:
    """A random first or temporary password, long enough to pass the policy with room to spare."""
    return secrets.token_urlsafe(15)
