"""The statistics rollup: rebuilt from the records (by a job, or on demand), read per period in one query.

The page then costs the same whatever the number of referrals: it sums a few rows per month of the period (and per
day at its ragged ends). Erased referrals keep their ids, dates and codes (coordinator/retention/service.py `erase`),
so they are counted like any other.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from operator import attrgetter
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select

from coordinator import clock
from coordinator.agreements.models import Agreement
from coordinator.consent.models import PARTY_SCOPES, ConsentDecision
from coordinator.consent.status import derive_status
from coordinator.db import db
from coordinator.portal.models import SecureLink
from coordinator.referrals.models import Party, PartyRole, Referral
from coordinator.sessions.models import ScheduledSession, SessionKind, SessionStatus
from coordinator.statistics.models import StatisticsCount, StatisticsRefresh

DAY, MONTH = "day", "month"
STREAM_ROWS = 5_000  # rows fetched at a time while rebuilding, so memory stays flat at any size

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
    for start in range(0, len(rows), 2_000):
        db.session.execute(insert(StatisticsCount), rows[start:start + 2_000])
    state = db.session.get(StatisticsRefresh, 1)
    assert state is not None  # written by the migration  # nosec B101
    state.refreshed_at = now
    db.session.flush()
    return now


def refreshed_at() -> datetime | None:
    """When the rollup was last rebuilt, or None when it never was."""
    return db.session.execute(select(StatisticsRefresh.refreshed_at).where(StatisticsRefresh.id == 1)).scalar()


def counts_for(since: date | None, until: date | None) -> Counter[Key]:
    """{(figure, category): count} over referrals received in the programme days [since, until] (None: open)."""
    rows = db.session.execute(
        select(StatisticsCount.figure, StatisticsCount.category, func.sum(StatisticsCount.count))
        .where(_period_rows(since, until))
        .group_by(StatisticsCount.figure, StatisticsCount.category)
    )
    return Counter({(figure, category): int(total) for figure, category, total in rows})


def _stream(statement) -> Iterator:
    return iter(db.session.execute(statement.execution_options(yield_per=STREAM_ROWS)))


def _consent_outcomes(now: datetime) -> Iterator[tuple[datetime, str, int, int]]:
    """(received_at, category, asked, granted) for every party and scope that has a status other than
    `not_requested`, each derived by the one status function from that party's decisions."""
    invited = set(db.session.execute(select(SecureLink.party_id).distinct()).scalars())
    decided: set[tuple] = set()
    decisions = _stream(
        select(ConsentDecision.party_id, ConsentDecision.scope, ConsentDecision.decision,
               ConsentDecision.decided_at, ConsentDecision.expires_at, Party.role, Referral.received_at)
        .join(Party, Party.id == ConsentDecision.party_id)
        .join(Referral, Referral.id == ConsentDecision.referral_id)
        .order_by(ConsentDecision.party_id, ConsentDecision.scope)
    )
    for (party_id, scope), group in itertools.groupby(decisions, key=attrgetter("party_id", "scope")):
        rows = list(group)
        role, received_at = rows[0].role, rows[0].received_at
        if party_id in invited:
            decided.add((party_id, scope))
        if scope in PARTY_SCOPES[PartyRole(role)]:
            yield received_at, consent_category(role, scope), *_outcome(rows, now, party_id in invited)
    if invited:
        # Parties sent a link who have not decided on a scope: asked all the same (their status is `pending`).
        for party_id, role, received_at in _stream(
            select(Party.id, Party.role, Referral.received_at).join(Referral, Referral.id == Party.referral_id)
            .where(Party.id.in_(select(SecureLink.party_id)))
        ):
            for scope in PARTY_SCOPES[PartyRole(role)]:
                if (party_id, scope.value) not in decided:
                    yield received_at, consent_category(role, scope.value), *_outcome([], now, True)


def _outcome(decisions: Iterable, now: datetime, invited: bool) -> tuple[int, int]:
    state = derive_status(decisions, now, invited)  # type: ignore[arg-type]  # rows carry the columns it reads
    return int(state.status != "not_requested"), int(state.granted)


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

