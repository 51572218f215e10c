"""A list line says what its referral says: each line is read as columns in one statement (ReferralLine), apart
from the referral read whole, so the two are compared field by field, through the API and the pages, per role."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def listed(factory, api):
    """Three referrals of one prosecutor's cases: one with both facilitators, one with none, one paused."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    lead, co = factory.user("facilitator", name="Ada Lead"), factory.user("facilitator", name="Cy Co")
    assigned = factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=(lead, co),
                                survivor={"alias": "Willow"})
    unassigned = factory.referral(by=coordinator, prosecutor=prosecutor, survivor={"alias": "Rowan"})
    paused = factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=(lead, co), status="preparation",
                              survivor={"alias": "Hazel"})
    moved = api(coordinator).post(f"/api/v1/referrals/{paused.id}/transitions",
                                  json={"to": "paused", "reason": "other"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "paused"
    return {"coordinator": coordinator, "prosecutor": prosecutor, "lead": lead,
            "referrals": {"assigned": assigned, "unassigned": unassigned, "paused": paused}}


def _by_id(answer) -> dict[str, dict]:
    assert answer.status_code == 200
    return {item["id"]: item for item in answer.get_json()["items"]}


@pytest.mark.parametrize("role", ["coordinator", "lead"])
def test_a_staff_line_over_the_api_repeats_the_whole_referral(listed, api, role):
    client = api(listed[role])
    lines = _by_id(client.get("/api/v1/referrals"))
    assert set(lines) >= {str(referral.id) for referral in listed["referrals"].values()} - (
        {str(listed["referrals"]["unassigned"].id)} if role == "lead" else set())
    for referral_id, line in lines.items():
        whole = client.get(f"/api/v1/referrals/{referral_id}").get_json()
        assert line == {"id": whole["id"], "reference": whole["reference"], "status": whole["status"],
                        "received_at": whole["received_at"], "docket_number": whole["case"]["docket_number"],
                        "survivor_alias": whole["survivor"]["alias"], "facilitators": whole["facilitators"]}
    assert lines[str(listed["referrals"]["assigned"].id)]["survivor_alias"] == "Willow"


def test_a_prosecutor_line_is_the_prosecution_view_and_a_pause_never_shows(listed, api):
    client = api(listed["prosecutor"])
    lines = _by_id(client.get("/api/v1/referrals"))
    assert set(lines) == {str(referral.id) for referral in listed["referrals"].values()}
    for referral_id, line in lines.items():
        assert line == client.get(f"/api/v1/referrals/{referral_id}").get_json()
    # Paused from preparation: the prosecutor sees the stage it will resume at (rule 5).
    assert lines[str(listed["referrals"]["paused"].id)]["stage"] == "preparation"
    assert "survivor_alias" not in lines[str(listed["referrals"]["paused"].id)]


def _row_of(page: str, reference: str) -> str:
    """The text of the table row that links to `reference`, tags stripped."""
    row = next(row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S) if f">{reference}</a>" in row)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_a_staff_line_on_the_page_names_the_survivor_the_docket_and_the_facilitators(listed, browser):
    page = browser(listed["coordinator"]).get("/referrals").get_data(as_text=True)
    assigned, unassigned = listed["referrals"]["assigned"], listed["referrals"]["unassigned"]
    line = _row_of(page, assigned.reference)
    assert "Willow" in line and assigned.case.docket_number in line and "Ada Lead, Cy Co" in line
    line = _row_of(page, unassigned.reference)
    assert "Rowan" in line and "Not assigned" in line and "Ada Lead" not in line


def test_a_prosecutor_line_on_the_page_shows_the_stage_and_no_alias(listed, browser):
    page = browser(listed["prosecutor"]).get("/referrals").get_data(as_text=True)
    paused = listed["referrals"]["paused"]
    line = _row_of(page, paused.reference)
    assert paused.case.docket_number in line and "Preparation" in line and "Paused" not in line
    assert not any(alias in page for alias in ("Willow", "Rowan", "Hazel", "Ada Lead"))
