"""The programme's referral total (issue 15): kept by the database's own triggers, whatever writes the rows, and given
by the coordinator's whole list instead of a count over every referral. Every test's teardown also checks the kept
total against a count (tests/conftest.py), so every door the suite drives is covered."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select

from coordinator.db import db
from coordinator.referrals.models import Referral, ReferralTotal
from tests.queries import counted_statements

COUNT_OF_REFERRALS = re.compile(r"count\(\*\).*FROM referrals", re.IGNORECASE | re.DOTALL)


def kept_and_counted(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.execute(select(ReferralTotal.referrals)).scalar_one(),
                db.session.execute(select(func.count()).select_from(Referral)).scalar_one())


def test_the_total_follows_rows_written_by_services_bulk_loads_and_deletes(app, factory, api):
    coordinator = factory.user("coordinator")
    case_id = factory.referral(by=coordinator).case_id
    factory.referral(by=coordinator)
    factory.referral(by=coordinator)
    assert kept_and_counted(app) == (3, 3)
    with app.app_context():  # a bulk load, as seeding and the benchmarks write rows, outside the services
        now = datetime.now(UTC)
        db.session.execute(insert(Referral), [
            {"id": uuid.uuid4(), "reference": f"RJ-2026-9{index:05d}", "source": "prosecutor", "status": "intake",
             "case_id": case_id, "received_at": now, "updated_at": now} for index in range(4)])
        db.session.commit()
    assert kept_and_counted(app) == (7, 7)
    with app.app_context():
        db.session.execute(delete(Referral).where(Referral.reference.like("RJ-2026-9%")))
        db.session.commit()
    assert kept_and_counted(app) == (3, 3)
    assert api(coordinator).get("/api/v1/referrals?per_page=2").get_json()["total"] == 3


def test_a_rolled_back_insert_leaves_the_total_alone(app, factory):
    case_id = factory.referral(by=factory.user("coordinator")).case_id
    with app.app_context():
        now = datetime.now(UTC)
        db.session.execute(insert(Referral).values(id=uuid.uuid4(), reference="RJ-2026-999999", source="prosecutor",
                                                   status="intake", case_id=case_id, received_at=now, updated_at=now))
        db.session.rollback()
    assert kept_and_counted(app) == (1, 1)


def test_the_whole_list_reads_the_kept_total_and_a_filtered_or_scoped_one_counts(app, factory, api):
    coordinator, facilitator = factory.user("coordinator"), factory.user("facilitator")
    pair = facilitator, factory.user("facilitator")
    screening = factory.referral(by=coordinator, status="screening", facilitators=pair)
    factory.referral(by=coordinator)
    with counted_statements(app) as statements:
        whole = api(coordinator).get("/api/v1/referrals").get_json()
    assert whole["total"] == 2 and not [sql for sql in statements if COUNT_OF_REFERRALS.search(sql)]
    with counted_statements(app) as statements:
        filtered = api(coordinator).get("/api/v1/referrals?status=screening").get_json()
    assert filtered["total"] == 1 and [sql for sql in statements if COUNT_OF_REFERRALS.search(sql)]
    assert [item["id"] for item in filtered["items"]] == [str(screening.id)]
    assert api(facilitator).get("/api/v1/referrals").get_json()["total"] == 1
