"""The facilitators a slot search reads, as it needs them (see `search._Search.sweep`).

A search asks of the roster only who is free at the first few starts and, among them, the best-ranked pair. So it
reads the distinct weekly windows in use (per time zone) first, and nobody at all while no window meets the times
the parties and the venues leave open. Then it reads the first rank tier whole, in one statement: the FIRST_TIER
eligible facilitators with the lowest caseload ratio (ties included), each with profile, caseload, weekly hours and
days off. Everyone else is read, in one statement per stretch, only for the starts the first tier leaves undecided,
and only those with a window meeting them. An assigned pair is read at once.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, or_, select

from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.eligibility import Candidate, candidate, eligible, eligible_query, roster_query
from coordinator.roster.intervals import Interval
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, FacilitatorProfile

WindowKey = tuple[str, int, time, time]  # time zone, weekday, start, end
FIRST_TIER = 40  # how many of the best-ranked facilitators a search reads first


@dataclass
class Resource:
    """A facilitator or a venue as the search sees it: weekly hours in a time zone, and days off."""

    id: uuid.UUID
    timezone: str
    windows: tuple[tuple, ...]  # (weekday, start, end), sorted
    closed: frozenset[date] = frozenset()

    @property
    def pattern(self) -> tuple:
        """What its weekly free time depends on: resources sharing it share the expansion."""
        return self.timezone, self.windows


def by_pattern(resources: Iterable[Resource], grouped: dict[tuple, list[Resource]] | None = None
               ) -> dict[tuple, list[Resource]]:
    """Resources grouped by what their weekly free time depends on (added to `grouped` when given)."""
    grouped = {} if grouped is None else grouped
    for resource in resources:
        grouped.setdefault(resource.pattern, []).append(resource)
    return grouped


def _meeting(keys: set[WindowKey], regions: list[Interval]) -> set[WindowKey]:
    """The weekly windows that, on some local day, overlap one of `regions` (as `expand` would place them)."""
    by_zone: dict[str, dict[int, list[WindowKey]]] = {}
    for key in keys:
        by_zone.setdefault(key[0], {}).setdefault(key[1], []).append(key)
    found: set[WindowKey] = set()
    for timezone, by_weekday in by_zone.items():
        zone = ZoneInfo(timezone)
        for start, end in regions:
            day, last = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
            while day <= last:
                for key in by_weekday.get(day.weekday(), ()):
                    opens = datetime.combine(day, key[2], tzinfo=zone).astimezone(UTC)
                    closes = datetime.combine(day, key[3], tzinfo=zone).astimezone(UTC)
                    if opens < closes and opens < end and start < closes:
                        found.add(key)
                day += timedelta(days=1)
    return found


def _weekly_hours(user_id: ColumnElement = FacilitatorProfile.user_id) -> ColumnElement[str | None]:
    """A facilitator's weekly windows as one text ("weekday start end" joined by ";", in no order)."""
    text = (cast(AvailabilityWindow.weekday, String) + " " + cast(AvailabilityWindow.start_time, String) + " "
            + cast(AvailabilityWindow.end_time, String))
    return (select(func.aggregate_strings(text, ";"))
            .where(AvailabilityWindow.user_id == user_id).scalar_subquery())


def _days_off(user_id: ColumnElement = FacilitatorProfile.user_id) -> ColumnElement[str | None]:
    """A facilitator's days off as one text (ISO dates joined by ";")."""
    return (select(func.aggregate_strings(cast(AvailabilityException.on_date, String), ";"))
            .where(AvailabilityException.user_id == user_id,
                   AvailabilityException.unavailable.is_(True)).scalar_subquery())


@lru_cache(maxsize=256)
def _windows(text: str | None) -> tuple[tuple, ...]:
    """Weekly windows from their text, sorted (a roster shares a handful of patterns, so each is parsed once)."""
    parts = (item.split(" ") for item in (text or "").split(";") if item)
    return tuple(sorted((int(weekday), time.fromisoformat(start), time.fromisoformat(end))
                        for weekday, start, end in parts))


def _dates(text: str | None) -> frozenset[date]:
    """Dates from their text."""
    return frozenset(date.fromisoformat(item) for item in (text or "").split(";") if item)


