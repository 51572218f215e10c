"""Slot search against a brute-force reference on seeded random rosters: the same slots, pairs and venues.

The reference tries every grid start of the horizon one by one against each facilitator's and venue's whole free
time (the plain definition of a slot in docs/design.md section 4), so the sweep in `search.py` is proven to give
the same answer, not just plausible ones.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import SYSTEM
from coordinator.db import db
from coordinator.referrals.models import PartyRole, Referral
from coordinator.roster.eligibility import eligible_for, roster
from coordinator.roster.models import AvailabilityException, AvailabilityWindow, Venue
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.sessions import search_people
from coordinator.sessions.models import (
    PARTIES_OF,
    PartyUnavailability,
    Reservation,
    ScheduledSession,
    SessionFormat,
)
from coordinator.sessions.search import (
    Slot,
    facilitator_free_time,
    find_slots,
    party_times,
    stagger_for,
    venue_free_time,
)

ZONES = ("UTC", "Europe/Madrid", "America/New_York", "Asia/Tokyo")
LANGUAGES = ("en", "es", "fr")
SEEDS = range(int(os.environ.get('SLOT_REFERENCE_SEEDS', '12')))


def reference(referral: Referral, kind: str, fmt: str, duration: timedelta, start_on: date | None,
              end_on: date | None, limit: int, interpreter: bool) -> list[Slot]:
    """Every grid start in turn, each checked against the whole horizon's free time."""
    config = current_app.config
    now = clock.now()
    earliest = now + timedelta(hours=config["SLOT_NOTICE_HOURS"])
    latest = now + timedelta(days=config["SLOT_HORIZON_DAYS"])
    if start_on:
        earliest = max(earliest, datetime.combine(start_on, time.min, tzinfo=UTC))
    if end_on:
        latest = min(latest, datetime.combine(end_on + timedelta(days=1), time.min, tzinfo=UTC))
    stagger, step = stagger_for(kind, fmt), timedelta(minutes=config["SLOT_STEP_MINUTES"])
    fixed = bool(referral.lead_facilitator_id and referral.co_facilitator_id)
    if fixed:
        by_id = {c.user_id: c for c in roster(referral.case_id)}
        candidates = [by_id[i] for i in (referral.lead_facilitator_id, referral.co_facilitator_id) if i in by_id]
    else:
        candidates = eligible_for(referral, earliest.date())
    venues = []
    if fmt == SessionFormat.in_person:
        venues = sorted((v for v in db.session.execute(select(Venue)).scalars() if v.suits(kind)),
                        key=lambda v: v.name)
    if len(candidates) < 2 or (fmt == SessionFormat.in_person and not venues):
        return []
    free = facilitator_free_time(candidates, earliest - stagger, latest + stagger)
    venue_free = venue_free_time(venues, earliest - stagger, latest + stagger)
    parties = party_times(referral, kind)
    language = referral.require_party(PartyRole.survivor).preferred_language
    needs_speaker = PartyRole.survivor in PARTIES_OF[kind] and not interpreter
    midnight = earliest.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + -(-(earliest - midnight) // step) * step
    found: list[Slot] = []
    while start + duration <= latest and len(found) < limit:
        held = (start - stagger, start + duration + stagger)
        available = [c for c in candidates if free[c.user_id].covers(*held)]
        venue = next((v.id for v in venues if venue_free[v.id].covers(*held)), None)
        pair = None
        if fixed and len(available) >= 2 and (not needs_speaker or any(c.speaks(language) for c in available)):
            pair = (available[0].user_id, available[1].user_id)
        if not fixed:
            ranked = sorted(available, key=lambda c: (c.caseload / max(c.cap, 1), c.caseload, str(c.user_id)))
            leads = [c for c in ranked if c.speaks(language)] if needs_speaker else ranked
            co = next((c for c in ranked if leads and c.user_id != leads[0].user_id), None)
            pair = (leads[0].user_id, co.user_id) if co else None
        if pair and not parties.clash(*held) and (venue or not venues):
            found.append(Slot(start, start + duration, pair, venue))
        start += step
    return found


def random_windows(rng: random.Random) -> list[tuple[int, time, time]]:
    """Some weekdays with one or two windows at odd quarter hours."""
    windows = []
    for weekday in range(7):
        if rng.random() < 0.6:
            opens = rng.randint(6 * 4, 14 * 4)
            for _ in range(rng.choice((1, 1, 2))):
                closes = min(opens + rng.randint(4, 32), 24 * 4 - 1)
                windows.append((weekday, time(opens // 4, opens % 4 * 15), time(closes // 4, closes % 4 * 15)))
                opens = closes + rng.randint(1, 8)
                if opens >= 24 * 4 - 2:
                    break
    return windows


def build_world(app, factory, rng: random.Random) -> tuple[uuid.UUID, uuid.UUID]:
    """Facilitators, venues, reservations and the parties' absences at random; two referrals searched (one with
    an assigned pair, one without)."""
    people = [factory.user("facilitator") for _ in range(rng.randint(3, 6))]
    coordinator = factory.user("coordinator")
    paired = factory.referral(by=coordinator, facilitators=(people[0], people[1]), status="screening",
                              survivor={"preferred_language": rng.choice(LANGUAGES)})
    open_one = factory.referral(by=coordinator, status="screening",
                                survivor={"preferred_language": rng.choice((*LANGUAGES, "th"))})
    with app.app_context():
        now = clock.now()
        for person in people:
            user = db.session.merge(person)
            set_facilitator_profile(SYSTEM, user, rng.sample(LANGUAGES, rng.randint(1, 2)),
                                    {"trafficking_specialist": now.date() + timedelta(days=rng.choice((40, 400)))},
                                    timezone=rng.choice(ZONES), max_active_referrals=rng.choice((1, 6)))
            for weekday, opens, closes in random_windows(rng):
                db.session.add(AvailabilityWindow(user_id=person.id, weekday=weekday, start_time=opens,
                                                  end_time=closes))
            for days in rng.sample(range(2, 31), rng.randint(0, 3)):
                db.session.add(AvailabilityException(user_id=person.id, unavailable=True,
                                                     on_date=now.date() + timedelta(days=days)))
        venues = []
        for index in range(rng.randint(0, 3)):
            hours = [{"weekday": day, "start": f"{rng.randint(6, 12):02d}:{rng.choice(('00', '30'))}",
                      "end": f"{rng.randint(14, 22):02d}:00"} for day in range(7) if rng.random() < 0.7]
            venue = Venue(name=f"Room {index}", timezone=rng.choice(ZONES), separate_waiting_rooms=rng.random() < 0.8,
                          accessible=True, capacity=10, opening_hours=hours)
            venue.address = f"{index} Example Street"
            db.session.add(venue)
            venues.append(venue)
        db.session.flush()
        anchor = ScheduledSession(referral_id=paired.id, kind="follow_up", format="video", starts_at=now,
                                  ends_at=now + timedelta(hours=1), status="cancelled", created_at=now)
        db.session.add(anchor)
        db.session.flush()
        for resource_type, resource_id in [("facilitator", p.id) for p in people] + [("venue", v.id) for v in venues]:
            cursor = now + timedelta(hours=rng.randint(24, 60))
            for _ in range(rng.randint(0, 12)):
                length = timedelta(minutes=10 * rng.randint(3, 24))
                db.session.add(Reservation(session_id=anchor.id, resource_type=resource_type, resource_id=resource_id,
                                           starts_at=cursor, ends_at=cursor + length, active=rng.random() < 0.9))
                cursor += length + timedelta(minutes=10 * rng.randint(1, 300))
        for referral_id in (paired.id, open_one.id):
            referral = db.session.get(Referral, referral_id)
            for role in (PartyRole.survivor, PartyRole.responsible_party):
                for _ in range(rng.randint(0, 3)):
                    begins = now + timedelta(hours=rng.randint(40, 24 * 20), minutes=rng.choice((0, 10, 45)))
                    db.session.add(PartyUnavailability(party_id=referral.require_party(role).id, starts_at=begins,
                                                       ends_at=begins + timedelta(hours=rng.randint(1, 40))))
        db.session.commit()
    return paired.id, open_one.id


@pytest.mark.parametrize("seed", SEEDS)
def test_the_sweep_finds_what_trying_every_start_finds(app, factory, seed):
    """Random rosters, venues, bookings and absences: each search gives the reference's slots exactly."""
    rng = random.Random(seed)
    with app.app_context():
        clock.set_clock(datetime(2027, 3, 18, 9, 7, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 14)))
        db.session.commit()
    referral_ids = build_world(app, factory, rng)
    with app.app_context():
        for _ in range(8):
            referral = db.session.get(Referral, rng.choice(referral_ids))
            kind = rng.choice(("circle", "circle", "pre_conference_survivor", "pre_conference_responsible"))
            fmt = rng.choice(("in_person", "video"))
            duration = timedelta(minutes=rng.choice((45, 60, 120, 150)))
            start_on = clock.now().date() + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.4 else None
            end_on = clock.now().date() + timedelta(days=rng.randint(10, 95)) if rng.random() < 0.4 else None
            limit, interpreter = rng.choice((1, 3, 10, 60, 500)), rng.random() < 0.2
            expected = reference(referral, kind, fmt, duration, start_on, end_on, limit, interpreter)
            found = find_slots(referral, kind, fmt, duration, start_on, end_on, limit, interpreter=interpreter)
            assert found == expected, (seed, kind, fmt, duration, start_on, end_on, limit, interpreter)


@pytest.mark.parametrize("seed", SEEDS)
def test_reading_the_roster_in_rank_tiers_changes_no_answer(app, factory, seed, monkeypatch):
    """With a first tier of two facilitators, the rest are read only where those two leave a start undecided:
    the answers are still the reference's."""
    monkeypatch.setattr(search_people, "FIRST_TIER", 2)
    test_the_sweep_finds_what_trying_every_start_finds(app, factory, seed)
