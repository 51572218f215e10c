"""The retention schedule (docs/design.md rule 11): when each kind of personal data is due to go, and what is due.

The periods are settings in config.py (`RETENTION_*`): closed referrals 24 months after they ended, declined ones 6
months, secure links and portal sessions 30 days after they ended, outbox bodies 30 days after sending, staff notices
90 days. Every query here is a fixed number of statements, whatever the size of the programme.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, Subquery, Text, and_, cast, exists, func, or_, select

from coordinator import clock
from coordinator.cases.models import Hearing
from coordinator.cases.service import programme_date
from coordinator.db import db
from coordinator.gates import Unmet
from coordinator.notifications.models import DeliveryStatus, OutboxMessage, StaffNotice
from coordinator.portal.models import PortalSession, SecureLink
from coordinator.referrals.models import TERMINAL, CloseReason, CriminalCase, Referral, ReferralStatus, StatusChange
from coordinator.retention.gates import HoldFacts, erasure_blockers
from coordinator.retention.models import ErasureBasis, LegalHold


def add_months(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months later (or earlier); the 31st becomes the month's last day."""
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def basis_of(status: str, reason: str | None) -> ErasureBasis:
    """Which period applies: a referral closed as not suitable was declined; every other ending is `closed`."""
    if status == ReferralStatus.closed and reason == CloseReason.not_suitable:
        return ErasureBasis.declined
    return ErasureBasis.closed


def period_months(basis: str) -> int:
    """The months a referral ended on this basis is kept."""
    setting = "RETENTION_DECLINED_MONTHS" if basis == ErasureBasis.declined else "RETENTION_CLOSED_MONTHS"
    return int(current_app.config[setting])


@dataclass(frozen=True)
class Candidate:
    """An ended referral whose retention period runs out by a given time, with whatever holds its erasure back."""

    referral_id: uuid.UUID
    reference: str
    basis: ErasureBasis
    ended_at: datetime
    due_at: datetime
    blockers: list[Unmet] = field(default_factory=list)

    @property
    def held(self) -> bool:
        """A legal hold or a pending criminal case postpones it."""
        return bool(self.blockers)


def ended_at_of(referral_id: uuid.UUID | None = None) -> Subquery:
    """Per referral, when it last entered `completed` or `closed` (a reopened referral ends again later)."""
    query = select(StatusChange.referral_id, func.max(StatusChange.at).label("ended_at")).where(
        StatusChange.to_status.in_(TERMINAL))
    if referral_id is not None:
        query = query.where(StatusChange.referral_id == referral_id)
    return query.group_by(StatusChange.referral_id).subquery()


def with_hold_facts(*columns: Any) -> Select:
    """SELECT `columns` from referrals with, per referral, the facts `erasure_blockers` weighs: `manual` (a legal
    hold in force), `stage` (its criminal case's) and `next_hearing` (the case's first hearing today or later)."""
    today = programme_date(clock.now())
    manual = exists().where(LegalHold.referral_id == Referral.id, LegalHold.lifted_at.is_(None))
    next_hearing = (select(func.min(Hearing.on_date)).where(Hearing.case_id == Referral.case_id,
                                                            Hearing.on_date >= today).scalar_subquery())
    return (select(*columns, CriminalCase.stage, manual.label("manual"), next_hearing.label("next_hearing"))
            .select_from(Referral).join(CriminalCase, CriminalCase.id == Referral.case_id))


def blockers_of(row: Any) -> list[Unmet]:
    """What holds back the erasure of a row selected `with_hold_facts`."""
    return erasure_blockers(HoldFacts(bool(row.manual), row.stage, row.next_hearing))


def candidates(until: datetime, referral_id: uuid.UUID | None = None) -> list[Candidate]:
    """Ended referrals not yet erased whose period runs out by `until`, oldest due first, each with its blockers."""
    ended = ended_at_of(referral_id)
    shortest = min(period_months(basis) for basis in (ErasureBasis.closed, ErasureBasis.declined))
    query = (
        with_hold_facts(Referral.id, Referral.reference, Referral.status, Referral.status_reason, ended.c.ended_at)
        .join(ended, ended.c.referral_id == Referral.id)
        .where(Referral.status.in_(TERMINAL), Referral.erased_at.is_(None),
               ended.c.ended_at <= add_months(until, -shortest))
    )
    if referral_id is not None:
        query = query.where(Referral.id == referral_id)
    found = []
    for row in db.session.execute(query):
        basis = basis_of(row.status, row.status_reason)
        due_at = add_months(row.ended_at, period_months(basis))
        if due_at <= until:
            found.append(Candidate(row.id, row.reference, basis, row.ended_at, due_at, blockers_of(row)))
    return sorted(found, key=lambda candidate: (candidate.due_at, candidate.reference))


def due_referrals() -> list[Candidate]:
    """The referrals due for erasure now, held or not."""
    return candidates(clock.now())


def days_ago(setting: str) -> datetime:
    """Now, less the number of days a setting names."""
    return clock.now() - timedelta(days=int(current_app.config[setting]))


def ended_links() -> ColumnElement[bool]:
    """Secure links that ended (expired, revoked or locked) a retention period ago and still hold a PIN or a use."""
    cutoff = days_ago("RETENTION_LINK_DAYS")
    return and_(or_(SecureLink.expires_at <= cutoff, SecureLink.revoked_at <= cutoff, SecureLink.locked_at <= cutoff),
                or_(SecureLink.pin_hash.is_not(None), SecureLink.last_used_at.is_not(None),
                    SecureLink.pin_failures > 0))


def ended_portal_sessions() -> ColumnElement[bool]:
    """Portal sessions that ended (or ran out) a retention period ago."""
    cutoff = days_ago("RETENTION_LINK_DAYS")
    return or_(PortalSession.ended_at <= cutoff, PortalSession.expires_at <= cutoff)


def sent_bodies() -> ColumnElement[bool]:
    """Outbox messages sent (or discarded) a retention period ago whose parameters or link are still kept."""
    cutoff = days_ago("RETENTION_OUTBOX_DAYS")
    return and_(or_(and_(OutboxMessage.status == DeliveryStatus.sent, OutboxMessage.sent_at <= cutoff),
                    and_(OutboxMessage.status == DeliveryStatus.discarded, OutboxMessage.created_at <= cutoff)),
                or_(cast(OutboxMessage.params, Text) != "{}", OutboxMessage.link_enc.is_not(None)))


def old_notices() -> ColumnElement[bool]:
    """Staff notices older than their retention period."""
    return StaffNotice.created_at <= days_ago("RETENTION_NOTICE_DAYS")


def count_due_records() -> dict[str, int]:
    """How many records of each other kind are due now."""
    counts = {}
    for kind, model, condition in (("secure links", SecureLink, ended_links()),
                                   ("portal sessions", PortalSession, ended_portal_sessions()),
                                   ("outbox bodies", OutboxMessage, sent_bodies()),
                                   ("notices", StaffNotice, old_notices())):
        counts[kind] = db.session.execute(select(func.count()).select_from(model).where(condition)).scalar_one()
    return counts
