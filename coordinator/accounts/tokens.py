"""API tokens: bearer secrets for the JSON API, stored only as their SHA-256."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from coordinator import clock
from coordinator.accounts.hashing import sha256_hex
from coordinator.accounts.models import SYSTEM, Actor, ApiToken, Role, User
from coordinator.accounts.sessions import TOUCH_INTERVAL
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound

TOKEN_PREFIX = "ck_"  # nosec B105 # the public prefix that marks a string as an API token, not a secret
# The token and its owner in one round trip. It runs before every API request, so it is built once: building a
# statement and its cache key costs more than running it.
_TOKEN_AND_OWNER = (select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash == bindparam("token_hash")))


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
    try:
        token = db.session.get(ApiToken, token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id)))
    except ValueError:
        token = None
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
    found = db.session.execute(_TOKEN_AND_OWNER, {"token_hash": sha256_hex(plaintext)}).one_or_none()
    if found is None:
        return None
    token, user = found
    now = clock.now()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now) or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        token.last_used_at = now
    return user
