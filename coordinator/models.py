"""Every table, imported in one place so Alembic and the model-migration check see the whole schema."""

from coordinator.accounts.models import ApiToken, StaffSession, User
from coordinator.audit.models import AuditEntry, AuditHead
from coordinator.clock import ServiceClock
from coordinator.referrals.models import CriminalCase, Party, ReferenceCounter, Referral, StatusChange

__all__ = [
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "CriminalCase",
    "Party",
    "ReferenceCounter",
    "Referral",
    "ServiceClock",
    "StaffSession",
    "StatusChange",
    "User",
]