class Tier:
    """Candidates of one rank tier read so far, in the order read, and grouped by weekly pattern."""

    def __init__(self, people: People, inside: bool | None, unread: set[WindowKey]):
        self.people, self.inside, self.unread = people, inside, set(unread)
        self.candidates: list[Candidate] = []
        self.patterns: dict[tuple, list[Resource]] = {}

    def read(self, regions: list[Interval]) -> None:
        """Read the tier's eligible facilitators not read yet who have a weekly window meeting one of `regions`
        (sorted): anyone free for a held span inside a region has one."""
        if not self.unread or not regions:
            return
        meeting = _meeting(self.unread, regions)
        if not meeting:
            return
        if self.inside:
            self.people.read_first()
            return
        self.unread -= meeting
        weekdays: dict[str, set[int]] = {}
        for zone, weekday, _start, _end in meeting:
            weekdays.setdefault(zone, set()).add(weekday)
        referral, on = self.people.referral, self.people.on
        # By time zone and weekday only: a cheap test, and reading someone who cannot help costs a row, no more.
        query = eligible_query(referral, on).where(or_(*(
            and_(FacilitatorProfile.timezone == zone, select(AvailabilityWindow.id).where(
                AvailabilityWindow.user_id == FacilitatorProfile.user_id,
                AvailabilityWindow.weekday.in_(sorted(days))).exists())
            for zone, days in weekdays.items())))
        edge = self.people.edge()
        if edge is None:
            return  # nobody is eligible
        query = query.where(_beyond(query, *edge))
        if self.candidates:
            query = query.where(FacilitatorProfile.user_id.not_in([c.user_id for c in self.candidates]))
        found = _read(query)
        # SQL narrowed the rows; `eligible()` still decides, so its rules stay the one statement of eligibility.
        kept = {c.user_id for c in eligible([c for c, _resource in found], on, referral.facilitator_ids)}
        self.add([(c, resource) for c, resource in found if c.user_id in kept])

    def add(self, found: list[tuple[Candidate, Resource]]) -> None:
        """Keep candidates read, in order."""
        self.candidates += [c for c, _resource in found]
        by_pattern((resource for _c, resource in found), self.patterns)


class People:
    """The facilitators a search may pair, in rank tiers: the best-ranked few first (see `_Search.sweep`), then
    everyone else where the few leave a time undecided. An assigned pair is one tier, read at once."""

    def __init__(self, referral: Referral, on: date, pair: tuple[uuid.UUID, uuid.UUID] | None):
        self.referral, self.on = referral, on
        self.first_read = False  # see read_first()
        self.last: tuple[int, int] | None = None  # the highest caseload and cap of the first tier
        if pair:
            found = _read(roster_query(referral.case_id).where(FacilitatorProfile.user_id.in_(pair)))
            by_id = {c.user_id: (c, resource) for c, resource in found}
            only = Tier(self, None, set())
            only.add([by_id[i] for i in pair if i in by_id])
            self.tiers = [only]
            return
        unread = {(zone, weekday, start, end) for zone, weekday, start, end in db.session.execute(
            select(FacilitatorProfile.timezone, AvailabilityWindow.weekday, AvailabilityWindow.start_time,
                   AvailabilityWindow.end_time).distinct()
            .join(AvailabilityWindow, AvailabilityWindow.user_id == FacilitatorProfile.user_id))}
        self.tiers = [Tier(self, True, unread), Tier(self, False, unread)]

    def read_first(self) -> None:
        """Read the first tier whole, in one statement: the FIRST_TIER eligible facilitators with the lowest
        caseload ratio, and anyone sharing the last one's ratio (so everyone else ranks after all of them)."""
        if self.first_read:
            return
        self.first_read = True
        query = eligible_query(self.referral, self.on)
        ratio = query.selected_columns.load * 1.0 / _cap()
        ranked = query.add_columns(_cap(), func.rank().over(order_by=ratio)).subquery()
        # Weekly hours and days off outside the ranking, so only the first tier's are gathered.
        rows = db.session.execute(select(ranked, _weekly_hours(ranked.c.user_id), _days_off(ranked.c.user_id))
                                  .where(list(ranked.c)[-1] <= FIRST_TIER)).all()
        if rows:
            last = max(rows, key=lambda row: Fraction(int(row[3]), int(row[7])))
            self.last = int(last[3]), int(last[7])
        found = [(candidate(row), Resource(row[0], row[2], _windows(row[-2]), _dates(row[-1]))) for row in rows]
        kept = {c.user_id for c in eligible([c for c, _resource in found], self.on, self.referral.facilitator_ids)}
        first = self.tiers[0]
        first.unread = set()
        first.add([(c, resource) for c, resource in found if c.user_id in kept])

    def edge(self) -> tuple[int, int] | None:
        """The highest caseload ratio of the first tier, as caseload and cap (None when nobody is eligible)."""
        self.read_first()
        return self.last

    def everyone(self) -> tuple[list[Candidate], dict[tuple, list[Resource]]]:
        """The candidates of every tier read so far, and them grouped by weekly pattern."""
        candidates = [c for tier in self.tiers for c in tier.candidates]
        patterns: dict[tuple, list[Resource]] = {}
        for tier in self.tiers:
            for pattern, members in tier.patterns.items():
                patterns.setdefault(pattern, []).extend(members)
        return candidates, patterns


def _cap() -> ColumnElement[int]:
    """The cap as ranking divides by it (at least 1)."""
    return case((FacilitatorProfile.max_active_referrals < 1, 1), else_=FacilitatorProfile.max_active_referrals)


def _beyond(query: Select, load: int, cap: int) -> ColumnElement[bool]:
    """Those of `query` whose caseload ratio is above load / cap: in integers, so no rounding moves the edge."""
    return query.selected_columns.load * cap > _cap() * load


def _read(query: Select) -> list[tuple[Candidate, Resource]]:
    """The candidates `query` reads, each with weekly hours and days off (one statement in all)."""
    rows = db.session.execute(query.add_columns(_weekly_hours(), _days_off())).all()
    return [(candidate(row), Resource(row[0], row[2], _windows(row[-2]), _dates(row[-1]))) for row in rows]


def local_day(day: date, timezone: str) -> Interval:
    """A local date as a UTC interval (a day off removes every window on it)."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC))
