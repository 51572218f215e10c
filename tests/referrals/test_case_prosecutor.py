"""The prosecutor's scope reads each referral's copy of its case's prosecutor (migration 0020, issue 15). The database
keeps the copy whatever writes: every test's teardown compares it with the case (tests/conftest.py), and these tests
drive the writes that move it: a case's new prosecutor, a referral's new case, bulk loads and a direct write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Referral


def copy_of(app, referral_id) -> uuid.UUID | None:
    with app.app_context():
        return db.session.execute(select(Referral.case_prosecutor_id).where(Referral.id == referral_id)).scalar_one()


def listed(api, prosecutor) -> list[str]:
    return [item["id"] for item in api(prosecutor).get("/api/v1/referrals").get_json()["items"]]


def test_a_new_prosecutor_of_the_case_takes_its_referrals_into_their_scope_and_out_of_the_last_ones(app, factory, api):
    coordinator = factory.user("coordinator")
    first, second = factory.user("prosecutor"), factory.user("prosecutor")
    referral = factory.referral(by=coordinator, prosecutor=first)
    assert copy_of(app, referral.id) == first.id
    assert listed(api, first) == [str(referral.id)] and listed(api, second) == []

    moved = api(coordinator).put(f"/api/v1/cases/{referral.case_id}/prosecutor",
                                 json={"prosecutor_email": second.email})
    assert moved.status_code == 200
    assert copy_of(app, referral.id) == second.id
    assert listed(api, second) == [str(referral.id)] and listed(api, first) == []
    assert api(first).get(f"/api/v1/referrals/{referral.id}").status_code == 404
    assert api(second).get(f"/api/v1/referrals/{referral.id}").status_code == 200

    assert api(coordinator).put(f"/api/v1/cases/{referral.case_id}/prosecutor",
                                json={"prosecutor_email": None}).status_code == 200
    assert copy_of(app, referral.id) is None and listed(api, second) == []


def test_bulk_loads_a_new_case_and_a_direct_write_all_end_with_the_case_s_prosecutor(app, factory):
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    theirs = factory.referral(by=coordinator, prosecutor=prosecutor)
    nobody_s = factory.referral(by=coordinator)
    with app.app_context():  # outside the services, as seeding and the benchmarks write rows
        now = datetime.now(UTC)
        loaded = [uuid.uuid4() for _ in range(3)]
        db.session.execute(insert(Referral), [
            {"id": each, "reference": f"RJ-2026-9{index:05d}", "source": "prosecutor", "status": "intake",
             "case_id": theirs.case_id, "received_at": now, "updated_at": now} for index, each in enumerate(loaded)])
        db.session.execute(update(Referral).where(Referral.id == nobody_s.id).values(case_id=theirs.case_id))
        db.session.commit()
    assert {copy_of(app, each) for each in [*loaded, nobody_s.id]} == {prosecutor.id}
    with app.app_context():
        db.session.execute(update(Referral).where(Referral.id == theirs.id).values(case_prosecutor_id=coordinator.id))
        db.session.execute(update(CriminalCase).where(CriminalCase.id == theirs.case_id).values(court="Other Court"))
        db.session.commit()
    assert copy_of(app, theirs.id) == prosecutor.id
