"""Slot search (docs/design.md section 4): times when two facilitators and, in person, a suitable venue are free.

Inside availability and opening hours, outside other sessions plus a buffer, after the minimum notice, within
the horizon, outside the parties' declared unavailable times. With no assigned pair it searches eligible pairs.
A joint in-person meeting is staggered: the responsible party arrives earlier and leaves later than the survivor,
so the facilitators and the venue are held for that longer span.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from coordinator import clock
from coordinator.db import db
from coordinator.referrals.models import PartyRole, Referral
from coordinator.roster.eligibility import Candidate
from coordinator.roster.intervals import FreeTime, Interval, Window, expand, merge, subtract
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, Venue
from coordinator.roster.venues import VenueHours, suitable_venues
from coordinator.sessions.grid import Range, ranges_join, ranges_meet, ranges_minus
from coordinator.sessions.models import PARTIES_OF, PartyUnavailability, Reservation, SessionFormat, SessionKind
from coordinator.sessions.search_people import People, Resource, by_pattern, local_day

FIRST_STRETCH = timedelta(days=1)  # how far a search reads free time at first (see _Search)


@dataclass(frozen=True)
class Slot:
    """One bookable option."""

    start: datetime
    end: datetime
    facilitator_ids: tuple[uuid.UUID, uuid.UUID]
    venue_id: uuid.UUID | None


def stagger_for(kind: str, fmt: str) -> timedelta:
    """How much earlier the responsible party arrives (and later leaves) at a joint in-person meeting."""
    if kind == SessionKind.circle and fmt == SessionFormat.in_person:
        return timedelta(minutes=current_app.config["STAGGER_MINUTES"])
    return timedelta(0)


def held_span(start: datetime, end: datetime, stagger: timedelta) -> tuple[datetime, datetime]:
    """What a session holds of its facilitators and venue: staggering, then the buffer after it."""
    buffer = timedelta(minutes=current_app.config["SESSION_BUFFER_MINUTES"])
    return start - stagger, end + stagger + buffer


def _busy(resource_ids: list[uuid.UUID], start: datetime, end: datetime) -> dict[uuid.UUID, list]:
    """Active reservations of these resources near the window, widened by the buffer before them."""
    buffer = timedelta(minutes=current_app.config["SESSION_BUFFER_MINUTES"])
    found: dict[uuid.UUID, list] = {rid: [] for rid in resource_ids}
    if not resource_ids:
        return found
    rows = db.session.execute(
        select(Reservation.resource_id, Reservation.starts_at, Reservation.ends_at)
        .where(Reservation.resource_id.in_(resource_ids), Reservation.active.is_(True),
               Reservation.ends_at > start - buffer, Reservation.starts_at < end + buffer)
    ).all()
    for resource_id, starts_at, ends_at in rows:
        # A new session's held span [t, t + d + buffer) must not meet [s, e): so its start stays out of
        # [s - buffer - d, e). Widening by the buffer here and checking the held span below says the same.
        found[resource_id].append((starts_at - buffer, ends_at))
    return found


def facilitator_free_time(candidates: list[Candidate], start: datetime, end: datetime) -> dict[uuid.UUID, FreeTime]:
    """Each facilitator's free time between `start` and `end`, in three statements for the whole list."""
    ids = [c.user_id for c in candidates]
    windows: dict[uuid.UUID, list[Window]] = {i: [] for i in ids}
    for user_id, weekday, start_time, end_time in db.session.execute(
            select(AvailabilityWindow.user_id, AvailabilityWindow.weekday, AvailabilityWindow.start_time,
                   AvailabilityWindow.end_time).where(AvailabilityWindow.user_id.in_(ids))).all():
        windows[user_id].append(Window(weekday, start_time, end_time))
    closed: dict[uuid.UUID, set[date]] = {i: set() for i in ids}
    for user_id, on in db.session.execute(
            select(AvailabilityException.user_id, AvailabilityException.on_date)
            .where(AvailabilityException.user_id.in_(ids), AvailabilityException.unavailable.is_(True))).all():
        closed[user_id].add(on)
    busy = _busy(ids, start, end)
    return {c.user_id: FreeTime(subtract(expand(windows[c.user_id], c.timezone, start, end, closed[c.user_id]),
                                         busy[c.user_id])) for c in candidates}


def opening_windows(venue: Venue | VenueHours) -> list[Window]:
    """A venue's opening hours as weekly windows."""
    return [Window(int(entry["weekday"]), time.fromisoformat(entry["start"]), time.fromisoformat(entry["end"]))
            for entry in venue.opening_hours]


