"""The facilitators a slot search reads, stretch by stretch (see `search._Search`).

A roster of a thousand facilitators is mostly people whose weekly hours never meet the times the parties and the
venues leave open, or who are not eligible at all. So the search first reads the few distinct weekly windows in use
(per time zone), and for each stretch of time reads only the eligible facilitators with a window meeting it: their
profile, weekly hours and days off, in three statements, and nobody twice. An assigned pair is read at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


def _weekly_hours() -> ColumnElement[str | None]:
    """A facilitator's weekly windows as one text ("weekday start end" joined by ";", in no order)."""
    text = (cast(AvailabilityWindow.weekday, String) + " " + cast(AvailabilityWindow.start_time, String) + " "
            + cast(AvailabilityWindow.end_time, String))
    return (select(func.aggregate_strings(text, ";"))
            .where(AvailabilityWindow.user_id == FacilitatorProfile.user_id).scalar_subquery())


def _days_off() -> ColumnElement[str | None]:
    """A facilitator's days off as one text (ISO dates joined by ";")."""
    return (select(func.aggregate_strings(cast(AvailabilityException.on_date, String), ";"))
            .where(AvailabilityException.user_id == FacilitatorProfile.user_id,
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
        edge = self.people.edge() if self.inside is not None else None
        if edge is None and self.inside is False:
            return  # fewer than FIRST_TIER eligible: the first tier holds everyone
        if edge is not None:
            query = query.where(_within_edge(query, *edge, bool(self.inside)))
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
        self.read_edge = False  # see edge()
        self.last: tuple[int, int] | None = None
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

    def edge(self) -> tuple[int, int] | None:
        """The caseload and cap of the FIRST_TIER-th eligible facilitator by caseload ratio (None when fewer): read
        only once someone is to be read, so a search that meets nobody's hours reads no roster."""
        if self.read_edge:
            return self.last
        query = eligible_query(self.referral, self.on)
        last = db.session.execute(query.with_only_columns(query.selected_columns.load, _cap())
                                  .order_by(query.selected_columns.load * 1.0 / _cap())
                                  .offset(FIRST_TIER - 1).limit(1)).first()
        self.read_edge, self.last = True, None if last is None else (int(last[0]), int(last[1]))
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


def _within_edge(query: Select, load: int, cap: int, inside: bool) -> ColumnElement[bool]:
    """Those of `query` whose caseload ratio is at most load / cap (inside) or above it: as integers, so no
    rounding moves the edge, and everyone outside ranks after everyone inside."""
    at_most = query.selected_columns.load * cap <= _cap() * load
    return at_most if inside else ~at_most


def _read(query: Select) -> list[tuple[Candidate, Resource]]:
    """The candidates `query` reads, each with weekly hours and days off (one statement in all)."""
    rows = db.session.execute(query.add_columns(_weekly_hours(), _days_off())).all()
    return [(candidate(row), Resource(row[0], row[2], _windows(row[-2]), _dates(row[-1]))) for row in rows]


def local_day(day: date, timezone: str) -> Interval:
    """A local date as a UTC interval (a day off removes every window on it)."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC))
