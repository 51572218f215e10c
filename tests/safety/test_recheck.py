"""The daily re-check of booked circles: fed exactly what booking was fed, and one alert only.

docs/design.md section 3.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.models import StaffNotice
from coordinator.referrals.models import Referral
from coordinator.safety.service import record_protective_order
from tests.sessions.helpers import bookable, in_days


def run_recheck(app) -> str:
    with app.app_context():
        return JOBS_BY_ID["recheck_circles"].run()


def alerts(app) -> list[StaffNotice]:
    with app.app_context():
        return list(db.session.execute(select(StaffNotice).where(StaffNotice.template == "circle_not_ready"))
                    .scalars())


def book_in_person(app, case, client, interpreter: bool) -> None:
    start = in_days(app, 6)
    response = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "circle", "format": "in_person", "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(), "facilitator_ids": [str(case.lead.id), str(case.co.id)],
        "venue_id": str(case.venue.id), "interpreter": interpreter})
    assert response.status_code == 201, response.get_json()


def test_a_circle_booked_with_an_interpreter_stays_ready(app, factory, api):
    """The survivor speaks Vietnamese, the facilitators do not: an interpreter is booked with the circle. The
    re-check used to leave the interpreter (and the venue) out and report the circle "no longer ready" every day."""
    case = bookable(app, factory)
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        referral.survivor.preferred_language = "vi"  # as intake recorded it
        db.session.commit()
    client = api(case.coordinator)
    without = client.post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "circle", "format": "in_person", "start": in_days(app, 6).isoformat(),
        "end": (in_days(app, 6) + timedelta(hours=2)).isoformat(),
        "facilitator_ids": [str(case.lead.id), str(case.co.id)], "venue_id": str(case.venue.id)})
    assert without.status_code == 409 and "language_unmatched" in str(without.get_json())
    book_in_person(app, case, client, interpreter=True)
    assert run_recheck(app) == "1 booked circles checked, 0 no longer ready"
    assert alerts(app) == []


def test_a_protective_order_after_booking_raises_one_alert_once(app, factory, api):
    """Nothing while the circle stays ready; a no-contact order recorded later: one alert per facilitator, and the
    job running again (the same day or the next) does not repeat it."""
    case = bookable(app, factory)
    book_in_person(app, case, api(case.coordinator), interpreter=False)
    assert run_recheck(app) == "1 booked circles checked, 0 no longer ready" and alerts(app) == []
    with app.app_context():
        record_protective_order(db.session.merge(case.coordinator), db.session.get(Referral, case.referral.id),
                                "Fictional order 7", True, clock.today() + timedelta(days=60))
        db.session.commit()
    assert run_recheck(app) == "1 booked circles checked, 1 no longer ready"
    assert sorted(notice.user_id for notice in alerts(app)) == sorted((case.lead.id, case.co.id))
    run_recheck(app)
    with app.app_context():
        clock.set_clock(clock.now() + timedelta(days=1))
        db.session.commit()
    run_recheck(app)
    assert len(alerts(app)) == 2
