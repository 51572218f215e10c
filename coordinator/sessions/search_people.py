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

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, or_, select

from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.eligibility import Candidate, candidate, eligible, eligible_query, roster_query
from coordinator.roster.intervals import Interval, Window, expand
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, FacilitatorProfile

WindowKey = tuple[str, int, time, time]  # time zone, weekday, start, end


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


def _meets(intervals: list[Interval], regions: list[Interval]) -> bool:
    """True when some interval of the first sorted list overlaps one of the second."""
    i = j = 0
    while i < len(intervals) and j < len(regions):
        if intervals[i][0] < regions[j][1] and regions[j][0] < intervals[i][1]:
            return True
        if intervals[i][1] < regions[j][1]:
            i += 1
        else:
            j += 1
    return False


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


class People:
    """The candidates read so far, in the order read, and grouped by weekly pattern."""

    def __init__(self, referral: Referral, on: date, pair: tuple[uuid.UUID, uuid.UUID] | None):
        self.referral, self.on = referral, on
        self.candidates: list[Candidate] = []
        self.patterns: dict[tuple, list[Resource]] = {}
        self.unread: set[WindowKey] = set()
        if pair:
            found = self._read(roster_query(referral.case_id).where(FacilitatorProfile.user_id.in_(pair)))
            by_id = {c.user_id: (c, resource) for c, resource in found}
            self._add([by_id[i] for i in pair if i in by_id])
        else:
            self.unread = {(zone, weekday, start, end) for zone, weekday, start, end in db.session.execute(
                select(FacilitatorProfile.timezone, AvailabilityWindow.weekday, AvailabilityWindow.start_time,
                       AvailabilityWindow.end_time).distinct()
                .join(AvailabilityWindow, AvailabilityWindow.user_id == FacilitatorProfile.user_id))}

    def read(self, regions: list[Interval]) -> None:
        """Read the eligible facilitators not read yet who have a weekly window meeting one of `regions` (sorted):
        anyone free for a held span inside a region has one."""
        if not self.unread or not regions:
            return
        meeting = {key for key in self.unread
                   if _meets(expand([Window(*key[1:])], key[0], regions[0][0], regions[-1][1]), regions)}
        if not meeting:
            return
        self.unread -= meeting
        weekdays: dict[str, set[int]] = {}
        for zone, weekday, _start, _end in meeting:
            weekdays.setdefault(zone, set()).add(weekday)
        # By time zone and weekday only: a cheap test, and reading someone who cannot help costs a row, no more.
        query = eligible_query(self.referral, self.on).where(or_(*(
            and_(FacilitatorProfile.timezone == zone, select(AvailabilityWindow.id).where(
                AvailabilityWindow.user_id == FacilitatorProfile.user_id,
                AvailabilityWindow.weekday.in_(sorted(days))).exists())
            for zone, days in weekdays.items())))
        if self.candidates:
            query = query.where(FacilitatorProfile.user_id.not_in([c.user_id for c in self.candidates]))
        found = self._read(query)
        # SQL narrowed the rows; `eligible()` still decides, so its rules stay the one statement of eligibility.
        kept = {c.user_id for c in eligible([c for c, _resource in found], self.on, self.referral.facilitator_ids)}
        self._add([(c, resource) for c, resource in found if c.user_id in kept])

    @staticmethod
    def _read(query: Select) -> list[tuple[Candidate, Resource]]:
        """The candidates `query` reads, each with weekly hours and days off (one statement in all)."""
        rows = db.session.execute(query.add_columns(_weekly_hours(), _days_off())).all()
        return [(candidate(row), Resource(row[0], row[2], _windows(row[-2]), _dates(row[-1]))) for row in rows]

    def _add(self, found: list[tuple[Candidate, Resource]]) -> None:
        """Keep candidates read, in order."""
        self.candidates += [c for c, _resource in found]
        by_pattern((resource for _c, resource in found), self.patterns)


def local_day(day: date, timezone: str) -> Interval:
    """A local date as a UTC interval (a day off removes every window on it)."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC))
