"""The tamper-evident audit log (docs/design.md rule 7): a hash chain with a head row."""

import uuid
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import JSON, BigInteger, Index, String
from sqlmodel import Field, SQLModel

from coordinator.db import UTCDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    """Who did or saw what, when; each entry hashes its content and the previous entry's hash."""

    __tablename__ = "audit_entries"
    # One person's entries read newest first from the index: the audit page's person search stops at its page
    # instead of reading all that person did and sorting it (a busy coordinator's trail is tens of thousands).
    __table_args__ = (Index("ix_audit_entries_actor_id_seq", "actor_id", "seq"),)

    # None until the entry is chained, when its transaction commits.
    seq: int | None = Field(default=None, sa_type=BigInteger, primary_key=True,
                            sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime)
    actor_type: str = Field(sa_type=String(16))
    actor_id: str | None = Field(default=None, sa_type=String(64))
    action: str = Field(sa_type=String(64))
    object_type: str | None = Field(default=None, sa_type=String(32))
    object_id: str | None = Field(default=None, sa_type=String(64))
    referral_id: uuid.UUID | None = Field(default=None, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    prev_hash: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))


class AuditHead(SQLModel, table=True):
    """The chain's last entry: the row a commit locks for its insert only, and the anchor that reveals a truncated
    tail (with the signed checkpoints outside the database)."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = Field(default=0, sa_type=BigInteger)
    last_hash: str = Field(default=GENESIS_HASH, sa_type=String(64))


class AuditDisclosure(SQLModel, table=True):
    """Index of the referrals one entry names in its details (a list view writes one entry for all it showed), so a
    referral's trail and a party's own data find it. The hashed details stay the truth; this only finds them."""

    __tablename__ = "audit_disclosures"

    referral_id: uuid.UUID = Field(primary_key=True)
    seq: int = Field(sa_type=BigInteger, primary_key=True)


class AuditVerified(SQLModel, table=True):
    """The last entry `audit verify` found intact: the next verification starts there (incremental)."""

    __tablename__ = "audit_verified"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(sa_type=BigInteger)
    hash: str = Field(sa_type=String(64))
    verified_at: datetime = Field(sa_type=UTCDateTime)


ACTION_LABELS: dict[str, LazyString] = {
    "referral.create": _l("Received the referral"),
    "referral.view": _l("Viewed the referral"),
    "referral.list": _l("Saw the referral in a list"),
    "referral.transition": _l("Changed the status"),
    "referral.assign": _l("Assigned facilitators"),
    "referral.acknowledgement": _l("Recorded an acknowledgement"),
    "consent.grant": _l("Recorded consent"),
    "consent.withdraw": _l("Recorded a withdrawal of consent"),
    "consent.view": _l("Viewed consent"),
    "link.issue": _l("Sent a private link"),
    "link.revoke": _l("Revoked a private link"),
    "link.locked": _l("A private link was locked"),
    "link.pin_set": _l("A PIN was set"),
    "link.pin_failed": _l("A wrong PIN was entered"),
    "portal.open": _l("A party opened their page"),
    "portal.place": _l("A party opened the place of their appointment"),
    "portal.calendar": _l("A party downloaded their appointment to a calendar"),
    "link.renew": _l("Private links renewed until after the last appointment"),
    "party.interpreter": _l("Recorded whether an interpreter is arranged"),
    "prosecution.disclose": _l("Disclosed the case status to the prosecution"),
    "risk.assess": _l("Recorded a risk assessment"),
    "risk.view": _l("Viewed the risk assessment"),
    "risk.mitigation_propose": _l("Proposed a mitigation plan"),
    "risk.mitigation_approve": _l("Approved a mitigation plan"),
    "safety.incident": _l("Recorded a safety incident"),
    "safety.protective_order": _l("Recorded a protective order"),
    "party.unavailability.add": _l("Added dates a party cannot attend"),
    "party.unavailability.remove": _l("Removed dates a party cannot attend"),
    "session.book": _l("Booked a session"),
    "session.reschedule": _l("Rescheduled a session"),
    "session.cancel": _l("Cancelled a session"),
    "session.held": _l("Recorded a session as held"),
    "session.confirm": _l("A party confirmed a session"),
    "session.decline": _l("A party declined a session"),
    "session.export_ics": _l("Exported a session to a calendar"),
    "agreement.draft": _l("Drafted the agreement"),
    "agreement.view": _l("Viewed the agreement"),
    "agreement.accept": _l("Recorded an acceptance of the agreement"),
    "agreement.progress": _l("Recorded progress on the agreement"),
    "agreement.transition": _l("Changed the agreement's status"),
    "statistics.view": _l("Viewed the programme statistics"),
    "statistics.export": _l("Exported the programme statistics"),
    "statistics.refresh": _l("Counted the programme statistics again"),
    "court_report.view": _l("Viewed the court report"),
    "court_report.prepare": _l("Prepared a court report for a sentencing hearing"),
    "case.hearing_add": _l("Recorded a hearing of the criminal case"),
    "case.hearing_remove": _l("Removed a hearing of the criminal case"),
    "case.stage_change": _l("Changed the stage of the criminal case"),
    "outbox.retry": _l("Retried a message"),
    "outbox.discard": _l("Discarded a message"),
    "legal_hold.set": _l("Set a legal hold"),
    "legal_hold.lift": _l("Lifted a legal hold"),
    "task.done": _l("Marked a task done"),
    "task.dismissed": _l("Dismissed a task"),
    "on_call.set": _l("Set who is on call"),
    "referral.erase": _l("Erased the personal data"),
    "erasure.request": _l("Erased the personal data at a party's request"),
    "party.export": _l("Produced a party's own data"),
    "retention.run": _l("Applied the retention schedule"),
    "keys.migrate_to_envelope": _l("Moved encrypted data under each referral's own key"),
    "referral.caseload_override": _l("Assigned a facilitator over their caseload cap"),
    "audit.search": _l("Searched the audit trail"),
    "audit.export": _l("Exported the audit trail"),
}
