"""Case identity (docs/design.md rule 10, issue 12 item 1): coordinators create and link cases and assign their
prosecutor; a prosecutor never gains a case by typing its identifiers, and is never told that one exists."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from coordinator.audit.models import AuditEntry
from coordinator.cases.models import Hearing
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Referral
from tests.factories import referral_payload

IDENTITY = {"jurisdiction": "Testshire", "court": "Testshire Crown Court", "docket_number": "CR-2026-0777"}


def case_of(app, referral_id) -> CriminalCase:
    """The referral's case, read afresh."""
    with app.app_context():
        referral = db.session.get(Referral, uuid.UUID(str(referral_id)))
        return db.session.get(CriminalCase, referral.case_id)


def actions(app, prefix: str) -> list[str]:
    """The audit actions starting with `prefix`, oldest first."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%"))
                                       .order_by(AuditEntry.seq)).scalars())


@pytest.fixture
def people(factory):
    return {"coordinator": factory.user("coordinator"), "prosecutor": factory.user("prosecutor"),
            "other": factory.user("prosecutor")}


def refer(client, **case) -> dict:
    """POST /api/v1/referrals with the shared identity (overridable); returns the JSON answer."""
    response = client.post("/api/v1/referrals", json=referral_payload(case={**IDENTITY, **case}))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_prosecutor_cannot_take_over_a_case_by_its_public_docket_number(app, api, people):
    """The review's reproduction: the coordinator's case has no prosecutor; a prosecutor refers the same identity.
    They get their own referral only; the first referral, its consent and its case stage stay out of their reach."""
    first = refer(api(people["coordinator"]))
    theirs = refer(api(people["prosecutor"]))
    prosecutor = api(people["prosecutor"])
    for url in (f"/api/v1/referrals/{first['id']}", f"/api/v1/referrals/{first['id']}/consent",
                f"/api/v1/referrals/{first['id']}/hearings"):
        assert prosecutor.get(url).status_code == 404
    assert prosecutor.put(f"/api/v1/referrals/{first['id']}/case-stage", json={"stage": "trial"}).status_code == 404
    assert case_of(app, first["id"]).prosecutor_id is None
    assert prosecutor.get(f"/api/v1/referrals/{theirs['id']}").status_code == 200
    listed = prosecutor.get("/api/v1/referrals").get_json()["items"]
    assert [item["id"] for item in listed] == [theirs["id"]]
    disclosed = prosecutor.get(f"/api/v1/prosecution/cases/{IDENTITY['docket_number']}").get_json()
    assert [item["reference"] for item in disclosed["referrals"]] == [theirs["reference"]]
    provisional = case_of(app, theirs["id"])
    assert provisional.awaiting_link and provisional.prosecutor_id == people["prosecutor"].id
    assert "criminal_case.awaiting_link" in actions(app, "criminal_case.")


def test_the_answer_does_not_tell_whether_a_case_exists(app, api, people):
    """Same status, same fields, same stage whether the identity is new, unassigned, or another prosecutor's."""
    refer(api(people["coordinator"]), docket_number="CR-2026-0001")
    refer(api(people["coordinator"]), docket_number="CR-2026-0002", prosecutor_email=people["other"].email)
    prosecutor = api(people["prosecutor"])
    answers = [refer(prosecutor, docket_number=docket) for docket in ("CR-2026-0001", "CR-2026-0002", "CR-2026-0003")]
    shapes = [{key: type(value).__name__ for key, value in answer.items()} for answer in answers]
    assert shapes[0] == shapes[1] == shapes[2]
    assert {answer["stage"] for answer in answers} == {"intake"}
    assert {answer["status"] for answer in answers} == {"received"}
    assert not case_of(app, answers[2]["id"]).awaiting_link  # a new identity is simply their case
    refused = prosecutor.post("/api/v1/referrals", json=referral_payload(
        case={**IDENTITY, "prosecutor_email": people["other"].email}))
    assert refused.status_code == 400  # naming another prosecutor is refused whatever the identity


def test_a_prosecutors_second_referral_joins_their_own_case_or_their_waiting_one(app, api, people):
    """Their own case, and their own provisional case, are theirs: no second provisional case."""
    coordinator = api(people["coordinator"])
    refer(coordinator)
    prosecutor = api(people["prosecutor"])
    first, second = refer(prosecutor), refer(prosecutor)
    assert case_of(app, first["id"]).id == case_of(app, second["id"]).id
    own = refer(prosecutor, docket_number="CR-2026-0888")
    again = refer(prosecutor, docket_number="CR-2026-0888")
    assert case_of(app, own["id"]).id == case_of(app, again["id"]).id


