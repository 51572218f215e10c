"""Derive a party's consent status from its decisions: a pure function, checked against a model in the tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from coordinator.consent.models import ConsentDecision, ConsentStatus, Decision


@dataclass(frozen=True)
class ConsentState:
    """The status of one scope for one party, since when, and until when a grant lasts."""

    status: ConsentStatus
    since: datetime | None = None
    expires_at: datetime | None = None

    @property
    def granted(self) -> bool:
        """True only for a grant that has not expired."""
        return self.status == ConsentStatus.granted


def derive_status(decisions: Iterable[ConsentDecision], now: datetime, invited: bool) -> ConsentState:
    """The latest decision wins: a withdrawal stands until a new grant; a grant lasts until it expires.

    With no decision, the party is `pending` once invited (a secure link was issued), `not_requested` before.
    """
    latest = max(decisions, key=lambda decision: decision.decided_at, default=None)
    if latest is None:
        return ConsentState(ConsentStatus.pending if invited else ConsentStatus.not_requested)
    if latest.decision == Decision.withdrawn:
        return ConsentState(ConsentStatus.withdrawn, since=latest.decided_at)
    if latest.expires_at is not None and latest.expires_at <= now:
        return ConsentState(ConsentStatus.expired, since=latest.expires_at)
    return ConsentState(ConsentStatus.granted, since=latest.decided_at, expires_at=latest.expires_at)
