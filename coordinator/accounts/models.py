"""Staff accounts, their live sessions and their API tokens."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import Integer, String
from sqlmodel import Field, SQLModel

from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id


class Role(StrEnum):
    """What a staff member does in the programme; each role has its own scope."""

    admin = "admin"
    coordinator = "coordinator"
    facilitator = "facilitator"
    prosecutor = "prosecutor"


ROLE_LABELS: dict[str, LazyString] = {
    Role.admin: _l("Administrator"),
    Role.coordinator: _l("Coordinator"),
    Role.facilitator: _l("Facilitator"),
    Role.prosecutor: _l("Prosecutor"),
}


class User(SQLModel, table=True):
    """A staff member who signs in. Survivors and responsible parties never have one."""

    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(sa_type=String(254), unique=True, index=True)
    name_enc: str | None = Field(default=None, sa_type=String(512), nullable=False)
    role: str = Field(sa_type=String(16), index=True)
    password_hash: str = Field(sa_type=String(255))
    language: str = Field(default="en", sa_type=String(8))
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    password_changed_at: datetime = Field(sa_type=UTCDateTime)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A first password from an admin, or a temporary one after a reset by an admin, must be replaced at sign-in.
    must_change_password: bool = Field(default=False)
    # The TOTP second factor: the secret (encrypted), when it was confirmed, and the last time step accepted, so that
    # a code cannot be used twice within its window (OWASP ASVS 5.0 V6.5).
    mfa_secret_enc: str | None = Field(default=None, sa_type=String(512))
    mfa_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mfa_last_step: int | None = Field(default=None, sa_type=Integer)

    name = sealed("name_enc")
    mfa_secret = sealed("mfa_secret_enc")

    @property
    def mfa_enabled(self) -> bool:
        """True once a second factor has been confirmed."""
        return self.mfa_enabled_at is not None

    # Flask-Login's user protocol, written out because the mixin's class attributes clash with pydantic.
    @property
    def is_active(self) -> bool:
        """Deactivated staff cannot sign in or use tokens."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """A loaded user is always a signed-in user."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Never anonymous."""
        return False

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session cookie."""
        return str(self.id)

    @property
    def audit_ref(self) -> tuple[str, str]:
        """How the audit log names this actor."""
        return ("user", str(self.id))

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds one of `roles`."""
        return self.role in roles


class Actor(Protocol):
    """Whoever performs an operation: a staff member (User), a party through the portal (Party) or the service itself
    (ServiceActor). Services receive it as their first argument; the audit log names it by `audit_ref`."""

    @property
    def id(self) -> uuid.UUID | None:
        """The staff member's or the party's id; None for the service itself."""
        ...

    @property
    def audit_ref(self) -> tuple[str, str | None]:
        """How the audit log names this actor: its kind and its id."""
        ...

    def has_role(self, *roles: Role) -> bool:
        """True when the actor holds one of these staff roles."""
        ...


class ServiceActor:
    """An actor that is not a staff member: the service itself (jobs, commands) or an unknown visitor."""

    id = None
    name = "Circlekeeper"

    def __init__(self, kind: str) -> None:
        self.role = kind
        self.audit_ref: tuple[str, str | None] = (kind, None)

    def has_role(self, *roles: Role) -> bool:
        """Holds no staff role."""
        return False


SYSTEM = ServiceActor("system")
ANONYMOUS = ServiceActor("anonymous")


class StaffSession(SQLModel, table=True):
    """One signed-in browser: the cookie carries a random token, this row its hash and its clock."""

    __tablename__ = "staff_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    end_reason: str | None = Field(default=None, sa_type=String(24))


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    label: str = Field(sa_type=String(80))
    prefix: str = Field(sa_type=String(16))
    token_hash: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    """A one-time code that stands in for the second factor; only a salted SHA-256 of it is kept."""

    __tablename__ = "recovery_codes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(sa_type=String(120))
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """An emailed password-reset link: only the hash of its token is kept, and it works once."""

    __tablename__ = "password_resets"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, sa_type=String(16))  # used, superseded, signed_in


class SignInThrottle(SQLModel, table=True):
    """Failed sign-in attempts counted for one key: an (account, address) pair, an account, or an address.

    The key is a keyed hash, so neither the email address nor the client address is stored.
    """

    __tablename__ = "sign_in_throttles"

    key: str = Field(sa_type=String(64), primary_key=True)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
