"""Benchmark: slot search over a busy roster, and booking (budgets: 100 ms median search, 100 ms p95 booking).

Run with `make bench` (both backends) or `.venv/bin/python -m bench.slot_search --backend sqlite`.
Each run builds a fresh database in a separate process: 200 facilitators on the roster (languages,
trafficking-specialist training valid a year, weekday availability in four time zones, a few days off), 20 venues
with opening hours, about 1,000 referrals carrying 5,000 booked sessions over the next 90 days with their
facilitators and active reservations (held spans as `slots.held_span` computes them), one referral with no
facilitators assigned, and referrals ready for their circle. Rows go in with bulk core inserts; the ready referrals
go through the services (consents, acknowledgement, preparation meetings, assessment), as the readiness gate reads
all of them.

Then, through the whole Flask stack with the in-process test client and a coordinator's bearer token, it times
(a) `GET /api/v1/referrals/{id}/slots` as a pair search (no facilitators assigned; circle, in person, 120 minutes,
90-day horizon, limit 10): median of the runs; and (b) `POST /api/v1/referrals/{id}/sessions`, each booking a circle
at the first slot of a search made just before it (so no booking clashes with another): p95 of the bookings.
`--profile` prints where the pair search spends its time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import signal
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

os.environ.setdefault("COORDINATOR_ENV", "testing")

from sqlalchemy import func, insert, select

from bench.referral_list import time_requests
from bench.scratch import filled, scratch_database, worker_app
from config import generate_encryption_key
from coordinator import clock
from coordinator.accounts.models import SYSTEM, User
from coordinator.accounts.service import issue_token, password_hasher
from coordinator.crypto import seal_context
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Party, Referral
from coordinator.roster.intervals import FreeTime, Window, expand, intersect
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, FacilitatorProfile, Training, Venue
from coordinator.sessions.api import slot_json
from coordinator.sessions.models import PartyUnavailability, Reservation, ScheduledSession, SessionFacilitator
from coordinator.sessions.search import find_slots, held_span, stagger_for
from tests.factories import Factory

SEARCH_BUDGET_MS = 100.0  # median of the pair search at the largest scale
EMPTY_BUDGET_MS = 300.0  # median of the search that finds nothing in 90 days, at the largest scale
GROWTH_BUDGET = 2.5  # a search at 5x the roster may cost at most this many times the search at 1x
BOOKING_BUDGET_MS = 100.0  # p95 of the bookings
WARM_UP_BOOKINGS = 5
PASSWORD = "benchmark passphrase"
ZONES = ("Europe/Madrid",) * 4 + ("Europe/London", "Europe/Bucharest", "America/New_York") * 2
LANGUAGES = ("es", "fr", "ro", "pt", "uk", "de", "it")
# Weekly patterns in the facilitator's own time zone: (weekdays, [(start, end), ...]).
PATTERNS = (
    (range(5), [("09:00", "17:00")]),
    (range(4), [("08:00", "16:00")]),
    (range(5), [("09:00", "13:00"), ("14:00", "18:00")]),
    (range(1, 6), [("10:00", "18:00")]),
)
# Each referral's upcoming sessions: (kind, chance of in person, minutes).
SESSION_PLAN = (("pre_conference_survivor", 0.3, 90), ("pre_conference_responsible", 0.3, 90),
                ("circle", 0.7, 150), ("follow_up", 0.1, 60), ("follow_up", 0.1, 60))
SEARCH_QUERY = "kind=circle&format=in_person&duration=120"


class Placer:
    """Places sessions where both facilitators are available and, in person, a suitable venue is open; the held
    spans of one facilitator or venue never overlap, as the database requires of active reservations."""

    def __init__(self, rng: random.Random, earliest: datetime, venues: list):
        self.rng, self.earliest, self.venues = rng, earliest, venues
        self.held: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}

    def free(self, resource_id: uuid.UUID, span: tuple[datetime, datetime]) -> bool:
        """True when nothing held of the resource meets `span`."""
        return all(s >= span[1] or e <= span[0] for s, e in self.held.get(resource_id, ()))

    def place(self, pair_ids: list[uuid.UUID], common: list, kind: str, in_person: bool, minutes: int):
        """(start, end, format, venue, held span) inside the pair's common availability, or None; holds it."""
        fmt = "in_person" if in_person else "video"
        stagger, duration, step = stagger_for(kind, fmt), timedelta(minutes=minutes), timedelta(minutes=30)
        roomy = [(s, e) for s, e in common if e - s >= duration + 2 * stagger and e > self.earliest]
        for _attempt in range(40):
            if not roomy:
                return None
            opens, closes = self.rng.choice(roomy)
            start = opens + stagger + step * self.rng.randint(0, (closes - opens - duration - 2 * stagger) // step)
            span = held_span(start, start + duration, stagger)
            if start < self.earliest or not all(self.free(i, span) for i in pair_ids):
                continue
            venue = None
            if in_person:
                venue = next((v for v in self.rng.sample(self.venues, len(self.venues)) if Venue.suits(v, kind)
                              and v.opening.covers(span[0], start + duration + stagger) and self.free(v.id, span)),
                             None)
                if venue is None:
                    continue
            for resource_id in [*pair_ids, *([venue.id] if venue else [])]:
                self.held.setdefault(resource_id, []).append(span)
            return start, start + duration, fmt, venue, span
        return None


class Rows:
    """Rows to insert in bulk, table by table, in the order they are first added (parents first)."""

    def __init__(self, app, now: datetime):
        self.keyring, self.now = app.extensions["keyring"], now
        self.tables: dict[type, list[dict]] = {}

    def add(self, model: type, **row) -> dict:
        """One row of `model`; returns it."""
        self.tables.setdefault(model, []).append(row)
        return row

    def seal(self, table: str, column: str, row_id: uuid.UUID, text: str) -> str:
        """Encrypt a cell as the model's sealed attribute would."""
        return self.keyring.seal(text, seal_context(table, column, row_id))

    def insert(self, connection, batch: int = 5000) -> None:
        """Everything, in batches of core inserts."""
        for model, rows in self.tables.items():
            for start in range(0, len(rows), batch):
                connection.execute(insert(model), rows[start:start + batch])


def add_user(rows: Rows, role: str, index: int, password_hash: str) -> uuid.UUID:
    """A staff account."""
    user_id = uuid.uuid4()
    rows.add(User, id=user_id, email=f"{role}{index}@bench.example", role=role, password_hash=password_hash,
             language="en", active=True, created_at=rows.now, password_changed_at=rows.now,
             name_enc=rows.seal("users", "name_enc", user_id, f"{role.title()} {index}"))
    return user_id


def add_roster(rows: Rows, rng: random.Random, count: int, password_hash: str, until: datetime) -> list:
    """Facilitators on the roster: languages, training, time zone, caseload cap, weekly windows, a few days off.
    Returns them with their availability expanded to UTC, for placing sessions."""
    now, roster = rows.now, []
    for index in range(count):
        user_id = add_user(rows, "facilitator", index, password_hash)
        languages = {"en", *rng.sample(LANGUAGES, rng.choice((1, 2)))} | ({"es"} if index % 3 == 0 else set())
        zone = rng.choice(ZONES)
        rows.add(FacilitatorProfile, user_id=user_id, languages=sorted(languages), timezone=zone,
                 max_active_referrals=rng.choice((10, 12, 14)))
        for kind, days in (("trafficking_specialist", 365), ("restorative_practice", 730)):
            rows.add(Training, id=uuid.uuid4(), user_id=user_id, kind=kind,
                     valid_until=(now + timedelta(days=days)).date())
        pattern = rng.randrange(len(PATTERNS))
        weekdays, hours = PATTERNS[pattern]
        weekly = [Window(day, clock_time.fromisoformat(start), clock_time.fromisoformat(end))
                  for day in weekdays for start, end in hours]
        for window in weekly:
            rows.add(AvailabilityWindow, id=uuid.uuid4(), user_id=user_id, weekday=window.weekday,
                     start_time=window.start, end_time=window.end)
        days_off = set()
        if rng.random() < 0.2:
            days_off = {(now + timedelta(days=rng.randint(2, 89))).date() for _ in range(rng.randint(1, 3))}
        for day in sorted(days_off):
            rows.add(AvailabilityException, id=uuid.uuid4(), user_id=user_id, on_date=day, unavailable=True)
        roster.append(SimpleNamespace(id=user_id, zone=zone, pattern=pattern, languages=languages,
                                      free=expand(weekly, zone, now, until, days_off)))
    return roster


def add_venues(rows: Rows, count: int, until: datetime) -> list:
    """Venues open on weekdays (some on Saturday mornings too); three in four suit a circle."""
    venues = []
    for index in range(count):
        venue_id, zone, suits = uuid.uuid4(), ZONES[index % len(ZONES)], index % 4 != 3
        hours = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(5)]
        if index % 4 == 0:
            hours.append({"weekday": 5, "start": "09:00", "end": "14:00"})
        venue = rows.add(Venue, id=venue_id, name=f"Venue {index:02d}", timezone=zone, separate_waiting_rooms=suits,
                         accessible=index % 2 == 0, capacity=10 if suits else 3, opening_hours=hours, active=True,
                         address_enc=rows.seal("venues", "address_enc", venue_id, f"{index} Bench Street, {zone}"))
        opening = [Window(h["weekday"], clock_time.fromisoformat(h["start"]), clock_time.fromisoformat(h["end"]))
                   for h in hours]
        venues.append(SimpleNamespace(**venue, opening=FreeTime(expand(opening, zone, rows.now, until))))
    return venues