def venue_free_time(venues: list[Venue], start: datetime, end: datetime) -> dict[uuid.UUID, FreeTime]:
    """Each venue's free time: opening hours minus its reservations."""
    busy = _busy([venue.id for venue in venues], start, end)
    return {venue.id: FreeTime(subtract(expand(opening_windows(venue), venue.timezone, start, end), busy[venue.id]))
            for venue in venues}


class PartyTimes:
    """The parties' declared unavailable times (a handful per referral)."""

    def __init__(self, intervals: list[tuple[datetime, datetime]]):
        self.intervals = sorted(intervals)

    def clash(self, start: datetime, end: datetime) -> bool:
        """True when [start, end) meets a declared unavailable time."""
        return any(s < end and e > start for s, e in self.intervals)


def party_times(referral: Referral, kind: str) -> PartyTimes:
    """When the session's parties said they cannot come."""
    party_ids = [referral.require_party(role).id for role in PARTIES_OF[kind]]
    rows = db.session.execute(
        select(PartyUnavailability.starts_at, PartyUnavailability.ends_at)
        .where(PartyUnavailability.party_id.in_(party_ids))
    ).all()
    return PartyTimes([(s, e) for s, e in rows])


def _align(moment: datetime, step: timedelta) -> datetime:
    """The first step boundary at or after `moment` (steps count from midnight UTC)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    steps = -(-(moment - midnight) // step)
    return midnight + steps * step


def find_slots(referral: Referral, kind: str, fmt: str, duration: timedelta, start_on: date | None = None,
               end_on: date | None = None, limit: int = 10, interpreter: bool = False) -> list[Slot]:
    """The first `limit` options, earliest first, each with its pair of facilitators and (in person) a venue."""
    config = current_app.config
    now = clock.now()
    earliest = now + timedelta(hours=config["SLOT_NOTICE_HOURS"])
    latest = now + timedelta(days=config["SLOT_HORIZON_DAYS"])
    if start_on:
        earliest = max(earliest, datetime.combine(start_on, time.min, tzinfo=UTC))
    if end_on:
        latest = min(latest, datetime.combine(end_on + timedelta(days=1), time.min, tzinfo=UTC))
    if earliest + duration > latest:
        return []
    stagger = stagger_for(kind, fmt)
    fixed = bool(referral.lead_facilitator_id and referral.co_facilitator_id)
    pair = (referral.lead_facilitator_id, referral.co_facilitator_id) if fixed else None
    people = People(referral, earliest.date(), pair)  # type: ignore[arg-type]
    if fixed and len(people.tiers[0].candidates) < 2:
        return []
    venues = suitable_venues(kind) if fmt == SessionFormat.in_person else []
    if fmt == SessionFormat.in_person and not venues:
        return []
    parties = party_times(referral, kind)
    language = referral.require_party(PartyRole.survivor).preferred_language
    needs_speaker = PartyRole.survivor in PARTIES_OF[kind] and not interpreter
    search = _Search(people, venues, parties, language, needs_speaker, fixed, stagger, duration, earliest, latest,
                     timedelta(minutes=config["SLOT_STEP_MINUTES"]))
    return search.run(limit)


@dataclass
class _Search:
    """One slot search as a sweep over sorted lists of the starts each resource allows.

    The starts are the points of a grid (`step` apart from midnight UTC; the step divides a day) that are after the
    notice and leave the session inside the horizon. A start is bookable when the parties are free for the held
    span, two facilitators (one speaking the survivor's language when needed) and, in person, a venue each have one
    free interval holding it. Each of those constraints turns into sorted ranges of allowed grid indices; the
    parties' and the venues' ranges are met first (they are few), so facilitators are only looked at where a slot
    could still be, and weekly hours are expanded once per time zone and pattern, not once per facilitator. A sweep
    over the facilitators' range ends then keeps counts of who is free; the pair and the venue are chosen only for
    the stretches of grid where the counts allow a slot, and the sweep stops at `limit` slots. The result is the
    first `limit` bookable starts, each with the pair and venue `slot_at` would choose.

    Time is read in stretches: a day first, four times as far each time more is needed. The free time of a stretch
    is read from the first start it decides less the staggering, to the last one's held span, so no interval is cut
    where it matters, and nothing is read twice. Facilitators are read as stretches need them (`People.read`):
    only the eligible whose weekly hours meet the times still open, so a roster's size costs little by itself.
    """

    people: People
    venues: list[VenueHours]
    parties: PartyTimes
    language: str
    needs_speaker: bool
    fixed: bool
    stagger: timedelta
    duration: timedelta
    earliest: datetime
    latest: datetime
    step: timedelta
    origin: datetime = field(init=False)
    places: dict[tuple, list[Resource]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = self.earliest.replace(hour=0, minute=0, second=0, microsecond=0)
        self.places = by_pattern(Resource(v.id, v.timezone, tuple(sorted(
            (w.weekday, w.start, w.end) for w in opening_windows(v)))) for v in self.venues)

    def grid_after(self, moment: datetime) -> int:
        """The first grid index at or after `moment`."""
        return -((self.origin - moment) // self.step)

    def grid_before(self, moment: datetime) -> int:
        """The last grid index at or before `moment`."""
        return (moment - self.origin) // self.step

    def at(self, index: int) -> datetime:
        """The start at a grid index."""
        return self.origin + index * self.step

    def allowed(self, free: list[Interval]) -> list[Range]:
        """The grid indices whose held span one free interval holds."""
        before, after = self.stagger, self.duration + self.stagger
        ranges = []
        for opens, closes in free:
            if closes - opens >= before + after:
                low, high = self.grid_after(opens + before), self.grid_before(closes - after)
                if low <= high:
                    ranges.append((low, high))
        return ranges

    def free_ranges(self, resources: dict[tuple, list[Resource]], within: list[Range]) -> dict[uuid.UUID, list[Range]]:
        """Each resource's allowed grid indices inside `within`. Weekly hours are expanded once per pattern, and
        reservations are read only for resources whose weekly hours leave something there."""
        if not within:
            return {}
        read_from = self.at(within[0][0]) - self.stagger
        read_to = self.at(within[-1][1]) + self.duration + self.stagger
        weekly: dict[tuple, list[Interval]] = {}
        for pattern in resources:
            timezone, windows = pattern
            weekly[pattern] = expand([Window(*window) for window in windows], timezone, read_from, read_to)
        hopeful = [resource for pattern, members in resources.items()
                   if ranges_meet(self.allowed(weekly[pattern]), within) for resource in members]
        busy = _busy(list({resource.id for resource in hopeful}), read_from, read_to)
        found = {}
        for resource in hopeful:
            blocked = busy[resource.id] + [local_day(day, resource.timezone) for day in resource.closed]
            free = subtract(weekly[resource.pattern], blocked) if blocked else weekly[resource.pattern]
            ranges = ranges_meet(self.allowed(free), within)
            if ranges:
                found[resource.id] = ranges
        return found

    def party_ranges(self, low: int, high: int) -> list[Range]:
        """The grid indices between `low` and `high` whose held span meets no unavailable time of the parties."""
        blocked = []
        for starts, ends in self.parties.intervals:
            # [s - stagger, s + duration + stagger) meets [starts, ends) for s strictly between these two.
            first = self.grid_before(starts - self.duration - self.stagger) + 1
            last = self.grid_after(ends + self.stagger) - 1
            if first <= last:
                blocked.append((first, last))
        ranges, cursor = [], low
        for first, last in ranges_join(blocked):
            if first > cursor:
                ranges.append((cursor, min(first - 1, high)))
            cursor = max(cursor, last + 1)
            if cursor > high:
                break
        if cursor <= high:
            ranges.append((cursor, high))
        return [(first, last) for first, last in ranges if first <= last]

    def run(self, limit: int) -> list[Slot]:
        """Sweep stretch after stretch until `limit` slots are found or the horizon is done."""
        low = self.grid_after(self.earliest)
        last = self.grid_before(self.latest - self.duration)
        slots: list[Slot] = []
        stretch = FIRST_STRETCH
        while low <= last and len(slots) < limit:
            high = min(last, self.grid_before(self.at(low) + stretch))
            slots += self.sweep(low, high, limit - len(slots))
            low, stretch = high + 1, stretch * 4
        return slots

    def sweep(self, low: int, high: int, wanted: int) -> list[Slot]:
        """Up to `wanted` slots between grid indices `low` and `high`, earliest first.

        Facilitators are read in rank tiers. Where the best-ranked tier has a pair free, the slot and its pair are
        what the whole roster would give (anyone else ranks after all of them); only the starts it leaves
        undecided, before its `wanted`-th slot, are swept again with the other tier read for them.
        """
        within = self.party_ranges(low, high)
        venue_ranges: dict[uuid.UUID, list[Range]] = {}
        if self.places:
            venue_ranges = self.free_ranges(self.places, within)
            within = ranges_meet(within, ranges_join([r for ranges in venue_ranges.values() for r in ranges]))
        first = self.people.tiers[0]
        first.read(self.regions(within))
        slots, decided = self.sweep_among(first.candidates, first.patterns, within, venue_ranges, wanted)
        if len(self.people.tiers) == 1:
            return slots
        cutoff = self.grid_before(slots[wanted - 1].start) if len(slots) >= wanted else high
        undecided = ranges_minus(ranges_meet(within, [(low, cutoff)]), decided)
        self.people.tiers[1].read(self.regions(undecided))
        if not undecided or not self.people.tiers[1].candidates:
            return slots
        more, _decided = self.sweep_among(*self.people.everyone(), undecided, venue_ranges, wanted)
        return sorted(slots + more, key=lambda slot: slot.start)[:wanted]

    def regions(self, within: list[Range]) -> list[Interval]:
        """The times the held spans of starts in `within` cover."""
        return merge((self.at(first) - self.stagger, self.at(last) + self.duration + self.stagger)
                     for first, last in within)

    def sweep_among(self, candidates: list[Candidate], patterns: dict[tuple, list[Resource]], within: list[Range],
                    venue_ranges: dict[uuid.UUID, list[Range]], wanted: int) -> tuple[list[Slot], list[Range]]:
        """Up to `wanted` slots in `within` with pairs from `candidates`, and the ranges where they hold a pair."""
        people = self.free_ranges(patterns, within)
        if len(people) < 2 or not within:
            return [], []
        # Events: +1 where a facilitator's allowed range begins, -1 after it ends (keyed by candidate position,
        # as an assigned pair keeps its order).
        events: list[tuple[int, int, int]] = []
        for position, candidate in enumerate(candidates):
            for first, last in people.get(candidate.user_id, ()):
                events += [(first, 1, position), (last + 1, -1, position)]
        events.sort()
        free: set[int] = set()
        speakers = 0
        slots: list[Slot] = []
        decided: list[Range] = []
        index = 0
        while index < len(events) and len(slots) < wanted:
            moment = events[index][0]
            while index < len(events) and events[index][0] == moment:
                _moment, change, position = events[index]
                if change > 0:
                    free.add(position)
                else:
                    free.discard(position)
                speakers += change if candidates[position].speaks(self.language) else 0
                index += 1
            if len(free) < 2 or (self.needs_speaker and speakers < 1):
                continue
            pair = self.pair([candidates[p] for p in sorted(free)])
            if pair is None:
                continue
            until = events[index][0] - 1  # a range's end event always follows its start
            decided.append((moment, until))
            slots += self.slots_in(moment, until, pair, venue_ranges, wanted - len(slots))
        return slots, decided

    def slots_in(self, low: int, high: int, pair: tuple[uuid.UUID, uuid.UUID],
                 venue_ranges: dict[uuid.UUID, list[Range]], wanted: int) -> list[Slot]:
        """Up to `wanted` slots for `pair` in a stretch of grid where the same facilitators are free."""
        slots: list[Slot] = []
        index = low
        while index <= high and len(slots) < wanted:
            venue_id, until = None, high
            if self.venues:
                venue, until = self.venue_at(index, high, venue_ranges)
                if venue is None:
                    index = until + 1
                    continue
                venue_id = venue
            for moment in range(index, min(until, index + wanted - len(slots) - 1) + 1):
                start = self.at(moment)
                slots.append(Slot(start, start + self.duration, pair, venue_id))
            index = until + 1
        return slots

    def venue_at(self, index: int, high: int, venue_ranges: dict[uuid.UUID, list[Range]]) -> tuple:
        """The first venue by name free at a grid index and the last index (up to `high`) the choice holds; or
        None and the last index before one frees up."""
        until = high
        for venue in self.venues:
            ranges = venue_ranges.get(venue.id, [])
            position = bisect.bisect_right(ranges, index, key=lambda r: r[0]) - 1
            if position >= 0 and ranges[position][1] >= index:
                return venue.id, min(until, ranges[position][1])
            # An earlier-named venue that frees up later takes over the choice from there.
            if position + 1 < len(ranges):
                until = min(until, ranges[position + 1][0] - 1)
        return None, until

    def pair(self, available: list[Candidate]) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The assigned pair when both are free; otherwise the best-placed eligible pair with a speaker."""
        if self.fixed:
            if len(available) < 2:
                return None
            if self.needs_speaker and not any(c.speaks(self.language) for c in available):
                return None
            return available[0].user_id, available[1].user_id
        ranked = sorted(available, key=lambda c: (c.caseload / max(c.cap, 1), c.caseload, str(c.user_id)))
        speakers = [c for c in ranked if c.speaks(self.language)] if self.needs_speaker else ranked
        if not speakers:
            return None
        lead = speakers[0]
        co = next((c for c in ranked if c.user_id != lead.user_id), None)
        return (lead.user_id, co.user_id) if co else None
