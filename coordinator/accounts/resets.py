"""Password reset by an emailed, single-use link (OWASP ASVS 5.0 V6.4).

The link carries a random token of which only the SHA-256 is stored; it works for PASSWORD_RESET_MINUTES, once, and
stops working when a newer link is sent or the person signs in. Asking for one never tells whether the account
exists. The link travels encrypted in the outbox and is wiped once sent; log lines never show it
(coordinator/logs.py).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from coordinator import clock
from coordinator.accounts.hashing import sha256_hex
from coordinator.accounts.models import ANONYMOUS, Actor, PasswordReset, Role, User
from coordinator.accounts.passwords import check_new_password, store_password
from coordinator.accounts.service import find_user_by_email
from coordinator.audit.service import record
from coordinator.db import atomic, db, execute_counted
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.notifications.models import Channel
from coordinator.notifications.service import queue_message

RESET_PATH = "/password/reset/"
MAX_LINKS_PER_HOUR = 3  # per account: "Forgot password" cannot be used to flood someone's inbox


def reset_url(token: str) -> str:
    """The link as emailed, built from the configured base URL (never the request's Host)."""
    return current_app.config["COORDINATOR_BASE_URL"] + RESET_PATH + token


def end_pending_resets(user: User, reason: str) -> int:
    """Stop every reset link of this person that still works; returns how many."""
    return execute_counted(
        update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason).execution_options(synchronize_session=False)
    )


def _send_link(actor: Actor, user: User) -> PasswordReset:
    end_pending_resets(user, "superseded")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    reset = PasswordReset(user_id=user.id, token_hash=sha256_hex(token), created_at=now,
                          expires_at=now + timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"]))
    db.session.add(reset)
    db.session.flush()
    queue_message(Channel.email, "password_reset", recipient_kind="user", recipient_id=user.id,
                  key=f"password_reset:{reset.id}", link=reset_url(token))
    record(actor, "user.password_reset_link", reset)
    return reset


@atomic
def request_reset(email: str) -> None:
    """"Forgot password": email a link if an active account has this address. The caller always answers the same,
    whether or not one does."""
    user = find_user_by_email(email) if email and len(email) <= 254 else None
    if user is None or not user.active:
        record(ANONYMOUS, "user.password_reset_request", details={"sent": False})
        return
    recent = db.session.execute(
        select(func.count()).select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > clock.now() - timedelta(hours=1))
    ).scalar_one()
    if recent >= MAX_LINKS_PER_HOUR:
        record(ANONYMOUS, "user.password_reset_request", user, details={"sent": False, "reason": "too_many"})
        return
    _send_link(ANONYMOUS, user)


@atomic
def send_reset_link(actor: Actor, user: User) -> None:
    """An admin sends the person a reset link instead of a temporary password."""
    if not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    if not user.active:
        raise InvalidRequest(_("This account is deactivated."))
    _send_link(actor, user)


def find_reset(token: str | None) -> PasswordReset | None:
    """The reset behind a token while it still works (unused, unexpired, not replaced, account active)."""
    if not token or len(token) > 100:
        return None
    reset = db.session.execute(
        select(PasswordReset).where(PasswordReset.token_hash == sha256_hex(token), PasswordReset.ended_at.is_(None))
    ).scalar_one_or_none()
    if reset is None or reset.expires_at <= clock.now():
        return None
    user = db.session.get(User, reset.user_id)
    return reset if user is not None and user.active else None


@atomic
def complete_reset(token: str | None, new_password: str, confirmation: str) -> User:
    """Set the new password through a working link; the link is spent and every live session of the account ends."""
    reset = find_reset(token)
    if reset is None:
        raise NotFound(_("This link no longer works. Ask for a new one."))
    user = db.session.get(User, reset.user_id)
    assert user is not None  # nosec B101 # find_reset() returned a reset whose account exists
    if new_password != confirmation:
        raise InvalidRequest(_("Check the highlighted fields."),
                             {"confirmation": [_("The two passwords are not the same.")]})
    check_new_password(user, new_password)
    # Spent in one conditional UPDATE: of two submissions of the same link, only one gets through.
    if not execute_counted(update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.ended_at.is_(None))
                           .values(ended_at=clock.now(), end_reason="used")
                           .execution_options(synchronize_session=False)):
        raise NotFound(_("This link no longer works. Ask for a new one."))
    store_password(user, new_password, must_change=False)
    end_pending_resets(user, "superseded")
    record(ANONYMOUS, "user.password_reset", user)
    return user