def add_referral(rows: Rows, index: int, coordinator_id: uuid.UUID, pair, status: str, language: str) -> tuple:
    """A referral with its case and its two parties; returns its id and the parties' ids by role."""
    case_id, referral_id = uuid.uuid4(), uuid.uuid4()
    rows.add(CriminalCase, id=case_id, jurisdiction="Benchshire", court="Bench Court", docket_number=f"S-{index:06d}",
             charges=["Human trafficking"], stage="charged", created_at=rows.now)
    rows.add(Referral, id=referral_id, reference=f"RJ-BENCH-{index:05d}", source="prosecutor", status=status,
             case_id=case_id, lead_facilitator_id=pair[0].id if pair else None,
             co_facilitator_id=pair[1].id if pair else None, created_by_id=coordinator_id,
             received_at=rows.now - timedelta(days=60), updated_at=rows.now)
    parties = {}
    for role, party_language in (("survivor", language), ("responsible_party", "en")):
        parties[role] = party_id = uuid.uuid4()
        rows.add(Party, id=party_id, referral_id=referral_id, role=role, preferred_language=party_language,
                 needs_interpreter=False, alias_enc=rows.seal("parties", "alias_enc", party_id, f"Alias {index}"))
    return referral_id, parties


def add_session(rows: Rows, rng: random.Random, referral_id: uuid.UUID, coordinator_id: uuid.UUID, pair, kind: str,
                placed: tuple) -> None:
    """A booked session with its facilitators and the active reservations of its held span."""
    start, end, fmt, venue, span = placed
    session_id = uuid.uuid4()
    rows.add(ScheduledSession, id=session_id, referral_id=referral_id, kind=kind, format=fmt, starts_at=start,
             ends_at=end, status=rng.choice(("proposed", "confirmed")), sequence=0,
             venue_id=venue.id if venue else None, interpreter=False, ical_uid=uuid.uuid4(),
             created_by_id=coordinator_id, created_at=rows.now, updated_at=rows.now)
    for person in pair:
        rows.add(SessionFacilitator, session_id=session_id, user_id=person.id)
    for resource_type, resource_id in [("facilitator", p.id) for p in pair] + ([("venue", venue.id)] if venue else []):
        rows.add(Reservation, id=uuid.uuid4(), session_id=session_id, resource_type=resource_type,
                 resource_id=resource_id, starts_at=span[0], ends_at=span[1], active=True)


