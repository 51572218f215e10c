"""Programme statistics for coordinators: counts and rates over referrals, never a reference, name or id.

Every figure comes from a fixed number of aggregate queries, whatever the number of referrals.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select, true, union_all

from coordinator import clock
from coordinator.accounts.models import Actor, Role
from coordinator.agreements.models import Agreement, AgreementStatus
from coordinator.consent.models import PARTY_SCOPES, ConsentDecision, Decision, Scope
from coordinator.db import db
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.inputs import EARLIEST, LATEST, out_of_range_message
from coordinator.portal.models import SecureLink
from coordinator.referrals.models import Party, PartyRole, Referral, ReferralStatus
from coordinator.sessions.models import ScheduledSession, SessionKind, SessionStatus

# The dates a period may start or end on: far enough apart for any programme, near enough to convert safely.

# Upper bounds (in days, inclusive) of the buckets of "days from referral to first circle"; None is open-ended.
DAYS_BUCKETS = (30, 60, 90, None)

DAYS_BUCKET_LABELS = {
    30: _l("Up to 30 days"),
    60: _l("31 to 60 days"),
    90: _l("61 to 90 days"),
    None: _l("More than 90 days"),
}


@dataclass(frozen=True)
class Ratio:
    """`part` of `whole`, e.g. parties who granted of parties asked."""

    part: int
    whole: int

    @property
    def fraction(self) -> float | None:
        """part / whole, or None when there is nothing to divide by."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class ConsentRate:
    """One party role's consent for one scope across the programme."""

    party: str
    scope: str
    ratio: Ratio


@dataclass(frozen=True)
class ProgrammeStatistics:
    """Aggregates over the referrals received in [since, until] (both None: all time)."""

    since: date | None
    until: date | None
    referrals_by_status: Mapping[str, int]
    consent_rates: tuple[ConsentRate, ...]
    median_days_to_circle: float | None
    circles_counted: int
    days_to_circle: Mapping[int | None, int]
    agreements_by_status: Mapping[str, int]
    completion: Ratio

    @property
    def referrals_total(self) -> int:
        """Every referral counted."""
        return sum(self.referrals_by_status.values())

    @property
    def agreements_total(self) -> int:
        """Every agreement counted, drafts included."""
        return sum(self.agreements_by_status.values())

    @property
    def anyone_asked(self) -> bool:
        """True when at least one party was asked for consent."""
        return any(rate.ratio.whole for rate in self.consent_rates)

    def consent(self, party: str, scope: str) -> Ratio:
        """The ratio of one party role and scope."""
        return next(rate.ratio for rate in self.consent_rates if rate.party == party and rate.scope == scope)


