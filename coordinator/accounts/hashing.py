"""How account secrets are kept: argon2id for passwords, SHA-256 for random tokens, never the secret itself."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from coordinator.accounts.models import User


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
    """How random secrets (session, API and reset tokens) are stored: their SHA-256, never themselves."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def password_matches(user: User | None, password: str) -> bool:
    """True when `password` is the user's; without a user a dummy hash is checked, so both take as long."""
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash if user else current_app.extensions["dummy_password_hash"], password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True
