"""The referral API: intake, validation, scope, listing, transitions and assignment."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Party, Referral
from tests.factories import prepare_for_circle, referral_payload

REFERENCE = re.compile(r"^RJ-\d{4}-\d{4,}$")


def count(app, model) -> int:
    """Rows of a table, read in a fresh app context."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def actions(app) -> list[str]:
    """Audit actions in chain order."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def test_coordinator_refers_a_case(app, factory, api):
    """201 with id, reference and status received; both parties and the case are stored and audited."""
    coordinator = factory.user("coordinator")
    response = api(coordinator).post("/api/v1/referrals", json=referral_payload(survivor={"alias": "Ada"}))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "received"
    assert REFERENCE.match(body["reference"])
    assert body["survivor"]["alias"] == "Ada"
    assert body["responsible_party"]["contact"]["email"].endswith("@example.org")
    assert count(app, Referral) == 1 and count(app, Party) == 2 and count(app, CriminalCase) == 1
    assert "referral.create" in actions(app)


def test_references_are_sequential_per_year(app, factory, api):
    """Each intake gets the next number of the year."""
    client = api(factory.user("coordinator"))
    references = [client.post("/api/v1/referrals", json=referral_payload()).get_json()["reference"]
                  for _ in range(3)]
    numbers = [int(reference.rsplit("-", 1)[1]) for reference in references]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    assert len({reference.split("-")[1] for reference in references}) == 1


def test_concurrent_intakes_get_distinct_references(app, factory):
    """Ten simultaneous intakes get ten different references (the counter is an atomic upsert)."""
    token = factory.token(factory.user("coordinator"))

    def refer(_):
        client = app.test_client()
        return client.post("/api/v1/referrals", json=referral_payload(),
                           headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(refer, range(10)))
    assert [response.status_code for response in responses] == [201] * 10
    assert len({response.get_json()["reference"] for response in responses}) == 10


def test_prosecutor_refers_own_case_and_sees_the_prosecution_view(app, factory, api):
    """A prosecutor's referral names them; what they get back has no alias, contact or notes."""
    prosecutor = factory.user("prosecutor")
    client = api(prosecutor)
    response = client.post("/api/v1/referrals", json=referral_payload(survivor={"alias": "Secret Alias"},
                                                                      notes="private intake note"))
    assert response.status_code == 201
    created = response.get_json()
    assert created["status"] == "received"
    shown = client.get(f"/api/v1/referrals/{created['id']}")
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert "Secret Alias" not in body and "private intake note" not in body and "example.org" not in body
    assert set(shown.get_json()) == {"id", "reference", "docket_number", "stage", "received_on"}
    assert shown.get_json()["stage"] == "intake"


def test_prosecutor_cannot_refer_for_someone_else(app, factory, api):
    """A prosecutor naming another prosecutor is refused and nothing is written."""
    other = factory.user("prosecutor")
    response = api(factory.user("prosecutor")).post(
        "/api/v1/referrals", json=referral_payload(case={"prosecutor_email": other.email}))
    assert response.status_code == 400
    assert "case.prosecutor_email" in response.get_json()["error"]["details"]
    assert count(app, Referral) == 0 and count(app, CriminalCase) == 0


@pytest.mark.parametrize("role", ["facilitator", "admin"])
def test_other_roles_cannot_refer(app, factory, api, role):
    """Facilitators and admins get 403 forbidden."""
    response = api(factory.user(role)).post("/api/v1/referrals", json=referral_payload())
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert count(app, Referral) == 0


