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
from coordinator.roster.eligibility import Candidate, eligible_for, roster
from coordinator.roster.intervals import FreeTime, Window, expand, subtract
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, Venue
from coordinator.sessions.models import PARTIES_OF, PartyUnavailability, Reservation, SessionFormat, SessionKind

FIRST_STRETCH = timedelta(days=7)  # how far a search reads free time at first (see _Search)


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


def opening_windows(venue: Venue) -> list[Window]:
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
    if referral.lead_facilitator_id and referral.co_facilitator_id:
        by_id = {c.user_id: c for c in roster(referral.case_id)}
        candidates = [by_id[i] for i in (referral.lead_facilitator_id, referral.co_facilitator_id) if i in by_id]
        fixed = True
    else:
        candidates = eligible_for(referral, earliest.date())
        fixed = False
    if len(candidates) < 2:
        return []
    venues = []
    if fmt == SessionFormat.in_person:
        venues = sorted((v for v in db.session.execute(select(Venue)).scalars() if v.suits(kind)),
                        key=lambda v: v.name)
        if not venues:
            return []
    parties = party_times(referral, kind)
    language = referral.require_party(PartyRole.survivor).preferred_language
    needs_speaker = PartyRole.survivor in PARTIES_OF[kind] and not interpreter
    search = _Search(candidates, venues, parties, language, needs_speaker, fixed, stagger, duration, earliest, latest,
                     timedelta(minutes=config["SLOT_STEP_MINUTES"]))
    return search.run(limit)


@dataclass
class _Search:
    """One slot search: candidate starts in order, each checked for a pair and a venue.

    Free time is read in stretches from the start of the search: a week first, four times as far each time more is
    needed, up to the horizon. Most searches fill their limit in the first week, and reading all 90 days of every
    eligible facilitator's windows and reservations is what a search would otherwise spend its time on. The result
    is the same as reading the whole horizon at once: a free interval that begins inside the loaded stretch begins
    there in the whole horizon too (only its end may be cut), so the candidate starts before the end of the
    stretch are all known, and a check whose held span ends inside the stretch gives the same answer.
    """

    candidates: list[Candidate]
    venues: list[Venue]
    parties: PartyTimes
    language: str
    needs_speaker: bool
    fixed: bool
    stagger: timedelta
    duration: timedelta
    earliest: datetime
    latest: datetime
    step: timedelta
    free: dict[uuid.UUID, FreeTime] = field(default_factory=dict)
    venue_free: dict[uuid.UUID, FreeTime] = field(default_factory=dict)
    starts: list[datetime] = field(default_factory=list)
    loaded_until: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.loaded_until = self.search_start  # nothing is read until `run` loads the first stretch

    @property
    def search_start(self) -> datetime:
        """Where free time is read from: the earliest start, less the responsible party's earlier arrival."""
        return self.earliest - self.stagger

    @property
    def search_end(self) -> datetime:
        """Where free time is read to: the latest start's held span."""
        return self.latest + self.stagger + self.duration

    def load(self, until: datetime) -> None:
        """Read free time from the start of the search to `until` (at most the end), and the starts it offers.

        A run of bookable starts can only begin where some constraint lifts: a facilitator's or a venue's free
        time begins, or a party's unavailable time ends. Those moments are the candidate starts.
        """
        self.loaded_until = min(until, self.search_end)
        self.free = facilitator_free_time(self.candidates, self.search_start, self.loaded_until)
        self.venue_free = venue_free_time(self.venues, self.search_start, self.loaded_until)
        lifts = [interval_start for free in (*self.free.values(), *self.venue_free.values())
                 for interval_start, _end in free.intervals]
        lifts += [ends for _starts, ends in self.parties.intervals if ends < self.loaded_until]
        self.starts = sorted({_align(max(moment + self.stagger, self.earliest), self.step) for moment in lifts})

    def read_further(self, needed: datetime) -> None:
        """Read four times as far as before, and at least to `needed`."""
        self.load(max(needed, self.search_start + 4 * (self.loaded_until - self.search_start)))

    def next_start(self, after: datetime | None) -> datetime | None:
        """The first candidate start (where a constraint lifts) after `after`, or None."""
        while True:
            index = 0 if after is None else bisect.bisect_right(self.starts, after)
            found = self.starts[index] if index < len(self.starts) else None
            # A start past the loaded stretch may have an earlier one, not read yet, before it.
            if self.loaded_until >= self.search_end or (found is not None and found < self.loaded_until):
                return found
            self.read_further(self.loaded_until)

    def run(self, limit: int) -> list[Slot]:
        """Walk candidate starts and the steps after each, until `limit` slots are found."""
        self.load(self.search_start + FIRST_STRETCH)
        slots: list[Slot] = []
        seen: set[datetime] = set()
        start = None
        while len(slots) < limit and (start := self.next_start(start)) is not None:
            moment = start
            while moment + self.duration <= self.latest and moment not in seen and len(slots) < limit:
                seen.add(moment)
                slot = self.slot_at(moment)
                if slot is None:
                    break
                slots.append(slot)
                moment += self.step
        return sorted(slots, key=lambda slot: slot.start)

    def slot_at(self, start: datetime) -> Slot | None:
        """A slot starting at `start`, or None."""
        end = start + self.duration
        held_from, held_to = start - self.stagger, end + self.stagger
        if held_to > self.loaded_until:
            self.read_further(held_to)
        if self.parties.clash(start - self.stagger, held_to):
            return None
        available = [c for c in self.candidates if self.free[c.user_id].covers(held_from, held_to)]
        pair = self.pair(available)
        if pair is None:
            return None
        venue_id = None
        if self.venues:
            venue = next((v for v in self.venues if self.venue_free[v.id].covers(held_from, held_to)), None)
            if venue is None:
                return None
            venue_id = venue.id
        return Slot(start, end, pair, venue_id)

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