def build(app, facilitators: int, venues: int, sessions: int, ready: int) -> dict:
    """Fill the database; returns the coordinator's token, the referral searched and those ready to book."""
    rng = random.Random(42)
    with app.app_context():
        now = clock.now()
        until = now + timedelta(days=90)
        rows = Rows(app, now)
        password_hash = password_hasher().hash(PASSWORD)
        coordinator_id = add_user(rows, "coordinator", 0, password_hash)
        roster = add_roster(rows, rng, facilitators, password_hash, until)
        placer = Placer(rng, now + timedelta(hours=2), add_venues(rows, venues, until))
        by_zone: dict[str, list] = {}
        for person in roster:
            by_zone.setdefault(person.zone, []).append(person)

        # Referrals with a pair (usually from one time zone, so their weeks overlap), about five sessions each.
        placed_count = index = 0
        while placed_count < sessions and index < sessions:
            lead = rng.choice(roster)
            co = rng.choice([p for p in (by_zone[lead.zone] if rng.random() < 0.8 else roster) if p is not lead])
            language = rng.choice(sorted(lead.languages | co.languages))
            referral_id, _parties = add_referral(rows, index, coordinator_id, (lead, co), "circle_scheduled", language)
            index += 1
            common = intersect(lead.free, co.free)
            for kind, in_person_chance, minutes in SESSION_PLAN:
                placed = placer.place([lead.id, co.id], common, kind, rng.random() < in_person_chance, minutes)
                if placed is not None and placed_count < sessions:
                    add_session(rows, rng, referral_id, coordinator_id, (lead, co), kind, placed)
                    placed_count += 1

        # The referral searched for a pair: no facilitators yet; the survivor cannot come on two days.
        search_referral, parties = add_referral(rows, index, coordinator_id, None, "preparation", "es")
        for day in (3, 4):
            midnight = datetime.combine((now + timedelta(days=day)).date(), clock_time(), tzinfo=UTC)
            rows.add(PartyUnavailability, id=uuid.uuid4(), party_id=parties["survivor"], starts_at=midnight,
                     ends_at=midnight + timedelta(days=1))
        # The referral whose search finds nothing: the survivor can come only on Sundays (UTC), when nobody on
        # the roster works. A video meeting, so no venue rules it out first: every facilitator is looked at.
        empty_referral, parties = add_referral(rows, index + 1, coordinator_id, None, "preparation", "es")
        monday = datetime.combine(now.date() - timedelta(days=now.weekday()), clock_time(), tzinfo=UTC)
        while monday < until + timedelta(days=7):
            rows.add(PartyUnavailability, id=uuid.uuid4(), party_id=parties["survivor"], starts_at=monday,
                     ends_at=monday + timedelta(days=6))
            monday += timedelta(days=7)
        rows.insert(db.session.connection())
        coordinator = db.session.get(User, coordinator_id)
        _, token = issue_token(SYSTEM, coordinator, "bench")
        db.session.commit()
    counts = {"facilitators": facilitators, "venues": venues, "referrals": len(rows.tables[Referral]),
              "sessions": len(rows.tables[ScheduledSession]), "reservations": len(rows.tables[Reservation])}

    # Referrals ready for their circle go through the services, since the readiness gate reads all they record:
    # consents, acknowledgement, preparation meetings, assessment. As a coordinator would, each gets a pair that
    # speaks the survivor's Spanish and shares a working week (one time zone, the same weekly hours).
    teams: dict[tuple, list] = {}
    for person in roster:
        if "es" in person.languages:
            teams.setdefault((person.zone, person.pattern), []).append(person)
    pairs = [(team[i], team[i + 1]) for team in teams.values() for i in range(0, len(team) - 1, 2)]
    rng.shuffle(pairs)
    factory = Factory(app)
    ready_ids = [str(factory.referral(by=coordinator, facilitators=pairs[i % len(pairs)], status="ready").id)
                 for i in range(ready)]
    return {"token": token, "search_referral": str(search_referral), "empty_referral": str(empty_referral),
            "ready_referrals": ready_ids, "counts": counts}