def programme_statistics(actor: Actor, since: date | None = None, until: date | None = None, *,
                         now: datetime | None = None) -> ProgrammeStatistics:
    """Coordinators only: the programme's aggregates over referrals received between `since` and `until`."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators can see the programme statistics."))
    for name, day in (("since", since), ("until", until)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidRequest.field(_("Check the highlighted fields."), name, out_of_range_message())
    if since is not None and until is not None and since > until:
        raise InvalidRequest.field(_("Check the highlighted fields."), "until",
                                   _("The end date must be on or after the start date."))
    in_period = _period_condition(since, until)
    days = _days_to_first_circle(in_period)
    agreements = _agreements_by_status(in_period)
    return ProgrammeStatistics(
        since=since,
        until=until,
        referrals_by_status=_referrals_by_status(in_period),
        consent_rates=_consent_rates(in_period, now or clock.now()),
        median_days_to_circle=round(statistics.median(days), 1) if days else None,
        circles_counted=len(days),
        days_to_circle=_bucketed(days),
        agreements_by_status=agreements,
        completion=Ratio(agreements[AgreementStatus.completed],
                         agreements[AgreementStatus.completed] + agreements[AgreementStatus.not_completed]),
    )


def _period_condition(since: date | None, until: date | None) -> ColumnElement[bool]:
    # The dates are the programme's days (like due dates): [start of `since`, start of the day after `until`).
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(Referral.received_at >= datetime.combine(since, time(), zone).astimezone(UTC))
    if until is not None:
        end = datetime.combine(until + timedelta(days=1), time(), zone).astimezone(UTC)
        conditions.append(Referral.received_at < end)
    return and_(true(), *conditions)


def _referrals_by_status(in_period: ColumnElement[bool]) -> Mapping[str, int]:
    counts: dict[str, int] = dict(db.session.execute(
        select(Referral.status, func.count()).where(in_period).group_by(Referral.status)
    ).all())
    return MappingProxyType({status.value: counts.get(status.value, 0) for status in ReferralStatus})


def _consent_rates(in_period: ColumnElement[bool], now: datetime) -> tuple[ConsentRate, ...]:
    """Granted = the party's latest decision for the scope is a grant still valid; asked = any decision, or invited.

    Counted by the database (two queries), so the cost does not grow with what Python would have to read.
    """
    # The latest decision of each party and scope: its time from the (party, scope, time) index, then the row.
    # Two decisions of one party and scope in the same microsecond do not happen (each is its own request).
    latest = (select(ConsentDecision.party_id, ConsentDecision.scope,
                     func.max(ConsentDecision.decided_at).label("decided_at"))
              .group_by(ConsentDecision.party_id, ConsentDecision.scope).subquery())
    still_granted = and_(ConsentDecision.decision == Decision.granted,
                         or_(ConsentDecision.expires_at.is_(None), ConsentDecision.expires_at > now))
    decided = {(role, scope): (total, granted or 0) for role, scope, total, granted in db.session.execute(
        select(Party.role, ConsentDecision.scope, func.count(), func.sum(case((still_granted, 1), else_=0)))
        .select_from(latest)
        .join(ConsentDecision, and_(ConsentDecision.party_id == latest.c.party_id,
                                    ConsentDecision.scope == latest.c.scope,
                                    ConsentDecision.decided_at == latest.c.decided_at))
        .join(Party, Party.id == ConsentDecision.party_id)
        .join(Referral, Referral.id == ConsentDecision.referral_id)
        .where(in_period)
        .group_by(Party.role, ConsentDecision.scope)
    )}
    # Parties given a link who have not decided on a scope yet were asked too (their status is `pending`).
    linked = select(SecureLink.party_id).distinct().subquery()
    scopes = union_all(*(select(literal(scope.value).label("scope")) for scope in Scope)).subquery()
    undecided = {(role, scope): count for role, scope, count in db.session.execute(
        select(Party.role, scopes.c.scope, func.count())
        .select_from(linked)
        .join(Party, Party.id == linked.c.party_id)
        .join(Referral, Referral.id == Party.referral_id)
        .join(scopes, true())
        .where(in_period, ~exists().where(ConsentDecision.party_id == linked.c.party_id,
                                          ConsentDecision.scope == scopes.c.scope))
        .group_by(Party.role, scopes.c.scope)
    )}
    rates = []
    for role in PartyRole:
        for scope in PARTY_SCOPES[role]:
            total, granted = decided.get((role.value, scope.value), (0, 0))
            rates.append(ConsentRate(role.value, scope.value,
                                     Ratio(int(granted), total + undecided.get((role.value, scope.value), 0))))
    return tuple(rates)


def _days_to_first_circle(in_period: ColumnElement[bool]) -> list[float]:
    """Days from each referral's receipt to its first held circle, for the referrals that had one."""
    rows = db.session.execute(
        select(Referral.received_at, func.min(ScheduledSession.starts_at))
        .join(ScheduledSession, ScheduledSession.referral_id == Referral.id)
        .where(in_period, ScheduledSession.kind == SessionKind.circle, ScheduledSession.status == SessionStatus.held)
        .group_by(Referral.id, Referral.received_at)
    ).all()
    return [max(0.0, (first_circle - received).total_seconds() / 86400) for received, first_circle in rows]


def _bucketed(days: list[float]) -> Mapping[int | None, int]:
    counts = dict.fromkeys(DAYS_BUCKETS, 0)
    for value in days:
        whole_days = int(value)  # days completed, so 30.5 days is still "up to 30 days"
        counts[next(bound for bound in DAYS_BUCKETS if bound is None or whole_days <= bound)] += 1
    return MappingProxyType(counts)


def _agreements_by_status(in_period: ColumnElement[bool]) -> Mapping[str, int]:
    counts: dict[str, int] = dict(db.session.execute(
        select(Agreement.status, func.count())
        .join(Referral, Referral.id == Agreement.referral_id)
        .where(in_period)
        .group_by(Agreement.status)
    ).all())
    return MappingProxyType({status.value: counts.get(status.value, 0) for status in AgreementStatus})
