"""Referrals, their two parties, the criminal case beside them, and their status history."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint, text
from sqlmodel import Field, Relationship, SQLModel

from coordinator.accounts.models import Role, User
from coordinator.crypto import sealed
from coordinator.db import UTCDateTime, new_id


class ReferralStatus(StrEnum):
    """Where a referral stands (docs/design.md section 2)."""

    received = "received"
    screening = "screening"
    preparation = "preparation"
    ready = "ready"
    circle_scheduled = "circle_scheduled"
    circle_held = "circle_held"
    monitoring = "monitoring"
    completed = "completed"
    paused = "paused"
    closed = "closed"


class CloseReason(StrEnum):
    """Why a referral closed; never shown to the prosecution (docs/design.md rule 5)."""

    not_suitable = "not_suitable"
    consent_withdrawn = "consent_withdrawn"
    safety = "safety"
    agreement_not_completed = "agreement_not_completed"
    other = "other"


class PauseReason(StrEnum):
    """Why a referral is paused."""

    safety_incident = "safety_incident"
    facilitator_stop = "facilitator_stop"
    other = "other"


class ReferralSource(StrEnum):
    """Who referred the case."""

    prosecutor = "prosecutor"
    court = "court"
    victim_services = "victim_services"
    self = "self"
    other = "other"


class CaseStage(StrEnum):
    """Stage of the criminal case."""

    pre_charge = "pre_charge"
    charged = "charged"
    plea = "plea"
    trial = "trial"
    sentencing = "sentencing"
    closed = "closed"


class PartyRole(StrEnum):
    """The two parties of a referral."""

    survivor = "survivor"
    responsible_party = "responsible_party"


# Where a referral can be: still moving, ended, or not ended (paused counts, e.g. in a facilitator's caseload).
ACTIVE = (ReferralStatus.received, ReferralStatus.screening, ReferralStatus.preparation, ReferralStatus.ready,
          ReferralStatus.circle_scheduled, ReferralStatus.circle_held, ReferralStatus.monitoring)
TERMINAL = (ReferralStatus.completed, ReferralStatus.closed)
OPEN = (*ACTIVE, ReferralStatus.paused)

# Labels and maps are keyed by the value a column stores (a str); each enum is a StrEnum, so its members are those.
STATUS_LABELS: dict[str, LazyString] = {
    ReferralStatus.received: _l("Received"),
    ReferralStatus.screening: _l("Screening"),
    ReferralStatus.preparation: _l("Preparation"),
    ReferralStatus.ready: _l("Ready for a circle"),
    ReferralStatus.circle_scheduled: _l("Circle scheduled"),
    ReferralStatus.circle_held: _l("Circle held"),
    ReferralStatus.monitoring: _l("Monitoring the agreement"),
    ReferralStatus.completed: _l("Completed"),
    ReferralStatus.paused: _l("Paused"),
    ReferralStatus.closed: _l("Closed"),
}

# A button that moves a referral names the action, not the state it ends in ("Pause", never "Paused").
MOVE_LABELS: dict[str, LazyString] = {
    ReferralStatus.screening: _l("Start screening"),
    ReferralStatus.preparation: _l("Start preparation"),
    ReferralStatus.ready: _l("Mark as ready for a circle"),
    ReferralStatus.circle_scheduled: _l("Mark the circle as scheduled"),
    ReferralStatus.circle_held: _l("Mark the circle as held"),
    ReferralStatus.monitoring: _l("Start monitoring the agreement"),
    ReferralStatus.completed: _l("Complete"),
    ReferralStatus.paused: _l("Pause"),
    ReferralStatus.closed: _l("Close"),
    ReferralStatus.received: _l("Return to received"),
}

REASON_LABELS: dict[str, LazyString] = {
    CloseReason.not_suitable: _l("Not suitable for a circle"),
    CloseReason.consent_withdrawn: _l("Consent withdrawn"),
    CloseReason.safety: _l("Safety"),
    CloseReason.agreement_not_completed: _l("Agreement not completed"),
    CloseReason.other: _l("Other"),
    PauseReason.safety_incident: _l("Safety incident"),
    PauseReason.facilitator_stop: _l("Stopped by a facilitator"),
}

SOURCE_LABELS: dict[str, LazyString] = {
    ReferralSource.prosecutor: _l("Prosecutor"),
    ReferralSource.court: _l("Court"),
    ReferralSource.victim_services: _l("Victim services"),
    ReferralSource.self: _l("Self-referral"),
    ReferralSource.other: _l("Other"),
}

STAGE_LABELS: dict[str, LazyString] = {
    CaseStage.pre_charge: _l("Before charge"),
    CaseStage.charged: _l("Charged"),
    CaseStage.plea: _l("Plea"),
    CaseStage.trial: _l("Trial"),
    CaseStage.sentencing: _l("Sentencing"),
    CaseStage.closed: _l("Closed"),
}

PARTY_LABELS: dict[str, LazyString] = {
    PartyRole.survivor: _l("Survivor"),
    PartyRole.responsible_party: _l("Responsible party"),
}


# The prosecution sees a coarse stage only (docs/design.md rule 5): `workflow.prosecution_stage` is the one reader of
# this map, and it never lets a pause show.
PROSECUTION_STAGE: dict[str, str] = {
    ReferralStatus.received: "intake",
    ReferralStatus.screening: "intake",
    ReferralStatus.preparation: "preparation",
    ReferralStatus.ready: "preparation",
    ReferralStatus.circle_scheduled: "circle_scheduled",
    ReferralStatus.circle_held: "circle_held",
    ReferralStatus.monitoring: "agreement_monitoring",
    ReferralStatus.completed: "closed",
    ReferralStatus.closed: "closed",
}

PROSECUTION_STAGE_LABELS: dict[str, LazyString] = {
    "intake": _l("Intake"),
    "preparation": _l("Preparation"),
    "circle_scheduled": _l("Circle scheduled"),
    "circle_held": _l("Circle held"),
    "agreement_monitoring": _l("Agreement being monitored"),
    "closed": _l("Closed"),
}


# Only linked cases are unique by their identity: a provisional case (below) repeats the identity it waits for.
LINKED_ONLY = text("awaiting_link_to_id IS NULL")


class CriminalCase(SQLModel, table=True):
    """The prosecution running beside the restorative process; it never learns what is said in it.

    A coordinator assigns its prosecutor (docs/design.md rule 10). A prosecutor's referral for the identity of a case
    that is not theirs gets a *provisional* case of its own, assigned to that prosecutor and waiting for a coordinator
    to link it (`awaiting_link_to_id`); linking moves its referrals into the case and removes it
    (coordinator/cases/identity.py).
    """

    __tablename__ = "criminal_cases"
    __table_args__ = (
        Index("uq_criminal_cases_identity", "jurisdiction", "court", "docket_number", unique=True,
              sqlite_where=LINKED_ONLY, postgresql_where=LINKED_ONLY),
        # A prosecutor's cases' ids from the index alone: their referral list starts from them.
        Index("ix_criminal_cases_prosecutor_id_id", "prosecutor_id", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    jurisdiction: str = Field(sa_type=String(120))
    court: str = Field(sa_type=String(200))
    docket_number: str = Field(sa_type=String(64), index=True)
    charges: list[str] = Field(default_factory=list, sa_type=JSON)
    stage: str = Field(sa_type=String(16))
    prosecutor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    awaiting_link_to_id: uuid.UUID | None = Field(default=None, foreign_key="criminal_cases.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)

    prosecutor: User | None = Relationship()

    @property
    def awaiting_link(self) -> bool:
        """True for a provisional case that waits for a coordinator to link it."""
        return self.awaiting_link_to_id is not None


class Referral(SQLModel, table=True):
    """One survivor's restorative process, from referral to completion or closing."""

    __tablename__ = "referrals"
    __sealed_under__ = "id"  # its notes are sealed under its own data key (coordinator/crypto.py)
    # Lists are newest first with the id as tie-breaker: these indexes serve that order, filtered or not, and in
    # each scope's part (a facilitator's as lead or as co, a prosecutor's cases); they also serve the foreign keys.
    __table_args__ = (
        Index("ix_referrals_received_at_id", "received_at", "id"),
        Index("ix_referrals_status_received_at_id", "status", "received_at", "id"),
        Index("ix_referrals_lead_facilitator_id_received_at_id", "lead_facilitator_id", "received_at", "id"),
        Index("ix_referrals_co_facilitator_id_received_at_id", "co_facilitator_id", "received_at", "id"),
        Index("ix_referrals_case_id_received_at_id", "case_id", "received_at", "id"),
        Index("ix_referrals_case_prosecutor_id_received_at_id", "case_prosecutor_id", "received_at", "id"),
        # Caseloads (coordinator/roster/eligibility.py) are counted from these alone, lead and co apart.
        Index("ix_referrals_lead_facilitator_id_status", "lead_facilitator_id", "status"),
        Index("ix_referrals_co_facilitator_id_status_lead", "co_facilitator_id", "status", "lead_facilitator_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    reference: str = Field(sa_type=String(24), unique=True)
    source: str = Field(sa_type=String(24))
    status: str = Field(default=ReferralStatus.received, sa_type=String(24))
    status_reason: str | None = Field(default=None, sa_type=String(32))
    paused_from: str | None = Field(default=None, sa_type=String(24))
    case_id: uuid.UUID = Field(foreign_key="criminal_cases.id")
    # The prosecutor of the referral's case, copied here by the database's own triggers (migration 0020) whenever
    # either side changes, and never written by the service: the prosecutor's scope reads one index range.
    case_prosecutor_id: uuid.UUID | None = Field(default=None)
    lead_facilitator_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    co_facilitator_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    received_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    notes_enc: str | None = Field(default=None, sa_type=String(12000))
    # When its personal data was erased (coordinator/retention/service.py `erase()`); pages then show only that.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    notes = sealed("notes_enc")

    case: CriminalCase = Relationship()
    parties: list["Party"] = Relationship(back_populates="referral")
    lead_facilitator: User | None = Relationship(
        sa_relationship_kwargs={"foreign_keys": "[Referral.lead_facilitator_id]"}
    )
    co_facilitator: User | None = Relationship(
        sa_relationship_kwargs={"foreign_keys": "[Referral.co_facilitator_id]"}
    )

    def party(self, role: PartyRole) -> "Party | None":
        """The survivor or the responsible party."""
        return next((party for party in self.parties if party.role == role), None)

    def require_party(self, role: PartyRole) -> "Party":
        """The survivor or the responsible party, which a referral has from its creation on (create_referral)."""
        party = self.party(role)
        if party is None:
            raise LookupError(f"referral {self.id} has no {role} party; every referral is created with both")
        return party

    @property
    def survivor(self) -> "Party | None":
        """The person harmed."""
        return self.party(PartyRole.survivor)

    @property
    def responsible_party(self) -> "Party | None":
        """The person who caused the harm."""
        return self.party(PartyRole.responsible_party)

    @property
    def facilitator_ids(self) -> set[uuid.UUID]:
        """The assigned lead and co-facilitator."""
        return {i for i in (self.lead_facilitator_id, self.co_facilitator_id) if i is not None}


class Party(SQLModel, table=True):
    """The survivor or the responsible party of a referral, known to staff by an alias."""

    __tablename__ = "parties"
    __sealed_under__ = "referral_id"
    __table_args__ = (UniqueConstraint("referral_id", "role"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id")
    role: str = Field(sa_type=String(24))
    alias_enc: str | None = Field(default=None, sa_type=String(512), nullable=False)
    preferred_language: str = Field(sa_type=String(8))
    needs_interpreter: bool = False
    interpreter_arranged: bool = False  # asked when the portal does not speak their language (docs/design.md 7)
    timezone: str | None = Field(default=None, sa_type=String(64))  # for remote sessions; None: the programme's
    email_enc: str | None = Field(default=None, sa_type=String(1024))
    phone_enc: str | None = Field(default=None, sa_type=String(512))

    alias = sealed("alias_enc")
    email = sealed("email_enc")
    phone = sealed("phone_enc")

    referral: "Referral" = Relationship(back_populates="parties")

    @property
    def audit_ref(self) -> tuple[str, str]:
        """A party acting through the portal, as the audit log names it."""
        return ("party", str(self.id))

    def has_role(self, *roles: Role) -> bool:
        """Parties hold no staff role."""
        return False


@dataclass(frozen=True, slots=True)
class ReferralLine:
    """One line of a referral list, read as columns in one statement: building a referral, its case and its parties
    as objects for each line cost three quarters of a list request (issue 15).

    `survivor_alias` is None where the reader may not see it (prosecutors) and once erased; `facilitator_names`
    (lead first) is read only when asked for (the pages; the API gives the ids).
    """

    __tablename__: ClassVar[str] = "referrals"  # the table its id names, for the audit entry of a list

    id: uuid.UUID
    reference: str
    status: str
    paused_from: str | None
    received_at: datetime
    erased_at: datetime | None
    docket_number: str
    lead_facilitator_id: uuid.UUID | None
    co_facilitator_id: uuid.UUID | None
    survivor_alias: str | None = None
    facilitator_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, referral: Referral) -> "ReferralLine":
        """A loaded referral as a line, without the alias or names (what a prosecutor's or an erased view shows)."""
        return cls(id=referral.id, reference=referral.reference, status=referral.status,
                   paused_from=referral.paused_from, received_at=referral.received_at, erased_at=referral.erased_at,
                   docket_number=referral.case.docket_number, lead_facilitator_id=referral.lead_facilitator_id,
                   co_facilitator_id=referral.co_facilitator_id)


class StatusChange(SQLModel, table=True):
    """One move of a referral's status, with its reason code and an optional encrypted note."""

    __tablename__ = "referral_status_changes"
    __sealed_under__ = "referral_id"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    from_status: str = Field(sa_type=String(24))
    to_status: str = Field(sa_type=String(24))
    reason: str | None = Field(default=None, sa_type=String(32))
    note_enc: str | None = Field(default=None, sa_type=String(12000))
    actor_type: str = Field(sa_type=String(16))
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    at: datetime = Field(sa_type=UTCDateTime)

    note = sealed("note_enc")


class AcknowledgementBasis(StrEnum):
    """Where the responsible party acknowledged the basic facts."""

    plea = "plea"
    agreed_facts = "agreed_facts"
    statement_to_facilitator = "statement_to_facilitator"


BASIS_LABELS: dict[str, LazyString] = {
    AcknowledgementBasis.plea: _l("A guilty plea"),
    AcknowledgementBasis.agreed_facts: _l("Agreed facts"),
    AcknowledgementBasis.statement_to_facilitator: _l("A statement to a facilitator"),
}


class Acknowledgement(SQLModel, table=True):
    """The responsible party's acknowledgement of the basic facts, kept as a reference, never its content."""

    __tablename__ = "acknowledgements"
    __sealed_under__ = "referral_id"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    referral_id: uuid.UUID = Field(foreign_key="referrals.id", index=True)
    basis: str = Field(sa_type=String(32))
    reference_enc: str | None = Field(default=None, sa_type=String(1024), nullable=False)
    recorded_by_id: uuid.UUID = Field(foreign_key="users.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)

    reference = sealed("reference_enc")


class ReferenceCounter(SQLModel, table=True):
    """The last human reference number handed out in a year (RJ-2026-0042)."""

    __tablename__ = "reference_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_value: int = 0


class ReferralTotal(SQLModel, table=True):
    """How many referrals the programme holds, kept by the database itself: triggers on `referrals` add and take
    away one per row (migration 0019), so the coordinator's whole list gives its total without counting every row."""

    __tablename__ = "referral_total"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    referrals: int = Field(default=0, sa_type=BigInteger)