def time_bookings(client, headers: dict, referral_ids: list[str]) -> tuple[dict, list[tuple[str, dict]]]:
    """For each ready referral, a search (not timed), then its first slot booked (timed), so no booking clashes
    with another; the first few bookings warm up. Median and p95 in milliseconds, and what was booked."""
    samples, booked = [], []
    for number, referral_id in enumerate(referral_ids):
        found = client.get(f"/api/v1/referrals/{referral_id}/slots?{SEARCH_QUERY}&limit=1", headers=headers)
        assert found.status_code == 200 and found.get_json()["slots"], found.get_json()
        slot = found.get_json()["slots"][0]
        body = {"kind": "circle", "format": "in_person", "start": slot["start"], "end": slot["end"],
                "facilitator_ids": slot["facilitator_ids"], "venue_id": slot["venue_id"]}
        started = time.perf_counter()
        response = client.post(f"/api/v1/referrals/{referral_id}/sessions", json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.get_json()
        booked.append((referral_id, slot))
        if number >= WARM_UP_BOOKINGS:
            samples.append(elapsed)
    samples.sort()
    return {"runs": len(samples), "median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2)}, booked


def check_bookings(app, booked: list[tuple[str, dict]]) -> None:
    """Each booking made its circle at the slot's start, holding both facilitators and the venue; each referral
    is circle_scheduled."""
    ids = [uuid.UUID(referral_id) for referral_id, _slot in booked]
    with app.app_context():
        sessions = db.session.execute(select(ScheduledSession).where(ScheduledSession.referral_id.in_(ids),
                                                                     ScheduledSession.kind == "circle")).scalars().all()
        held = db.session.execute(select(func.count()).select_from(Reservation).where(
            Reservation.session_id.in_([s.id for s in sessions]), Reservation.active.is_(True))).scalar_one()
        statuses = set(db.session.execute(select(Referral.status).where(Referral.id.in_(ids))).scalars())
    assert {(str(s.referral_id), s.starts_at) for s in sessions} == {
        (referral_id, datetime.fromisoformat(slot["start"])) for referral_id, slot in booked}
    assert held == 3 * len(booked) and statuses == {"circle_scheduled"}, (held, statuses)


def engine_search(app, referral_id: str, fmt: str):
    """A call of the search engine for a 120-minute circle in `fmt`, limit 10, in a fresh app context each time (as a
    request has); answers in the API's slot shape."""
    def search() -> list[dict]:
        with app.app_context():
            referral = db.session.get(Referral, uuid.UUID(referral_id))
            return [slot_json(slot) for slot in find_slots(referral, "circle", fmt, timedelta(minutes=120), limit=10)]
    return search


def answered(search):
    """`search` as `time_requests` times a request: something with a status code."""
    return lambda: SimpleNamespace(status_code=200, slots=search())


def check_slots(app, referral_id: str, slots: list[dict]) -> None:
    """Each slot found is really free, checked from the rows themselves (not with the search's code): after the
    notice, inside both facilitators' weekly hours in their own time zone and not on a day off, clear of their
    reservations and of the venue's with the buffer, inside the venue's opening hours, clear of the parties'
    unavailable times, with a Spanish speaker among two distinct trained facilitators."""
    config = app.config
    stagger, buffer = timedelta(minutes=config["STAGGER_MINUTES"]), timedelta(minutes=config["SESSION_BUFFER_MINUTES"])
    with app.app_context():
        now = clock.now()
        parties = [p.id for p in db.session.execute(select(Party).where(
            Party.referral_id == uuid.UUID(referral_id))).scalars()]
        away = db.session.execute(select(PartyUnavailability).where(
            PartyUnavailability.party_id.in_(parties))).scalars().all()
        for slot in slots:
            start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
            held = (start - stagger, end + stagger)
            assert start >= now + timedelta(hours=config["SLOT_NOTICE_HOURS"]), slot
            assert not any(a.starts_at < held[1] and a.ends_at > held[0] for a in away), slot
            people = [uuid.UUID(i) for i in slot["facilitator_ids"]]
            assert len(set(people)) == 2, slot
            speaks = False
            for person in people:
                profile = db.session.get(FacilitatorProfile, person)
                zone = ZoneInfo(profile.timezone)
                speaks = speaks or "es" in profile.languages
                trained = db.session.execute(select(Training.valid_until).where(
                    Training.user_id == person, Training.kind == "trafficking_specialist")).scalar_one()
                assert trained >= start.date(), slot
                local_from, local_to = held[0].astimezone(zone), held[1].astimezone(zone)
                windows = db.session.execute(select(AvailabilityWindow).where(
                    AvailabilityWindow.user_id == person,
                    AvailabilityWindow.weekday == local_from.weekday())).scalars().all()
                assert local_from.date() == local_to.date() and any(
                    w.start_time <= local_from.time() and local_to.time() <= w.end_time for w in windows), slot
                assert not db.session.execute(select(AvailabilityException).where(
                    AvailabilityException.user_id == person, AvailabilityException.on_date == local_from.date(),
                    AvailabilityException.unavailable.is_(True))).first(), slot
            assert speaks, slot
            venue = db.session.get(Venue, uuid.UUID(slot["venue_id"]))
            zone = ZoneInfo(venue.timezone)
            local_from, local_to = held[0].astimezone(zone), held[1].astimezone(zone)
            assert venue.suits("circle") and local_from.date() == local_to.date() and any(
                int(h["weekday"]) == local_from.weekday() and h["start"] <= local_from.strftime("%H:%M")
                and local_to.strftime("%H:%M") <= h["end"] for h in venue.opening_hours), slot
            for resource in [*people, venue.id]:
                assert not db.session.execute(select(Reservation.id).where(
                    Reservation.resource_id == resource, Reservation.active.is_(True),
                    Reservation.starts_at < held[1] + buffer, Reservation.ends_at > held[0])).first(), slot


def check_empty(app, referral_id: str) -> None:
    """Nothing can be found: every hour of the horizon the survivor is free in, no facilitator works."""
    with app.app_context():
        now = clock.now()
        parties = [p.id for p in db.session.execute(select(Party).where(
            Party.referral_id == uuid.UUID(referral_id))).scalars()]
        away = sorted(db.session.execute(select(PartyUnavailability.starts_at, PartyUnavailability.ends_at).where(
            PartyUnavailability.party_id.in_(parties))).all())
        zones = dict(db.session.execute(select(FacilitatorProfile.user_id, FacilitatorProfile.timezone)).all())
        windows = db.session.execute(select(AvailabilityWindow)).scalars().all()
        horizon_end = now + timedelta(days=app.config["SLOT_HORIZON_DAYS"])
        hour = now.replace(minute=0, second=0, microsecond=0)
        free_hours = []
        while hour < horizon_end:
            if not any(s < hour + timedelta(hours=1) and e > hour for s, e in away):
                free_hours.append(hour)
            hour += timedelta(hours=1)
        assert free_hours, "the survivor should be free on Sundays"
        for window in windows:
            zone = ZoneInfo(zones[window.user_id])
            for hour in free_hours:
                local = hour.astimezone(zone)
                local_end = (hour + timedelta(hours=1)).astimezone(zone)
                # The hour meets the window when the window's local day is the hour's and their times overlap.
                assert not (local.weekday() == window.weekday and local.time() < window.end_time
                            and (local_end.date() > local.date() or local_end.time() > window.start_time)), \
                    (hour, window.weekday)


def profile(call, runs: int = 20, top: int = 25) -> str:
    """cProfile of `runs` calls, sorted by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run(backend: str, scale: int, requests: int, bookings: int, show_profile: bool) -> list[dict]:
    """Build one backend's database at `scale` times the base roster, then time the pair search, the empty
    search and (at 1x) the bookings."""
    key = generate_encryption_key()
    options = {"facilitators": 200 * scale, "venues": 20 * scale, "sessions": 5000 * scale,
               "ready": bookings + WARM_UP_BOOKINGS if bookings else 0}
    results = []
    tag = f"[{backend} {scale}x]"
    with scratch_database(backend) as database_url:
        started = time.perf_counter()
        # Build in a separate process, so the one measured starts like a fresh worker.
        built = filled(database_url, key, build, **options)
        counts = {**built["counts"], "scale": scale}
        print(f"{tag} built {counts['facilitators']} facilitators, {counts['venues']} venues, "
              f"{counts['referrals']:,} referrals, {counts['sessions']:,} sessions, "
              f"{counts['reservations']:,} reservations in {time.perf_counter() - started:.1f} s", flush=True)
        app = worker_app(database_url, key)
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {built['token']}"}
            # The search engine itself (`find_slots`): "Find a time" wraps it in booking's gates, which a referral
            # with no pair yet never passes for a circle, so the pair search is timed below the page and the API.
            pair_search = engine_search(app, built["search_referral"], "in_person")
            found = pair_search()
            assert len(found) == 10 and all(s["venue_id"] for s in found), found
            check_slots(app, built["search_referral"], found)
            figures = time_requests(answered(pair_search), requests)
            results.append({"backend": backend, "measure": "pair search", "runs": requests, **figures,
                            "budget_ms": SEARCH_BUDGET_MS, "budget_on": "median_ms", **counts})
            print(f"{tag} pair search, 90 days, limit 10 ({requests} runs)   median "
                  f"{figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms   "
                  f"(slots from {found[0]['start']} to {found[-1]['start']})", flush=True)
            if show_profile:
                print(profile(pair_search), flush=True)

            empty_search = engine_search(app, built["empty_referral"], "video")
            assert empty_search() == []
            check_empty(app, built["empty_referral"])
            figures = time_requests(answered(empty_search), requests)
            results.append({"backend": backend, "measure": "empty search", "runs": requests, **figures,
                            "budget_ms": EMPTY_BUDGET_MS, "budget_on": "median_ms", **counts})
            print(f"{tag} empty search, 90 days ({requests} runs)           median "
                  f"{figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms", flush=True)
            if show_profile:
                print(profile(empty_search), flush=True)

            if bookings:
                figures, booked = time_bookings(client, headers, built["ready_referrals"])
                check_bookings(app, booked)
                results.append({"backend": backend, "measure": "booking", **figures,
                                "budget_ms": BOOKING_BUDGET_MS, "budget_on": "p95_ms", **counts})
                print(f"{tag} booking a circle ({figures['runs']} bookings)          median "
                      f"{figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms", flush=True)
        finally:
            app.extensions["db_engine"].dispose()
    return results


def over_budget(results: list[dict], scales: list[int]) -> list[str]:
    """What is over its budget: a figure at the largest scale, or growth from the smallest to the largest."""
    over = []
    largest, smallest = max(scales), min(scales)
    for row in results:
        if row["scale"] == largest and row[row["budget_on"]] > row["budget_ms"]:
            over.append(f"{row['backend']} {row['measure']} at {largest}x: {row['budget_on']} "
                        f"{row[row['budget_on']]} ms > {row['budget_ms']:.0f} ms")
    if largest == smallest:
        return over
    by = {(row["backend"], row["measure"], row["scale"]): row for row in results}
    for (backend, measure, scale), row in sorted(by.items()):
        base = by.get((backend, measure, smallest))
        if measure == "booking" or base is None or scale == smallest:
            continue
        ratio = row["median_ms"] / base["median_ms"]
        row["ratio_to_smallest"] = round(ratio, 2)
        print(f"[{backend}] {measure}: {scale}x costs {ratio:.2f}x the {smallest}x median "
              f"({base['median_ms']:.2f} -> {row['median_ms']:.2f} ms)")
        if (smallest, scale) == (1, 5) and ratio > GROWTH_BUDGET:
            over.append(f"{backend} {measure}: 5x costs {ratio:.2f}x the 1x median > {GROWTH_BUDGET}x")
    return over


def main() -> int:
    """Run the benchmark; exit 1 when a figure is over its budget."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scales", default="1,2,5", help="roster sizes to build, as multiples of the base")
    parser.add_argument("--requests", type=int, default=50, help="timed searches of each kind (at least 20)")
    parser.add_argument("--bookings", type=int, default=60, help="timed bookings at the smallest scale (0: none)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the searches")
    args = parser.parse_args()
    # Stopped from outside, still drop the scratch databases (the `finally` in scratch_database).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    scales = sorted({int(scale) for scale in args.scales.split(",")})
    if args.requests < 20 or 0 < args.bookings < 50:
        parser.error("time at least 20 searches and 50 bookings (or none)")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [row for backend in backends for scale in scales
               for row in run(backend, scale, args.requests, args.bookings if scale == scales[0] else 0,
                              args.profile)]
    over = over_budget(results, scales)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "slot_search.json").write_text(json.dumps(results, indent=2))
    for line in over:
        print(f"OVER BUDGET: {line}", file=sys.stderr)
    print(f"{'All' if not over else 'Not all'} figures within budget (at the largest scale: pair search median "
          f"{SEARCH_BUDGET_MS:.0f} ms, empty search median {EMPTY_BUDGET_MS:.0f} ms; 5x no more than "
          f"{GROWTH_BUDGET}x the 1x median; booking p95 {BOOKING_BUDGET_MS:.0f} ms).")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
