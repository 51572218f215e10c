"""The statistics rollup: rebuilt from the records by a job (when it is old, or when a coordinator asked), read per
period in one query.

The page then costs the same whatever the number of referrals: it sums a few rows per month of the period (and per
day at its ragged ends). Erased referrals keep their ids, dates and codes (coordinator/retention/service.py `erase`),
so they are counted like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)

from coordinator import clock
from coordinator.agreements.models import Agreement
from coordinator.consent.models import PARTY_SCOPES, ConsentDecision, Decision, Scope
from coordinator.db import db
from coordinator.portal.models import SecureLink
from coordinator.referrals.models import Party, PartyRole, Referral
from coordinator.sessions.models import ScheduledSession, SessionKind, SessionStatus
from coordinator.statistics.models import StatisticsCount, StatisticsRefresh

DAY, MONTH = "day", "month"

Key = tuple[str, str]  # (figure, category)


def consent_category(role: str, scope: str) -> str:
    """The category of one party role and scope in the `asked` and `granted` figures."""
    return f"{role}:{scope}"


def rebuild_rollup() -> datetime:
    """Count everything again as of now, replacing the rollup; returns the time it stands for.

    The rollup's state row is locked first, so two rebuilds (the job and a coordinator's button) run one after the
    other instead of writing the same rows.
    """
    db.session.execute(select(StatisticsRefresh).where(StatisticsRefresh.id == 1).with_for_update()
                       .execution_options(populate_existing=True)).scalar_one()
    now = clock.now()
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    days: dict[datetime, date] = {}

    def day_of(received_at: datetime) -> date:
        # Many referrals share nothing but their day; the conversion is the cost, so each moment converts once.
        found = days.get(received_at)
        if found is None:
            found = days[received_at] = received_at.astimezone(zone).date()
        return found

    counts: Counter[tuple[date, str, str]] = Counter()
    for received_at, status in _stream(select(Referral.received_at, Referral.status)):
        counts[(day_of(received_at), "status", status)] += 1
    for received_at, category, asked, granted in _consent_outcomes(now):
        day = day_of(received_at)
        counts[(day, "asked", category)] += asked
        counts[(day, "granted", category)] += granted
    for received_at, first_circle in _stream(
        select(Referral.received_at, func.min(ScheduledSession.starts_at))
        .join(ScheduledSession, ScheduledSession.referral_id == Referral.id)
        .where(ScheduledSession.kind == SessionKind.circle, ScheduledSession.status == SessionStatus.held)
        .group_by(Referral.id, Referral.received_at)
    ):
        # Whole days completed, so 30.5 days is still "up to 30 days".
        whole_days = max(0, int((first_circle - received_at).total_seconds() // 86400))
        counts[(day_of(received_at), "days_to_circle", str(whole_days))] += 1
    for received_at, status in _stream(select(Referral.received_at, Agreement.status)
                                       .join(Referral, Referral.id == Agreement.referral_id)):
        counts[(day_of(received_at), "agreement", status)] += 1

    db.session.execute(delete(StatisticsCount))
    rows = [{"grain": grain, "period_start": start, "figure": figure, "category": category, "count": count}
            for (grain, start, figure, category), count in _with_months(counts).items() if count]
    table = StatisticsCount.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
    for start in range(0, len(rows), 2_000):
        db.session.execute(insert(table), rows[start:start + 2_000])
    state = db.session.get(StatisticsRefresh, 1)
    assert state is not None  # written by the migration  # nosec B101
    state.refreshed_at = now
    db.session.flush()
    return now


def refreshed_at() -> datetime | None:
    """When the rollup was last rebuilt, or None when it never was."""
    return refresh_state().refreshed_at


def ask_for_recount() -> None:
    """Ask the job for a new count at its next run: a whole recount grows with the programme, so it never runs
    inside a request (at 100,000 referrals it would outlast a worker's timeout)."""
    db.session.execute(update(StatisticsRefresh).where(StatisticsRefresh.id == 1).values(requested_at=clock.now()))


@dataclass(frozen=True)
class RefreshState:
    """When the rollup was last built, and when a coordinator last asked for a new count (None: never)."""

    refreshed_at: datetime | None
    requested_at: datetime | None

    @property
    def asked_again(self) -> bool:
        """True while a count a coordinator asked for has not been made."""
        return self.requested_at is not None and (self.refreshed_at is None or self.requested_at >= self.refreshed_at)

    def due(self, now: datetime, max_age: timedelta) -> bool:
        """True when the rollup was never built, is `max_age` old, or a new count was asked for."""
        return self.refreshed_at is None or now - self.refreshed_at >= max_age or self.asked_again


def refresh_state() -> RefreshState:
    """The rollup's state row, read in one query."""
    refreshed, requested = db.session.execute(
        select(StatisticsRefresh.refreshed_at, StatisticsRefresh.requested_at).where(StatisticsRefresh.id == 1)).one()
    return RefreshState(refreshed, requested)


def counts_for(since: date | None, until: date | None) -> Counter[Key]:
    """{(figure, category): count} over referrals received in the programme days [since, until] (None: open)."""
    rows = db.session.execute(
        select(StatisticsCount.figure, StatisticsCount.category, func.sum(StatisticsCount.count))
        .where(_period_rows(since, until))
        .group_by(StatisticsCount.figure, StatisticsCount.category)
    )
    return Counter({(figure, category): int(total) for figure, category, total in rows})


def _stream(statement) -> Iterator:
    # Fetched whole: a server-side cursor would let PostgreSQL pick a fast-start plan of nested loops, and every
    # query here reads at most a few rows per referral.
    return iter(db.session.execute(statement).all())


def _consent_outcomes(now: datetime) -> Iterator[tuple[datetime, str, int, int]]:
    """(received_at, category, asked, granted) per referral, party role and scope that was asked.

    Counted by the database, grouped per referral, so the rebuild reads one row per referral rather than every
    decision. The rule is the one of coordinator/consent/status.py `derive_status` (the latest decision wins; a grant
    counts until it expires; a party sent a link is asked even before deciding); tests/statistics/
    test_consent_rates.py holds these counts to that function for any history.
    """
    # The latest decision of each party and scope: its time from the (party, scope, time) index, then the row.
    # Two decisions of one party and scope in the same microsecond do not happen (each is its own request).
    latest = (select(ConsentDecision.party_id, ConsentDecision.scope,
                     func.max(ConsentDecision.decided_at).label("decided_at"))
              .group_by(ConsentDecision.party_id, ConsentDecision.scope).subquery())
    still_granted = and_(ConsentDecision.decision == Decision.granted,
                         or_(ConsentDecision.expires_at.is_(None), ConsentDecision.expires_at > now))
    pairs = [(role.value, scope.value) for role in PartyRole for scope in PARTY_SCOPES[role]]
    columns = []
    for role, scope in pairs:
        this_pair = and_(Party.role == role, ConsentDecision.scope == scope)
        columns += [func.sum(case((this_pair, 1), else_=0)),
                    func.sum(case((and_(this_pair, still_granted), 1), else_=0))]
    # One row per referral, so the rebuild reads as many rows as there are referrals asked.
    for received_at, *sums in _stream(
        select(Referral.received_at, *columns)
        .select_from(latest)
        .join(ConsentDecision, and_(ConsentDecision.party_id == latest.c.party_id,
                                    ConsentDecision.scope == latest.c.scope,
                                    ConsentDecision.decided_at == latest.c.decided_at))
        .join(Party, Party.id == ConsentDecision.party_id)
        .join(Referral, Referral.id == ConsentDecision.referral_id)
        .group_by(Referral.id, Referral.received_at)
    ):
        for index, (role, scope) in enumerate(pairs):
            if sums[2 * index]:
                yield received_at, consent_category(role, scope), int(sums[2 * index]), int(sums[2 * index + 1])
    # Parties given a link who have not decided on a scope yet were asked too (their status is `pending`).
    linked = select(SecureLink.party_id).distinct().subquery()
    scopes = union_all(*(select(literal(scope.value).label("scope")) for scope in Scope)).subquery()
    for received_at, role, scope, asked in _stream(
        select(Referral.received_at, Party.role, scopes.c.scope, func.count())
        .select_from(linked)
        .join(Party, Party.id == linked.c.party_id)
        .join(Referral, Referral.id == Party.referral_id)
        .join(scopes, true())
        .where(~exists().where(ConsentDecision.party_id == linked.c.party_id,
                               ConsentDecision.scope == scopes.c.scope))
        .group_by(Referral.id, Referral.received_at, Party.role, scopes.c.scope)
    ):
        if scope in PARTY_SCOPES[PartyRole(role)]:
            yield received_at, consent_category(role, scope), asked, 0


def _with_months(counts: Counter[tuple[date, str, str]]) -> Counter[tuple[str, date, str, str]]:
    rolled: Counter[tuple[str, date, str, str]] = Counter()
    for (day, figure, category), count in counts.items():
        rolled[(DAY, day, figure, category)] += count
        rolled[(MONTH, day.replace(day=1), figure, category)] += count
    return rolled


def _period_rows(since: date | None, until: date | None) -> ColumnElement[bool]:
    """Month rows for the whole months of the period, day rows for the days before and after them."""
    first_month = since if since is None or since.day == 1 else _next_month(since)
    after_months = None if until is None else (_next_month(until) if _next_month(until) - timedelta(days=1) == until
                                               else until.replace(day=1))
    if first_month is not None and after_months is not None and first_month >= after_months:
        return _rows(DAY, since, until + timedelta(days=1) if until else None)
    parts = [_rows(MONTH, first_month, after_months)]
    if since is not None and first_month is not None and since < first_month:
        parts.append(_rows(DAY, since, first_month))
    if until is not None and after_months is not None and after_months <= until:
        parts.append(_rows(DAY, after_months, until + timedelta(days=1)))
    return or_(*parts)


def _rows(grain: str, start: date | None, end: date | None) -> ColumnElement[bool]:
    """Rows of `grain` starting in [start, end) (None: open)."""
    conditions: list[ColumnElement[bool]] = [StatisticsCount.grain == grain]
    if start is not None:
        conditions.append(StatisticsCount.period_start >= start)
    if end is not None:
        conditions.append(StatisticsCount.period_start < end)
    return and_(*conditions)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)

