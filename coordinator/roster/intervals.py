"""Time, in time zones: weekly local windows and dated exceptions expanded to UTC intervals, and interval algebra.

Every interval is half-open [start, end) in aware UTC. Local windows are turned into UTC per date with zoneinfo,
so a 09:00 window stays at 09:00 local on both sides of a daylight-saving change.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    """A weekly window in local time (weekday 0 is Monday)."""

    weekday: int
    start: time
    end: time


def expand(windows: Iterable[Window], timezone: str, start: datetime, end: datetime,
           closed_dates: Iterable[date] = ()) -> list[Interval]:
    """The windows as UTC intervals between `start` and `end`, skipping `closed_dates` (local dates)."""
    zone = ZoneInfo(timezone)
    closed = set(closed_dates)
    by_weekday: dict[int, list[Window]] = {}
    for window in windows:
        by_weekday.setdefault(window.weekday, []).append(window)
    intervals = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        if day not in closed:
            for window in by_weekday.get(day.weekday(), ()):
                opens = datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)
                closes = datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)
                if closes > opens:
                    intervals.append((max(opens, start), min(closes, end)))
        day += timedelta(days=1)
    return merge(interval for interval in intervals if interval[1] > interval[0])


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def subtract(free: Sequence[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """`free` without any part of `busy` (both sorted results)."""
    result = []
    blocks = merge(busy)
    index = 0
    for start, end in free:
        cursor = start
        while index < len(blocks) and blocks[index][1] <= cursor:
            index += 1
        scan = index
        while scan < len(blocks) and blocks[scan][0] < end:
            block_start, block_end = blocks[scan]
            if block_start > cursor:
                result.append((cursor, block_start))
            cursor = max(cursor, block_end)
            scan += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """The times in both."""
    result = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


class FreeTime:
    """Sorted free intervals with a fast "free for all of [start, end)?" check."""

    def __init__(self, intervals: Sequence[Interval]):
        self.intervals = list(intervals)
        self.starts = [start for start, _end in self.intervals]

    def covers(self, start: datetime, end: datetime) -> bool:
        """True when one free interval holds all of [start, end)."""
        index = bisect.bisect_right(self.starts, start) - 1
        return index >= 0 and self.intervals[index][1] >= end

    def total(self) -> timedelta:
        """How much free time there is."""
        return sum((end - start for start, end in self.intervals), timedelta(0))
