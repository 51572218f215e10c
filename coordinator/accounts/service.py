"""Staff accounts: creation, sign-in, live sessions, passwords, deactivation and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from coordinator import clock
from coordinator.accounts.models import ANONYMOUS, SYSTEM, Actor, ApiToken, Role, StaffSession, User
from coordinator.audit.service import record
from coordinator.db import atomic, db, execute_counted
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.pagination import Page, paginate

T = TypeVar("T")

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
TOKEN_PREFIX = "ck_"  # nosec B105 # the public prefix that marks a string as an API token, not a secret
TOUCH_INTERVAL = timedelta(minutes=1)
COMMON_PASSWORDS = frozenset(
    {"password1234", "123456789012", "qwertyuiopas", "circlekeeper", "letmein12345", "welcome12345"}
)


def password_hasher() -> PasswordHasher:
    """The app's argon2id hasher, built once from its configuration."""
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["password_hasher"] = hasher
        current_app.extensions["dummy_password_hash"] = hasher.hash(secrets.token_urlsafe(16))
    return hasher


def sha256_hex(secret: str) -> str:
    """How secrets (session and API tokens) are stored: their SHA-256, never themselves."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    """Lower-case, trimmed; raises InvalidRequest when it is not an address."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        message = _("Enter a valid email address.")
        raise InvalidRequest.field(_("Check the highlighted fields."), "email", message) from None


def password_problems(password: str, email: str = "") -> list[str]:
    """Why a new password is refused (OWASP ASVS 5.0 V6.2): length and the obvious guesses only."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(_("Use at least %(count)d characters.", count=PASSWORD_MIN_LENGTH))
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(_("Use at most %(count)d characters.", count=PASSWORD_MAX_LENGTH))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (email and lowered == email.lower()) or len(set(password)) < 4:
        problems.append(_("This password is too easy to guess."))
    return problems


def find_user_by_email(email: str) -> User | None:
    """The account with this address, active or not."""
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def load_user(actor: Actor, user_id: uuid.UUID | str) -> User:
    """A user an admin may manage; others get NotFound."""
    if not actor.has_role(Role.admin):
        raise NotFound(_("Not found."))
    user = _get(User, user_id)
    if user is None:
        raise NotFound(_("Not found."))
    return user


def _get(model: type[T], row_id: uuid.UUID | str) -> T | None:
    try:
        return db.session.get(model, row_id if isinstance(row_id, uuid.UUID) else uuid.UUID(str(row_id)))
    except ValueError:
        return None


@atomic
def create_user(actor: Actor, *, email: str, role: str, name: str, password: str | None = None,
                language: str = "en") -> tuple[User, str | None]:
    """Create a staff account; returns it and the generated password when none was given."""
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    fields: dict[str, list[str]] = {}
    try:
        email = normalise_email(email)
    except InvalidRequest as error:
        fields.update(error.details)
    if role not in Role.__members__:
        fields["role"] = [_("Choose a role.")]
    if not name or not name.strip() or len(name) > 120:
        fields["name"] = [_("Enter a name of up to 120 characters.")]
    if language not in current_app.config["LANGUAGES"]:
        fields["language"] = [_("Choose a language.")]
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(15)
    elif problems := password_problems(password, email):
        fields["password"] = problems
    if "email" not in fields and find_user_by_email(email):
        fields["email"] = [_("An account with this email address already exists.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    now = clock.now()
    user = User(
        email=email,
        role=role,
        password_hash=password_hasher().hash(password),
        language=language,
        created_at=now,
        password_changed_at=now,
    )
    user.name = name.strip()
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", user, details={"role": role})
    return user, generated


def sign_in(email: str, password: str) -> User | None:
    """Check credentials in constant-ish time; returns the user, or None (and audits the failure)."""
    hasher = password_hasher()
    user = find_user_by_email(email) if email else None
    try:
        hasher.verify(user.password_hash if user else current_app.extensions["dummy_password_hash"], password)
        verified = user is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if user is None or not verified or not user.active:
        # Every failed attempt is logged (OWASP ASVS 5.0 V16.3.1), unknown addresses too but without the address;
        # it also keeps known and unknown addresses from answering at different speeds.
        reason = "unknown_account" if user is None else "inactive" if verified else "password"
        record(ANONYMOUS, "auth.login_failed", user, details={"reason": reason})
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


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
    staff_session = db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == sha256_hex(token), StaffSession.ended_at.is_(None))
    ).scalar_one_or_none()
    if staff_session is None or str(staff_session.user_id) != user_id:
        return None
    now = clock.now()
    config = current_app.config
    if now - staff_session.last_seen_at > config["SESSION_IDLE_TIMEOUT"]:
        _end(staff_session, "idle", now)
        return None
    if now - staff_session.started_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        _end(staff_session, "expired", now)
        return None
    user = db.session.get(User, staff_session.user_id)
    if user is None or not user.active:
        _end(staff_session, "deactivated", now)
        return None
    if now - staff_session.last_seen_at > TOUCH_INTERVAL:
        staff_session.last_seen_at = now
    return user


def _end(staff_session: StaffSession, reason: str, now: datetime) -> None:
    staff_session.ended_at = now
    staff_session.end_reason = reason


@atomic
def end_session(user: User, token: str | None) -> None:
    """Sign one browser out: its cookie is refused from now on, even if replayed."""
    if not token:
        return
    staff_session = db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == sha256_hex(token), StaffSession.ended_at.is_(None))
    ).scalar_one_or_none()
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


@atomic
def change_password(user: User, current_password: str, new_password: str) -> str:
    """Replace the password, end every live session and open a fresh one for this browser."""
    fields: dict[str, list[str]] = {}
    try:
        password_hasher().verify(user.password_hash, current_password)
    except (VerificationError, InvalidHashError):
        fields["current_password"] = [_("This is not your current password.")]
    if problems := password_problems(new_password, user.email):
        fields["new_password"] = problems
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    user.password_hash = password_hasher().hash(new_password)
    user.password_changed_at = clock.now()
    end_all_sessions(user, "password_changed")
    record(user, "user.password_change", user)
    return start_session(user)


@atomic
def set_language(user: User, language: str) -> None:
    """Remember the staff member's language for pages and messages."""
    if language in current_app.config["LANGUAGES"]:
        user.language = language