def test_a_coordinator_links_a_waiting_referral_and_it_moves_with_its_hearings(app, api, people):
    """The waiting list names it; linking moves the referral (and a hearing its prosecutor added) into the case;
    the prosecutor, not the case's, no longer sees it."""
    coordinator = api(people["coordinator"])
    first = refer(coordinator)
    theirs = refer(api(people["prosecutor"]))
    hearing = api(people["prosecutor"]).post(f"/api/v1/referrals/{theirs['id']}/hearings",
                                             json={"kind": "trial", "date": "2030-05-02"})
    assert hearing.status_code == 201
    waiting = coordinator.get("/api/v1/cases?waiting=true").get_json()
    [item] = waiting["items"]
    case = case_of(app, first["id"])
    assert item["awaiting_link_to"] == str(case.id) and item["referrals"] == 1
    linked = coordinator.post(f"/api/v1/cases/{item['id']}/link")
    assert linked.status_code == 200 and linked.get_json()["id"] == str(case.id)
    assert linked.get_json()["referrals"] == 2
    assert case_of(app, theirs["id"]).id == case.id
    with app.app_context():
        assert db.session.get(CriminalCase, uuid.UUID(item["id"])) is None
        assert db.session.execute(select(Hearing.case_id)).scalars().all() == [case.id]
    assert api(people["prosecutor"]).get(f"/api/v1/referrals/{theirs['id']}").status_code == 404
    assert coordinator.get("/api/v1/cases?waiting=true").get_json()["items"] == []
    assert coordinator.post(f"/api/v1/cases/{case.id}/link").status_code == 409
    assert "criminal_case.link" in actions(app, "criminal_case.")
    assert actions(app, "referral.case_linked") == ["referral.case_linked"]


def test_assigning_the_prosecutor_is_the_coordinators_and_brings_their_waiting_referral_in(app, api, people):
    """PUT /cases/{id}/prosecutor: the prosecutor then sees the case's referrals, their waiting one included."""
    coordinator = api(people["coordinator"])
    first = refer(coordinator)
    theirs = refer(api(people["prosecutor"]))
    case = case_of(app, first["id"])
    url = f"/api/v1/cases/{case.id}/prosecutor"
    assert api(people["prosecutor"]).put(url, json={"prosecutor_email": people["prosecutor"].email}).status_code \
        == 403
    unknown = coordinator.put(url, json={"prosecutor_email": "nobody@staff.example"})
    assert unknown.status_code == 400 and "prosecutor_email" in unknown.get_json()["error"]["details"]
    assigned = coordinator.put(url, json={"prosecutor_email": people["prosecutor"].email})
    assert assigned.status_code == 200 and assigned.get_json()["prosecutor_id"] == str(people["prosecutor"].id)
    assert case_of(app, theirs["id"]).id == case.id
    seen = api(people["prosecutor"]).get("/api/v1/referrals").get_json()["items"]
    assert {item["id"] for item in seen} == {first["id"], theirs["id"]}
    removed = coordinator.put(url, json={"prosecutor_email": None})
    assert removed.status_code == 200 and removed.get_json()["prosecutor_id"] is None
    assert api(people["prosecutor"]).get(f"/api/v1/referrals/{first['id']}").status_code == 404
    assert actions(app, "criminal_case.assign_prosecutor") == ["criminal_case.assign_prosecutor"] * 2


@pytest.mark.parametrize("role", ["prosecutor", "facilitator", "admin"])
def test_only_coordinators_reach_the_cases_api(app, api, factory, people, role):
    """403 for every other role, whatever the case; a prosecutor cannot name a case by id either."""
    case_id = case_of(app, refer(api(people["coordinator"]))["id"]).id
    client = api(factory.user(role))
    assert client.get("/api/v1/cases?docket_number=CR-2026-0777").status_code == 403
    assert client.post("/api/v1/cases", json={**IDENTITY, "docket_number": "X-1", "stage": "charged"}).status_code \
        == 403
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/link").status_code == 403
    payload = {key: value for key, value in referral_payload().items() if key != "case"}
    assert client.post("/api/v1/referrals", json={**payload, "case_id": str(case_id)}).status_code == 403


