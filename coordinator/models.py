"""Every table, imported in one place so Alembic and the model-migration check see the whole schema."""

from coordinator.accounts.models import ApiToken, PasswordReset, RecoveryCode, SignInThrottle, StaffSession, User
from coordinator.agreements.models import Acceptance, Agreement, AgreementItem, ItemProgress
from coordinator.audit.models import GENESIS_HASH, AuditDisclosure, AuditEntry, AuditHead, AuditVerified
from coordinator.cases.models import CaseStageChange, CourtReport, Hearing
from coordinator.clock import ServiceClock
from coordinator.consent.models import ConsentDecision
from coordinator.keystore import ReferralKey
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.portal.models import PortalSession, SecureLink
from coordinator.referrals.models import (
    Acknowledgement,
    CriminalCase,
    Party,
    ReferenceCounter,
    Referral,
    ReferralTotal,
    StatusChange,
)
from coordinator.retention.models import LegalHold
from coordinator.roster.models import (
    AvailabilityException,
    AvailabilityWindow,
    CaseloadOverride,
    FacilitatorConflict,
    FacilitatorProfile,
    Training,
    Venue,
)
from coordinator.safety.models import MitigationPlan, ProtectiveOrder, RiskAssessment, SafetyIncident
from coordinator.scheduler import JobRun, SchedulerLease
from coordinator.sessions.models import (
    CalendarFeed,
    PartyUnavailability,
    Reservation,
    ScheduledSession,
    SessionFacilitator,
    SessionParticipant,
)
from coordinator.statistics.models import StatisticsCount, StatisticsRefresh
from coordinator.tasks.models import OnCall, Task

__all__ = [
    "Acceptance",
    "Acknowledgement",
    "Agreement",
    "AgreementItem",
    "ApiToken",
    "AuditDisclosure",
    "AuditEntry",
    "AuditHead",
    "AuditVerified",
    "AvailabilityException",
    "AvailabilityWindow",
    "CalendarFeed",
    "CaseStageChange",
    "CaseloadOverride",
    "ConsentDecision",
    "CourtReport",
    "CriminalCase",
    "FacilitatorConflict",
    "FacilitatorProfile",
    "Hearing",
    "ItemProgress",
    "JobRun",
    "LegalHold",
    "MitigationPlan",
    "OnCall",
    "OutboxMessage",
    "Party",
    "PartyUnavailability",
    "PasswordReset",
    "PortalSession",
    "ProtectiveOrder",
    "RecoveryCode",
    "ReferenceCounter",
    "Referral",
    "ReferralKey",
    "ReferralTotal",
    "Reservation",
    "RiskAssessment",
    "SafetyIncident",
    "ScheduledSession",
    "SchedulerLease",
    "SecureLink",
    "ServiceClock",
    "SessionFacilitator",
    "SessionParticipant",
    "SignInThrottle",
    "StaffNotice",
    "StaffSession",
    "StatisticsCount",
    "StatisticsRefresh",
    "StatusChange",
    "Task",
    "Training",
    "User",
    "Venue",
]


def starting_rows() -> list[tuple[type, dict]]:
    """The rows every database starts with (written by the migrations): audit head, scheduler lease, rollup state,
    the referral total."""
    return [(AuditHead, {"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}),
            (SchedulerLease, {"id": 1, "holder": None, "renewed_at": None}),
            (StatisticsRefresh, {"id": 1, "refreshed_at": None}),
            (ReferralTotal, {"id": 1, "referrals": 0})]