@atomic
def deactivate_user(actor: Actor, user: User) -> None:
    """Stop an account: its live sessions end and its tokens are revoked at once."""
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    if actor.id == user.id:
        raise InvalidRequest(_("You cannot deactivate your own account."))
    if not user.active:
        return
    now = clock.now()
    user.active = False
    user.deactivated_at = now
    end_all_sessions(user, "deactivated")
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    record(actor, "user.deactivate", user)


@atomic
def reactivate_user(actor: Actor, user: User) -> None:
    """Let a deactivated account sign in again (its old sessions and tokens stay dead)."""
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    if user.active:
        return
    user.active = True
    user.deactivated_at = None
    record(actor, "user.reactivate", user)


def list_users(actor: Actor, page: int | None = None, per_page: int | None = None) -> Page:
    """Every account, for administrators."""
    if not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))
    return paginate(select(User).order_by(User.role, User.email), page, per_page)


@atomic
def issue_token(actor: Actor, user: User, label: str, expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    """Create an API token; the plaintext is returned once and never stored."""
    if actor is not SYSTEM and actor.id != user.id:
        raise Forbidden(_("You can only create tokens for yourself."))
    label = (label or "").strip()
    if not label or len(label) > 80:
        raise InvalidRequest.field(_("Check the highlighted fields."), "label",
                                   _("Name the token in up to 80 characters."))
    if not user.active:
        raise InvalidRequest(_("This account is deactivated."))
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        user_id=user.id,
        label=label,
        prefix=plaintext[:10],
        token_hash=sha256_hex(plaintext),
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    db.session.add(token)
    db.session.flush()
    record(actor, "token.issue", token)
    return token, plaintext


def user_tokens(user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    return list(db.session.execute(query).scalars())


@atomic
def revoke_token(actor: Actor, token_id: uuid.UUID | str) -> ApiToken:
    """Revoke a token at once; only its owner or an administrator may."""
    token = _get(ApiToken, token_id)
    if token is None or (actor.id != token.user_id and not actor.has_role(Role.admin)):
        raise NotFound(_("Not found."))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        record(actor, "token.revoke", token)
    return token


def authenticate_token(plaintext: str) -> User | None:
    """The user behind a bearer token, or None when it is unknown, revoked, expired or its owner stopped."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == sha256_hex(plaintext))
    ).scalar_one_or_none()
    now = clock.now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        token.last_used_at = now
    return user


def users_by_id(ids: Iterable[object]) -> dict[str, User]:
    """Users keyed by their id as text, in one query; unknown and empty ids are skipped."""
    keys = set()
    for value in ids:
        try:
            keys.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    if not keys:
        return {}
    return {str(user.id): user for user in db.session.execute(select(User).where(User.id.in_(keys))).scalars()}


def expire_stale_access() -> tuple[int, int]:
    """End sessions past their idle or absolute limit and revoke expired tokens; returns both counts."""
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
    return ended, revoked
