"""The statistics rollup: counted per programme day, read by whole months and ragged days, rebuilt by its job."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.errors import Forbidden
from coordinator.jobs import JOBS_BY_ID
from coordinator.referrals.models import Referral
from coordinator.statistics.models import StatisticsCount
from coordinator.statistics.rollup import rebuild_rollup, refreshed_at
from coordinator.statistics.service import programme_statistics, request_recount

ZONE = "Pacific/Auckland"  # far from UTC, so a programme day and a UTC day differ for half of each day
# Received at 00:30 and 23:30 programme time around month ends, a leap day and a DST change (5 April 2026).
RECEIVED_ON = [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 15), date(2026, 2, 28), date(2026, 3, 1),
               date(2026, 3, 31), date(2026, 4, 5), date(2026, 4, 30), date(2028, 2, 29)]


@pytest.fixture
def app_settings() -> dict[str, str]:
    return {"COORDINATOR_TIMEZONE": ZONE}


@pytest.fixture
def programme(app, factory):
    """Two referrals received on each day of RECEIVED_ON, one early and one late in the programme's day."""
    coordinator = factory.user("coordinator")
    moments = [datetime.combine(day, moment, ZoneInfo(ZONE)).astimezone(UTC)
               for day in RECEIVED_ON for moment in (time(0, 30), time(23, 30))]
    referral_ids = [factory.referral(by=coordinator).id for _moment in moments]
    with app.app_context():
        for referral_id, at in zip(referral_ids, moments, strict=True):
            db.session.execute(update(Referral).where(Referral.id == referral_id).values(received_at=at))
        db.session.commit()
    return coordinator


PERIODS = [
    (None, None), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 31), date(2026, 3, 1)),
    (date(2026, 2, 2), None), (None, date(2026, 2, 27)), (date(2026, 1, 15), date(2026, 4, 30)),
    (date(2026, 2, 15), date(2026, 2, 15)), (date(2026, 3, 31), date(2026, 4, 5)), (date(2026, 2, 1), None),
    (None, date(2026, 3, 31)), (date(2026, 4, 6), date(2028, 2, 28)), (date(2028, 2, 29), date(2028, 2, 29)),
]


def test_every_period_counts_what_was_received_in_its_programme_days(app, programme):
    with app.app_context():
        rebuild_rollup()
        actor = db.session.merge(programme)
        for since, until in PERIODS:
            expected = 2 * sum(1 for day in RECEIVED_ON
                               if (since is None or since <= day) and (until is None or day <= until))
            assert programme_statistics(actor, since, until).referrals_total == expected, (since, until)


def test_the_job_counts_again_and_says_as_of_when(app, programme, factory):
    with app.app_context():
        assert refreshed_at() is None
    with app.app_context():
        assert JOBS_BY_ID["refresh_statistics"].run().startswith("counted as of ")
    with app.app_context():
        first = refreshed_at()
        rows = db.session.execute(select(func.count()).select_from(StatisticsCount)).scalar_one()
        # One status row per day and per month received: nine days in five months.
        assert rows == 9 + 5
        assert programme_statistics(db.session.merge(programme)).as_of == first
    factory.referral(by=programme)
    with app.app_context():
        assert programme_statistics(db.session.merge(programme)).referrals_total == 18  # until counted again
        # The job looks every minute but counts only when the rollup is old or a new count was asked for.
        assert JOBS_BY_ID["refresh_statistics"].run() == "counted recently; nothing asked"
        assert refreshed_at() == first
    with app.app_context(), clock.travel(first + timedelta(seconds=app.config["STATISTICS_REFRESH_SECONDS"])):
        JOBS_BY_ID["refresh_statistics"].run()
    with app.app_context():
        assert refreshed_at() > first
        assert programme_statistics(db.session.merge(programme)).referrals_total == 19


def test_a_coordinator_asks_and_the_job_counts_at_its_next_run(app, programme, factory):
    """`request_recount` only asks (audited); the job's next run counts, and then the ask is answered."""
    with app.app_context():
        JOBS_BY_ID["refresh_statistics"].run()
        first = refreshed_at()
    factory.referral(by=programme)
    with app.app_context():
        request_recount(db.session.merge(programme))
        db.session.commit()
    with app.app_context():
        asked = programme_statistics(db.session.merge(programme))
        assert asked.recount_asked and asked.referrals_total == 18 and refreshed_at() == first
        assert db.session.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "statistics.refresh")).scalar_one() == 1
    with app.app_context():
        assert JOBS_BY_ID["refresh_statistics"].run().startswith("counted as of ")
    with app.app_context():
        answered = programme_statistics(db.session.merge(programme))
        assert not answered.recount_asked and answered.referrals_total == 19
        assert JOBS_BY_ID["refresh_statistics"].run() == "counted recently; nothing asked"


def test_asking_for_a_count_is_for_coordinators(app, factory):
    with app.app_context(), pytest.raises(Forbidden):
        request_recount(factory.user("facilitator"))


def test_the_rollup_holds_counts_only(app, programme):
    with app.app_context():
        rebuild_rollup()
        categories = set(db.session.execute(select(StatisticsCount.category)).scalars())
        ids = {str(referral_id) for referral_id in db.session.execute(select(Referral.id)).scalars()}
    assert categories == {"received"} and not categories & ids


def test_an_empty_programme_is_counted_too(app, factory):
    with app.app_context():
        as_of = rebuild_rollup()
        assert refreshed_at() == as_of
        assert db.session.execute(select(func.count()).select_from(StatisticsCount)).scalar_one() == 0
    assert as_of <= datetime.now(UTC) + timedelta(seconds=1)
