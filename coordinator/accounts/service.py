"""Staff accounts: creation, what an admin edits (name, role, language), deactivation, and finding accounts.

Signing in is `signin.py`; live sessions `sessions.py`; API tokens `tokens.py`; passwords `passwords.py`; the second
factor `mfa.py`; emailed reset links `resets.py`; attempt counting `throttling.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock

# Re-exported: the other domains, the jobs and the benchmarks reach these through the accounts service.
from coordinator.accounts.hashing import password_hasher as password_hasher
from coordinator.accounts.hashing import sha256_hex as sha256_hex
from coordinator.accounts.models import SYSTEM, Actor, Role, User
from coordinator.accounts.passwords import generate_password, password_problems
from coordinator.accounts.sessions import end_all_sessions, revoke_all_tokens
from coordinator.accounts.sessions import expire_stale_access as expire_stale_access
from coordinator.accounts.sessions import resume_session as resume_session
from coordinator.accounts.tokens import authenticate_token as authenticate_token
from coordinator.accounts.tokens import issue_token as issue_token
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.pagination import Page, paginate

T = TypeVar("T")


def normalise_email(email: str) -> str:
    """Lower-case, trimmed; raises InvalidRequest when it is not an address."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        message = _("Enter a valid email address.")
        raise InvalidRequest.field(_("Check the highlighted fields."), "email", message) from None


def find_user_by_email(email: str) -> User | None:
    """The account with this address, active or not."""
    return db.session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def _require_admin(actor: Actor) -> None:
    if actor is not SYSTEM and not actor.has_role(Role.admin):
        raise Forbidden(_("Only administrators manage accounts."))


def load_user(actor: Actor, user_id: uuid.UUID | str) -> User:
    """A user an admin may manage; others get NotFound."""
    if not actor.has_role(Role.admin):
        raise NotFound(_("Not found."))
    try:
        user = db.session.get(User, user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id)))
    except ValueError:
        user = None
    if user is None:
        raise NotFound(_("Not found."))
    return user


def _profile_problems(name: str, role: str, language: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if role not in Role.__members__:
        fields["role"] = [_("Choose a role.")]
    if not name or not name.strip() or len(name) > 120:
        fields["name"] = [_("Enter a name of up to 120 characters.")]
    if language not in current_app.config["LANGUAGES"]:
        fields["language"] = [_("Choose a language.")]
    return fields


@atomic
def create_user(actor: Actor, *, email: str, role: str, name: str, password: str | None = None,
                language: str = "en", must_change: bool = False) -> tuple[User, str | None]:
    """Create a staff account; returns it and the generated password when none was given.

    `must_change` marks a password an admin set in the pages: it is replaced at the first sign-in (docs/api.md).
    """
    _require_admin(actor)
    fields: dict[str, list[str]] = {}
    try:
        email = normalise_email(email)
    except InvalidRequest as error:
        fields.update(error.details)
    fields.update(_profile_problems(name, role, language))
    generated = None
    if not password:
        password = generated = generate_password()
    elif problems := password_problems(password, email=email, name=name or ""):
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
        must_change_password=must_change,
    )
    user.name = name.strip()
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", user, details={"role": role})
    return user, generated


@atomic
def update_user(actor: Actor, user: User, *, name: str, role: str, language: str) -> None:
    """An admin corrects a name, a language or a role. A new role ends the person's live sessions and revokes
    their API tokens, so nothing keeps acting with the old role's reach."""
    _require_admin(actor)
    fields = _profile_problems(name, role, language)
    if role != user.role and actor.id == user.id:
        fields["role"] = [_("You cannot change your own role.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    changed = [field for field, old, new in (("name", user.name, name.strip()), ("role", user.role, role),
                                             ("language", user.language, language)) if old != new]
    if not changed:
        return
    details: dict[str, object] = {"fields": changed}
    if "role" in changed:
        details.update(old_role=user.role, role=role, sessions_ended=end_all_sessions(user, "role_changed"),
                       tokens_revoked=revoke_all_tokens(user))
    user.name, user.role, user.language = name.strip(), role, language
    record(actor, "user.update", user, details=details)


@atomic
def set_language(user: User, language: str) -> None:
    """Remember the staff member's language for pages and messages."""
    if language in current_app.config["LANGUAGES"]:
        user.language = language


@atomic
def deactivate_user(actor: Actor, user: User) -> None:
    """Stop an account: its live sessions end and its tokens are revoked at once."""
    _require_admin(actor)
    if actor.id == user.id:
        raise InvalidRequest(_("You cannot deactivate your own account."))
    if not user.active:
        return
    user.active = False
    user.deactivated_at = clock.now()
    end_all_sessions(user, "deactivated")
    revoke_all_tokens(user)
    record(actor, "user.deactivate", user)


@atomic
def reactivate_user(actor: Actor, user: User) -> None:
    """Let a deactivated account sign in again (its old sessions and tokens stay dead)."""
    _require_admin(actor)
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
