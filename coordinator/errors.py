"""What services raise when something may not happen, and how pages and the API render it."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A rule said no. Each subclass maps to one HTTP status and API error code (docs/api.md, "Errors")."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(ServiceError):
    """Input is missing or wrong; `details` maps field paths to lists of messages."""

    status, code = 400, "invalid_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message, fields or {})

    @classmethod
    def field(cls, message: str, path: str, field_message: str) -> InvalidRequest:
        """Shorthand for one bad field."""
        return cls(message, {path: [field_message]})


class Forbidden(ServiceError):
    """The role may not do this at all."""

    status, code = 403, "forbidden"


class NotFound(ServiceError):
    """Unknown, or outside the caller's scope: the two look the same on purpose (docs/design.md rule 6)."""

    status, code = 404, "not_found"


class Conflict(ServiceError):
    """The request clashes with the current state."""

    status, code = 409, "conflict"


class GateFailed(ServiceError):
    """A gate has unmet conditions; `details` lists them as {code, message}."""

    status, code = 409, "gate_failed"