def test_coordinators_create_cases_and_refer_to_them_by_id(app, api, people):
    """POST /cases (409 on a taken identity), GET /cases by docket and court, then a referral naming `case_id`."""
    coordinator = api(people["coordinator"])
    created = coordinator.post("/api/v1/cases", json={**IDENTITY, "stage": "charged", "charges": ["Trafficking"],
                                                      "prosecutor_email": people["prosecutor"].email})
    assert created.status_code == 201
    case = created.get_json()
    assert case["prosecutor_id"] == str(people["prosecutor"].id) and case["awaiting_link_to"] is None
    again = coordinator.post("/api/v1/cases", json={**IDENTITY, "stage": "charged"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    found = coordinator.get("/api/v1/cases?docket_number=cr-2026-0777&court=testshire crown court").get_json()
    assert [item["id"] for item in found["items"]] == [case["id"]]
    assert coordinator.get("/api/v1/cases?docket_number=CR-2026-0777&court=Elsewhere").get_json()["total"] == 0
    payload = {key: value for key, value in referral_payload().items() if key != "case"}
    referral = coordinator.post("/api/v1/referrals", json={**payload, "case_id": case["id"]})
    assert referral.status_code == 201 and case_of(app, referral.get_json()["id"]).id == uuid.UUID(case["id"])
    missing = coordinator.post("/api/v1/referrals", json={**payload, "case_id": str(uuid.uuid4())})
    assert missing.status_code == 404
    assert "criminal_case.create" in actions(app, "criminal_case.")


def test_a_coordinator_naming_another_prosecutor_for_an_assigned_case_is_told_to_use_the_case(app, api, people):
    """Coordinators may know: 409 `conflict`; the case keeps its prosecutor."""
    coordinator = api(people["coordinator"])
    first = refer(coordinator, prosecutor_email=people["other"].email)
    clash = coordinator.post("/api/v1/referrals", json=referral_payload(
        case={**IDENTITY, "prosecutor_email": people["prosecutor"].email}))
    assert clash.status_code == 409
    assert case_of(app, first["id"]).prosecutor_id == people["other"].id


def test_the_intake_page_finds_the_case_and_attaches_the_referral(app, browser, people):
    """The coordinator looks the docket number up, the matching case is chosen, the referral joins it."""
    staff = browser(people["coordinator"])
    form = {"source": "court", **IDENTITY, "stage": "charged", "survivor_alias": "S", "survivor_language": "es",
            "responsible_alias": "R", "responsible_language": "en"}
    assert staff.post("/referrals/new", form).status_code == 302
    with app.app_context():
        existing = db.session.execute(select(CriminalCase)).scalar_one()
    lookup = staff.post("/referrals/new", {**form, "docket_number": "cr-2026-0777", "lookup": "1"})
    page = lookup.get_data(as_text=True)
    assert lookup.status_code == 200 and f'value="{existing.id}" checked' in page
    refer_by_page = staff.post("/referrals/new", {**form, "case_id": str(existing.id)})
    assert refer_by_page.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Referral.case_id)).scalars().all() == [existing.id, existing.id]


def test_the_prosecutors_intake_page_offers_no_lookup(app, browser, people):
    """Prosecutors are never shown which cases exist."""
    page = browser(people["prosecutor"]).get("/referrals/new").get_data(as_text=True)
    assert 'name="lookup"' not in page and 'name="case_id"' not in page
    assert browser(people["prosecutor"]).get("/cases").status_code == 403


def test_the_case_pages_assign_the_prosecutor_and_link_a_waiting_referral(app, api, browser, people):
    """The coordinator's pages do what the API does, with CSRF."""
    first = refer(api(people["coordinator"]))
    theirs = refer(api(people["prosecutor"]))
    case, provisional = case_of(app, first["id"]), case_of(app, theirs["id"])
    staff = browser(people["coordinator"])
    listing = staff.get("/cases").get_data(as_text=True)
    assert f"/cases/{provisional.id}" in listing and "Waiting to be linked" in listing
    assert staff.get(f"/cases?docket_number={IDENTITY['docket_number']}").status_code == 200
    assert staff.post(f"/cases/{provisional.id}/link", csrf=False).status_code == 400
    assert case_of(app, theirs["id"]).id == provisional.id
    assert staff.post(f"/cases/{provisional.id}/link").status_code == 302
    assert case_of(app, theirs["id"]).id == case.id
    bad = staff.post(f"/cases/{case.id}/prosecutor", {"prosecutor_email": "nobody@staff.example"})
    assert bad.status_code == 400 and "No active prosecutor account" in bad.get_data(as_text=True)
    assert staff.post(f"/cases/{case.id}/prosecutor", {"prosecutor_email": people["prosecutor"].email}).status_code \
        == 302
    assert case_of(app, first["id"]).prosecutor_id == people["prosecutor"].id
    assert browser(people["prosecutor"]).get(f"/cases/{case.id}").status_code == 403
