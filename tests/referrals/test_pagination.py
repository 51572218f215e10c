"""Pages past the middle are read from the other end (issue 15, item 2): every page, first to last, shows the rows
the whole ordered list has there, for every role, on the page and in the API, and `page=` keeps its meaning."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, func, or_, select

from coordinator.db import db
from coordinator.pagination import paginate_newest
from coordinator.referrals.models import CriminalCase, Referral


@pytest.fixture
def programme(factory):
    """Seven referrals: a prosecutor on four, a facilitator pair on five; coordinators see all."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    pair = factory.user("facilitator"), factory.user("facilitator")
    for number in range(7):
        factory.referral(by=coordinator, prosecutor=prosecutor if number % 2 == 0 else None,
                         facilitators=pair if number < 5 else None)
    return {"coordinator": (coordinator, 7), "prosecutor": (prosecutor, 4), "facilitator": (pair[0], 5)}


@pytest.mark.parametrize("role", ["coordinator", "prosecutor", "facilitator"])
def test_every_api_page_holds_the_rows_of_the_whole_list_at_its_place(programme, api, role):
    user, in_scope = programme[role]
    client = api(user)
    whole = client.get("/api/v1/referrals?per_page=100").get_json()
    assert whole["total"] == in_scope and len(whole["items"]) == in_scope
    expected = [item["id"] for item in whole["items"]]
    walked = []
    for page in range(1, 5):
        answer = client.get(f"/api/v1/referrals?page={page}&per_page=2").get_json()
        assert (answer["page"], answer["per_page"], answer["total"]) == (page, 2, in_scope)
        assert [item["id"] for item in answer["items"]] == expected[(page - 1) * 2:page * 2]
        walked += [item["id"] for item in answer["items"]]
    assert walked == expected
    assert client.get("/api/v1/referrals?page=9&per_page=2").get_json()["items"] == []


def test_the_last_page_of_the_staff_list_shows_the_oldest_referrals(programme, browser, api, app):
    coordinator, _total = programme["coordinator"]
    oldest = api(coordinator).get("/api/v1/referrals?per_page=100").get_json()["items"][-1]["reference"]
    app.config["PER_PAGE"] = 3
    staff = browser(coordinator)
    assert oldest not in staff.get("/referrals").get_data(as_text=True)
    last = staff.get("/referrals?page=3").get_data(as_text=True)
    assert oldest in last


@pytest.fixture
def crossed(factory):
    """Nine referrals: one facilitator leads three and co-facilitates three, between others' referrals; a prosecutor
    holds five of them, each on a case of its own, and their statuses differ."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    ours, other, third = factory.user("facilitator"), factory.user("facilitator"), factory.user("facilitator")
    pairs = [(ours, other), (other, ours), (other, third)]
    for number in range(9):
        factory.referral(by=coordinator, prosecutor=prosecutor if number % 2 == 0 else None,
                         facilitators=pairs[number % 3], status="screening" if number % 4 == 0 else None)
    return {"facilitator": ours, "prosecutor": prosecutor}


def _expected(app, role: str, user, status: str | None = None) -> list[str]:
    """The scope by its plain rule (an OR for facilitators, a join for prosecutors), newest first."""
    with app.app_context():
        query = select(Referral.id)
        if role == "facilitator":
            query = query.where(or_(Referral.lead_facilitator_id == user.id, Referral.co_facilitator_id == user.id))
        else:
            query = query.join(CriminalCase, CriminalCase.id == Referral.case_id).where(
                CriminalCase.prosecutor_id == user.id)
        if status:
            query = query.where(Referral.status == status)
        query = query.order_by(Referral.received_at.desc(), Referral.id.desc())
        return [str(referral_id) for referral_id in db.session.execute(query).scalars()]


@pytest.mark.parametrize("role", ["facilitator", "prosecutor"])
@pytest.mark.parametrize("status", [None, "screening"])
def test_a_scope_read_in_parts_pages_as_the_whole_ordered_scope(crossed, api, app, role, status):
    """Lead and co rows (and a prosecutor's several cases) merge into one order: every page, first to last (read from
    the other end past the middle), holds the scope's rows at their place, and the total counts each row once."""
    user = crossed[role]
    expected = _expected(app, role, user, status)
    whole = {"facilitator": 6, "prosecutor": 5}[role]
    assert len(expected) == whole if status is None else 0 < len(expected) < whole
    client = api(user)
    walked = []
    for page in range(1, 5):
        answer = client.get(f"/api/v1/referrals?page={page}&per_page=2" + (f"&status={status}" if status else ""))
        body = answer.get_json()
        assert body["total"] == len(expected)
        walked += [item["id"] for item in body["items"]]
    assert walked == expected


def test_a_row_two_branches_both_hold_counts_once(crossed, app):
    """The total of two branches is each one's count less their overlap, and the page holds the overlap once."""
    user = crossed["facilitator"]
    branches = [Referral.lead_facilitator_id == user.id, Referral.status == "screening"]
    with app.app_context():
        both = db.session.execute(select(func.count()).select_from(Referral).where(and_(*branches))).scalar_one()
        expected = list(db.session.execute(select(Referral.id).where(or_(*branches))
                                           .order_by(Referral.received_at.desc(), Referral.id.desc())).scalars())
        page = paginate_newest(branches, (Referral.received_at, Referral.id), select(Referral.id), 1, 50)
        assert both >= 1 and page.total == len(expected) and [row.id for row in page.items] == expected
