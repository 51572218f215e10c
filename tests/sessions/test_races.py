"""No double booking under concurrency: 20 simultaneous requests for one facilitator or one venue, one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from coordinator.db import db
from coordinator.sessions.models import Reservation, ScheduledSession
from tests.sessions.helpers import available, bookable, in_days

ATTEMPTS = 20


def race(app, token: str, url: str, bodies: list[dict]) -> list[int]:
    """Send every body at once (a barrier releases them together); returns the status codes."""
    barrier = threading.Barrier(len(bodies))

    def attempt(body):
        client = app.test_client()
        barrier.wait()
        return client.post(url, json=body, headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(attempt, bodies))


def grant_participation(api, case) -> None:
    """The survivor agrees to take part, so preparation meetings can be booked."""
    api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/consent", json={
        "party": "survivor", "scope": "participation", "decision": "granted", "method": "in_person",
        "information_version": "v1"})


def active_reservations(app) -> int:
    """How many reservations hold time."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Reservation)
                                  .where(Reservation.active.is_(True))).scalar_one()


def test_twenty_bookings_of_one_facilitator_at_overlapping_times(app, factory, api):
    """Exactly one succeeds; the 19 others are conflicts; one session and one reservation exist."""
    case = bookable(app, factory, status="screening")
    grant_participation(api, case)
    start = in_days(app, 5, hour=9)
    # Starts three minutes apart: every pair of these hour-long sessions overlaps.
    bodies = [{"kind": "pre_conference_survivor", "format": "video",
               "start": (start + timedelta(minutes=3 * n)).isoformat(),
               "end": (start + timedelta(minutes=3 * n + 60)).isoformat(),
               "facilitator_ids": [str(case.lead.id)]} for n in range(ATTEMPTS)]
    token = factory.token(case.coordinator)
    statuses = race(app, token, f"/api/v1/referrals/{case.referral.id}/sessions", bodies)
    assert sorted(statuses) == [201] + [409] * (ATTEMPTS - 1)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ScheduledSession)).scalar_one() == 1
    assert active_reservations(app) == 1


def test_twenty_bookings_of_one_venue_at_the_same_time(app, factory, api):
    """Twenty different facilitators, one venue, one time: one booking, nineteen conflicts."""
    case = bookable(app, factory, status="screening")
    grant_participation(api, case)
    facilitators = [factory.user("facilitator") for _ in range(ATTEMPTS)]
    for user in facilitators:
        available(app, user)
    start = in_days(app, 5, hour=11)
    bodies = [{"kind": "pre_conference_survivor", "format": "in_person", "start": start.isoformat(),
               "end": (start + timedelta(hours=1)).isoformat(), "facilitator_ids": [str(user.id)],
               "venue_id": str(case.venue.id)} for user in facilitators]
    token = factory.token(case.coordinator)
    statuses = race(app, token, f"/api/v1/referrals/{case.referral.id}/sessions", bodies)
    assert sorted(statuses) == [201] + [409] * (ATTEMPTS - 1)
    assert active_reservations(app) == 2  # the winner's facilitator and the venue