def test_malformed_json_is_refused_and_nothing_is_written(app, factory, api):
    """400 invalid_request with a body error."""
    response = api(factory.user("coordinator")).post("/api/v1/referrals", data="{not json",
                                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and "body" in error["details"]
    assert count(app, Referral) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": "rumour"}, "source"),
        ({"case": {"docket_number": ""}}, "case.docket_number"),
        ({"case": {"stage": "verdict"}}, "case.stage"),
        ({"survivor": {"alias": "   "}}, "survivor.alias"),
        ({"survivor": {"preferred_language": "Spanish"}}, "survivor.preferred_language"),
        ({"survivor": {"contact": {"email": "not-an-address"}}}, "survivor.contact.email"),
        ({"responsible_party": {"contact": {"phone": "call me"}}}, "responsible_party.contact.phone"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_wrong_fields_get_field_errors_and_nothing_is_written(app, factory, api, change, field):
    """Each bad field is named in details; no row of any table is written."""
    response = api(factory.user("coordinator")).post("/api/v1/referrals", json=referral_payload(**change))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert field in error["details"], error["details"]
    assert count(app, Referral) == 0 and count(app, Party) == 0 and count(app, CriminalCase) == 0


def test_missing_fields_are_listed(app, factory, api):
    """An empty object names every required field."""
    response = api(factory.user("coordinator")).post("/api/v1/referrals", json={})
    assert response.status_code == 400
    assert {"source", "survivor", "responsible_party"} <= set(response.get_json()["error"]["details"])


@pytest.mark.parametrize("case_fields", [{}, "both"])
def test_a_referral_names_its_case_once(app, factory, api, case_fields):
    """Either the case's identity or an existing case's id: neither, or both, is a 400 and nothing is written."""
    payload = {key: value for key, value in referral_payload().items() if key != "case"}
    if case_fields == "both":
        payload = {**referral_payload(), "case_id": "5b0c2a51-0000-4000-8000-000000000001"}
    response = api(factory.user("coordinator")).post("/api/v1/referrals", json=payload)
    assert response.status_code == 400
    assert "case or case_id" in str(response.get_json()["error"]["details"])


def test_unknown_prosecutor_email_is_a_field_error(app, factory, api):
    """The named prosecutor must be an active prosecutor account."""
    response = api(factory.user("coordinator")).post(
        "/api/v1/referrals", json=referral_payload(case={"prosecutor_email": "nobody@staff.example"}))
    assert response.status_code == 400
    assert "case.prosecutor_email" in response.get_json()["error"]["details"]
    assert count(app, CriminalCase) == 0


def test_a_second_survivor_joins_the_existing_case(app, factory, api):
    """Same jurisdiction, court and docket: one case, two referrals."""
    client = api(factory.user("coordinator"))
    case = {"docket_number": "cr-2026-777"}
    first = client.post("/api/v1/referrals", json=referral_payload(case=case)).get_json()
    second = client.post("/api/v1/referrals", json=referral_payload(case=case)).get_json()
    assert first["case"]["docket_number"] == second["case"]["docket_number"] == "CR-2026-777"
    assert count(app, CriminalCase) == 1 and count(app, Referral) == 2


class TestScope:
    """Coordinators see all, facilitators theirs, prosecutors their cases', admins none; the rest is 404."""

    @pytest.fixture
    def world(self, factory):
        lead, co, other = (factory.user("facilitator") for _ in range(3))
        prosecutor, other_prosecutor = factory.user("prosecutor"), factory.user("prosecutor")
        mine = factory.referral(facilitators=(lead, co), prosecutor=prosecutor)
        theirs = factory.referral(facilitators=(other, co), prosecutor=other_prosecutor)
        unassigned = factory.referral()
        return {"lead": lead, "other": other, "prosecutor": prosecutor, "mine": mine, "theirs": theirs,
                "unassigned": unassigned}

    def ids(self, response) -> set[str]:
        assert response.status_code == 200
        return {item["id"] for item in response.get_json()["items"]}

    def test_coordinator_sees_every_referral(self, factory, api, world):
        client = api(factory.user("coordinator"))
        assert self.ids(client.get("/api/v1/referrals")) == {str(world[k].id) for k in ("mine", "theirs",
                                                                                        "unassigned")}
        assert client.get(f"/api/v1/referrals/{world['unassigned'].id}").status_code == 200

    def test_facilitator_sees_only_assigned_referrals(self, api, world):
        client = api(world["lead"])
        assert self.ids(client.get("/api/v1/referrals")) == {str(world["mine"].id)}
        assert client.get(f"/api/v1/referrals/{world['mine'].id}").status_code == 200
        for other in ("theirs", "unassigned"):
            response = client.get(f"/api/v1/referrals/{world[other].id}")
            assert response.status_code == 404
            assert response.get_json()["error"]["code"] == "not_found"

    def test_prosecutor_sees_only_their_cases(self, api, world):
        client = api(world["prosecutor"])
        assert self.ids(client.get("/api/v1/referrals")) == {str(world["mine"].id)}
        assert client.get(f"/api/v1/referrals/{world['theirs'].id}").status_code == 404
        item = client.get("/api/v1/referrals").get_json()["items"][0]
        assert "survivor_alias" not in item and "status" not in item

    def test_admin_sees_no_referral(self, factory, api, world):
        client = api(factory.user("admin"))
        assert client.get("/api/v1/referrals").status_code == 403
        assert client.get(f"/api/v1/referrals/{world['mine'].id}").status_code == 404

    def test_unknown_and_malformed_ids_are_404(self, factory, api, world):
        client = api(factory.user("coordinator"))
        assert client.get("/api/v1/referrals/00000000-0000-0000-0000-000000000000").status_code == 404
        assert client.get("/api/v1/referrals/RJ-2026-0001").status_code == 404

    def test_facilitator_cannot_move_a_referral_outside_scope(self, api, world):
        response = api(world["other"]).post(f"/api/v1/referrals/{world['mine'].id}/transitions",
                                            json={"to": "screening"})
        assert response.status_code == 404


class TestListing:
    """Pagination, the status filter and search by reference or docket number."""

    def test_pages_and_total(self, factory, api):
        coordinator = factory.user("coordinator")
        for _ in range(7):
            factory.referral(by=coordinator)
        client = api(coordinator)
        first = client.get("/api/v1/referrals?per_page=3&page=1").get_json()
        last = client.get("/api/v1/referrals?per_page=3&page=3").get_json()
        assert (first["total"], first["per_page"], first["page"], len(first["items"])) == (7, 3, 1, 3)
        assert len(last["items"]) == 1
        everything = client.get("/api/v1/referrals?per_page=50").get_json()["items"]
        seen = [item["id"] for page in (1, 2, 3)
                for item in client.get(f"/api/v1/referrals?per_page=3&page={page}").get_json()["items"]]
        assert seen == [item["id"] for item in everything]

    def test_bad_paging_is_a_400(self, factory, api):
        client = api(factory.user("coordinator"))
        assert client.get("/api/v1/referrals?per_page=0").status_code == 400
        assert client.get("/api/v1/referrals?page=-1").status_code == 400
        assert client.get("/api/v1/referrals?status=lost").status_code == 400

    def test_status_filter(self, factory, api):
        coordinator = factory.user("coordinator")
        screening = factory.referral(by=coordinator, status="screening")
        factory.referral(by=coordinator)
        items = api(coordinator).get("/api/v1/referrals?status=screening").get_json()["items"]
        assert [item["id"] for item in items] == [str(screening.id)]

    def test_search_by_reference_or_docket(self, factory, api):
        coordinator = factory.user("coordinator")
        wanted = factory.referral(by=coordinator, case={"docket_number": "PA-2026-0117"})
        factory.referral(by=coordinator)
        client = api(coordinator)
        by_docket = client.get("/api/v1/referrals?q=pa-2026-0117").get_json()["items"]
        by_reference = client.get(f"/api/v1/referrals?q={wanted.reference.lower()}").get_json()["items"]
        assert [item["id"] for item in by_docket] == [str(wanted.id)]
        assert [item["id"] for item in by_reference] == [str(wanted.id)]
        assert client.get("/api/v1/referrals?q=NOTHING-HERE").get_json()["total"] == 0


class TestTransitions:
    """The API calls the one transition function and reports its refusals."""

    def test_forward_moves(self, app, factory, api):
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator, status="screening")
        client = api(coordinator)
        refused = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "preparation"})
        assert refused.status_code == 409
        assert [item["code"] for item in refused.get_json()["error"]["details"]] == ["consent_survivor_participation"]
        client.post(f"/api/v1/referrals/{referral.id}/consent", json={
            "party": "survivor", "scope": "participation", "decision": "granted", "method": "in_person",
            "information_version": "v1"})
        for target in ("preparation",):
            response = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": target})
            assert response.status_code == 200
            assert response.get_json()["status"] == target
        assert actions(app).count("referral.transition") == 2  # screening (by the factory), then preparation

    def test_skipping_a_step_is_a_conflict(self, factory, api):
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator)
        response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "preparation"})
        assert response.status_code == 409
        assert response.get_json()["error"]["details"]["code"] == "transition_not_allowed"

    def test_ready_needs_both_facilitators(self, app, factory, api):
        coordinator, intake_worker = factory.user("coordinator"), factory.user("facilitator")
        referral = factory.referral(by=coordinator, status="preparation")
        with app.app_context():  # preparation meetings held by a facilitator who is not assigned to the referral
            prepare_for_circle(db.session.merge(coordinator), db.session.get(Referral, referral.id),
                               facilitators=[intake_worker.id])
            db.session.commit()
        response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "ready"})
        assert response.status_code == 409
        error = response.get_json()["error"]
        assert error["code"] == "gate_failed"
        assert [item["code"] for item in error["details"]] == ["facilitators_missing"]
        assert all(item["message"] for item in error["details"])

    def test_ready_once_facilitators_are_assigned(self, app, factory, api):
        coordinator = factory.user("coordinator")
        pair = (factory.user("facilitator"), factory.user("facilitator"))
        referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
        with app.app_context():
            prepare_for_circle(db.session.merge(coordinator), db.session.get(Referral, referral.id))
            db.session.commit()
        response = api(pair[0]).post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "ready"})
        assert response.status_code == 200 and response.get_json()["status"] == "ready"

    def test_booking_steps_cannot_be_made_by_hand(self, factory, api):
        coordinator = factory.user("coordinator")
        pair = (factory.user("facilitator"), factory.user("facilitator"))
        referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
        response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/transitions",
                                         json={"to": "circle_scheduled"})
        assert response.status_code == 409
        assert response.get_json()["error"]["details"]["code"] == "automatic_only"

    def test_closing_needs_a_reason_code(self, app, factory, api):
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator)
        client = api(coordinator)
        missing = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "closed"})
        wrong = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "closed", "reason": "bored"})
        assert missing.status_code == wrong.status_code == 400
        assert "reason" in missing.get_json()["error"]["details"]
        closed = client.post(f"/api/v1/referrals/{referral.id}/transitions",
                             json={"to": "closed", "reason": "not_suitable", "note": "private reasoning"})
        assert closed.status_code == 200
        assert closed.get_json()["status"] == "closed" and closed.get_json()["status_reason"] == "not_suitable"

    def test_facilitators_pause_but_do_not_close(self, factory, api):
        coordinator = factory.user("coordinator")
        pair = (factory.user("facilitator"), factory.user("facilitator"))
        referral = factory.referral(by=coordinator, facilitators=pair, status="screening")
        client = api(pair[1])
        closing = client.post(f"/api/v1/referrals/{referral.id}/transitions",
                              json={"to": "closed", "reason": "not_suitable"})
        assert closing.status_code == 403
        paused = client.post(f"/api/v1/referrals/{referral.id}/transitions",
                             json={"to": "paused", "reason": "facilitator_stop"})
        assert paused.status_code == 200 and paused.get_json()["status"] == "paused"

    def test_a_paused_referral_resumes_where_it_stood(self, factory, api):
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator, status="paused")
        client = api(coordinator)
        wrong = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "preparation"})
        assert wrong.status_code == 409
        resumed = client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "screening"})
        assert resumed.status_code == 200 and resumed.get_json()["status"] == "screening"

    def test_prosecutors_cannot_move_referrals(self, factory, api):
        prosecutor = factory.user("prosecutor")
        referral = factory.referral(prosecutor=prosecutor)
        response = api(prosecutor).post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "screening"})
        assert response.status_code == 403

    def test_a_refused_move_writes_nothing(self, app, factory, api):
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator, status="preparation")
        client = api(coordinator)
        before = actions(app)
        client.post(f"/api/v1/referrals/{referral.id}/transitions", json={"to": "ready"})
        with app.app_context():
            stored = db.session.get(Referral, referral.id)
            assert stored.status == "preparation"
            changes = db.session.execute(text("SELECT count(*) FROM referral_status_changes")).scalar_one()
        assert changes == 2
        assert actions(app) == before


