"""Live staff sessions: one row per signed-in browser, ended on sign-out, idleness, age or a security change."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from coordinator import clock
from coordinator.accounts.hashing import sha256_hex
from coordinator.accounts.models import ApiToken, StaffSession, User
from coordinator.accounts.throttling import prune_throttles
from coordinator.audit.service import record
from coordinator.db import atomic, db, execute_counted

TOUCH_INTERVAL = timedelta(minutes=1)


@atomic
def start_session(user: User) -> str:
    """Open a live session for a signed-in browser; returns the token its cookie carries."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    staff_session = StaffSession(user_id=user.id, token_hash=sha256_hex(token), started_at=now, last_seen_at=now)
    db.session.add(staff_session)
    db.session.flush()
    record(user, "auth.login", staff_session)
    return token


def resume_session(user_id: str, token: str | None) -> User | None:
    """The user behind a session cookie, or None once it ended, idled out or outlived its maximum age."""
    if not token:
        return None
    # The session and its user in one round trip: this runs before every signed-in page.
    found = db.session.execute(
        select(StaffSession, User).join(User, User.id == StaffSession.user_id)
        .where(StaffSession.token_hash == sha256_hex(token), StaffSession.ended_at.is_(None))
    ).one_or_none()
    if found is None or str(found[0].user_id) != user_id:
        return None
    staff_session, user = found
    now = clock.now()
    config = current_app.config
    if now - staff_session.last_seen_at > config["SESSION_IDLE_TIMEOUT"]:
        _end(staff_session, "idle", now)
        return None
    if now - staff_session.started_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        _end(staff_session, "expired", now)
        return None
    if not user.active:
        _end(staff_session, "deactivated", now)
        return None
    if now - staff_session.last_seen_at > TOUCH_INTERVAL:
        staff_session.last_seen_at = now
    return user


def _live(token: str) -> StaffSession | None:
    return db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == sha256_hex(token), StaffSession.ended_at.is_(None))
    ).scalar_one_or_none()


def _end(staff_session: StaffSession, reason: str, now: datetime) -> None:
    staff_session.ended_at = now
    staff_session.end_reason = reason


@atomic
def end_session(user: User, token: str | None) -> None:
    """Sign one browser out: its cookie is refused from now on, even if replayed."""
    if not token:
        return
    staff_session = _live(token)
    if staff_session is not None:
        _end(staff_session, "logout", clock.now())
        record(user, "auth.logout", staff_session)


def end_all_sessions(user: User, reason: str) -> int:
    """End every live session of a user; returns how many ended."""
    return execute_counted(
        update(StaffSession)
        .where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=reason)
        .execution_options(synchronize_session=False)
    )


def revoke_all_tokens(user: User) -> int:
    """Revoke every live API token of a user; returns how many."""
    return execute_counted(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def expire_stale_access() -> tuple[int, int]:
    """End sessions past their idle or absolute limit, revoke expired tokens and forget old sign-in failures;
    returns how many sessions ended and how many tokens were revoked."""
    now = clock.now()
    config = current_app.config
    ended = execute_counted(
        update(StaffSession)
        .where(StaffSession.ended_at.is_(None),
               (StaffSession.last_seen_at < now - config["SESSION_IDLE_TIMEOUT"])
               | (StaffSession.started_at < now - config["SESSION_ABSOLUTE_TIMEOUT"]))
        .values(ended_at=now, end_reason="expired")
        .execution_options(synchronize_session=False)
    )
    revoked = execute_counted(
        update(ApiToken)
        .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at.is_not(None), ApiToken.expires_at <= now)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    prune_throttles()
    return ended, revoked