class TestAssignment:
    """Coordinators assign a lead and a different co-facilitator."""

    def test_assign(self, app, factory, api):
        coordinator = factory.user("coordinator")
        lead, co = factory.user("facilitator"), factory.user("facilitator")
        referral = factory.referral(by=coordinator)
        response = api(coordinator).put(f"/api/v1/referrals/{referral.id}/facilitators",
                                        json={"lead": str(lead.id), "co": str(co.id)})
        assert response.status_code == 200
        assert response.get_json()["facilitators"] == {"lead": str(lead.id), "co": str(co.id)}
        assert "referral.assign" in actions(app)

    def test_same_person_twice_or_not_a_facilitator(self, factory, api):
        coordinator = factory.user("coordinator")
        lead = factory.user("facilitator")
        referral = factory.referral(by=coordinator)
        client = api(coordinator)
        twice = client.put(f"/api/v1/referrals/{referral.id}/facilitators",
                           json={"lead": str(lead.id), "co": str(lead.id)})
        assert twice.status_code == 400 and "co" in twice.get_json()["error"]["details"]
        not_one = client.put(f"/api/v1/referrals/{referral.id}/facilitators",
                             json={"lead": str(lead.id), "co": str(coordinator.id)})
        assert not_one.status_code == 400 and "co" in not_one.get_json()["error"]["details"]
        malformed = client.put(f"/api/v1/referrals/{referral.id}/facilitators", json={"lead": "x", "co": "y"})
        assert malformed.status_code == 400

    def test_facilitators_cannot_assign(self, factory, api):
        pair = (factory.user("facilitator"), factory.user("facilitator"))
        referral = factory.referral(facilitators=pair)
        response = api(pair[0]).put(f"/api/v1/referrals/{referral.id}/facilitators",
                                    json={"lead": str(pair[1].id), "co": str(pair[0].id)})
        assert response.status_code == 403
