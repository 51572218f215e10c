"""The readiness gate: every code made unmet and then met, in the pure function and through the service."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from coordinator import clock
from coordinator.consent.models import ConsentStatus, Scope
from coordinator.consent.status import ConsentState
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.safety.readiness import (
    CONDITIONS,
    AssessmentFacts,
    CirclePlan,
    FacilitatorFacts,
    Facts,
    checklist,
    readiness,
)
from tests.factories import prepare_for_circle
from tests.safety.test_assessments import answers

CIRCLE_DAY = date(2027, 3, 10)
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
GRANTED = ConsentState(ConsentStatus.granted, NOW - timedelta(days=5), NOW + timedelta(days=85))


def all_consents() -> dict:
    return {role: {scope.value: GRANTED for scope in Scope} for role in ("survivor", "responsible_party")}


def with_consent(facts: Facts, role: str, scope: str, state: ConsentState) -> Facts:
    consents = {r: dict(scopes) for r, scopes in facts.consents.items()}
    consents[role][scope] = state
    return replace(facts, consents=consents)


TRAINED = FacilitatorFacts({"trafficking_specialist": date(2027, 12, 31)}, ("en", "es"))
MET = Facts(
    status="preparation",
    consents=all_consents(),
    acknowledged=True,
    held_kinds=frozenset({"pre_conference_survivor", "pre_conference_responsible"}),
    assessment=AssessmentFacts(NOW - timedelta(days=2), NOW + timedelta(days=28), "moderate", False),
    last_incident_at=None,
    no_contact_until=None,
    facilitators=(TRAINED, TRAINED),
    survivor_language="es",
    venue_suitable=True,
)

# code -> a change to MET that leaves exactly that condition unmet (for an in-person circle on CIRCLE_DAY)
UNMET = {
    "referral_state": lambda f: replace(f, status="screening"),
    "referral_paused": lambda f: replace(f, status="paused"),
    "consent_survivor_participation": lambda f: with_consent(f, "survivor", "participation",
                                                             ConsentState(ConsentStatus.withdrawn, NOW)),
    "consent_survivor_contact_other_party": lambda f: with_consent(
        f, "survivor", "contact_other_party",
        ConsentState(ConsentStatus.granted, NOW, datetime(2027, 3, 9, tzinfo=UTC))),  # lapses before the circle
    "consent_responsible_participation": lambda f: with_consent(f, "responsible_party", "participation",
                                                                ConsentState(ConsentStatus.pending)),
    "acknowledgement_missing": lambda f: replace(f, acknowledged=False),
    "pre_conference_survivor": lambda f: replace(f, held_kinds=frozenset({"pre_conference_responsible"})),
    "pre_conference_responsible": lambda f: replace(f, held_kinds=frozenset({"pre_conference_survivor"})),
    "risk_assessment_missing": lambda f: replace(f, last_incident_at=NOW - timedelta(days=1)),
    "risk_assessment_stale": lambda f: replace(f, assessment=replace(f.assessment, valid_until=NOW)),
    "risk_prohibitive": lambda f: replace(f, assessment=replace(f.assessment, level="prohibitive")),
    "mitigation_unapproved": lambda f: replace(f, assessment=replace(f.assessment, level="high")),
    "protective_order": lambda f: replace(f, no_contact_until=date(2027, 6, 30)),
    "facilitators_missing": lambda f: replace(f, facilitators=(TRAINED,)),
    "facilitator_training": lambda f: replace(f, facilitators=(
        TRAINED, FacilitatorFacts({"trafficking_specialist": date(2027, 3, 9)}, ("en",)))),
    "facilitator_conflicted": lambda f: replace(f, facilitators=(
        TRAINED, FacilitatorFacts({"trafficking_specialist": date(2027, 12, 31)}, ("en",), conflicted=True))),
    "language_unmatched": lambda f: replace(f, survivor_language="uk"),
    "venue_unsuitable": lambda f: replace(f, venue_suitable=False),
}


def test_every_code_of_the_design_has_a_condition():
    """The checklist and this table cover exactly docs/design.md section 3."""
    assert set(CONDITIONS) == set(UNMET) and len(CONDITIONS) == 18


def test_all_met_means_ready():
    """No unmet condition for an in-person circle when everything is in place."""
    assert readiness(MET, "in_person", CIRCLE_DAY) == []


@pytest.mark.parametrize("code", list(UNMET))
def test_each_condition_unmet_then_met(code):
    """Breaking one fact leaves exactly its code unmet, with a message; restoring it clears it."""
    broken = UNMET[code](MET)
    unmet = readiness(broken, "in_person", CIRCLE_DAY)
    assert [item.code for item in unmet] == [code]
    assert unmet[0].message
    assert readiness(MET, "in_person", CIRCLE_DAY) == []


@pytest.mark.parametrize("code", ["risk_prohibitive", "mitigation_unapproved", "protective_order"])
def test_indirect_formats_stay_open(code):
    """Shuttle and letter remain possible when the risk or an order rules out a meeting of the parties."""
    broken = UNMET[code](MET)
    assert readiness(broken, "shuttle", CIRCLE_DAY) == [] and readiness(broken, "letter", CIRCLE_DAY) == []
    assert [item.code for item in readiness(broken, "video", CIRCLE_DAY)] == [code]


def test_an_approved_plan_meets_high_risk():
    """High risk with an approved mitigation plan allows a joint format."""
    facts = replace(MET, assessment=replace(MET.assessment, level="high", mitigation_approved=True))
    assert readiness(facts, "in_person", CIRCLE_DAY) == []


def test_an_interpreter_meets_the_language_condition():
    """No shared language, but an interpreter booked."""
    facts = UNMET["language_unmatched"](MET)
    assert readiness(facts, "in_person", CIRCLE_DAY, interpreter=True) == []


def test_the_venue_only_matters_in_person():
    """A video circle ignores the venue; an in-person one needs a suitable one (rooms and capacity: venue_suits)."""
    facts = replace(MET, venue_suitable=False)
    assert [item.code for item in readiness(facts, "in_person", CIRCLE_DAY)] == ["venue_unsuitable"]
    assert readiness(facts, "video", CIRCLE_DAY) == []


def test_an_order_that_ended_before_the_circle_does_not_block():
    """A no-contact order expiring before the circle's date is no obstacle."""
    facts = replace(MET, no_contact_until=date(2027, 3, 9))
    assert readiness(facts, "in_person", CIRCLE_DAY) == []


def test_the_api_and_the_page_use_the_gate(app, factory, api, browser):
    """GET /readiness lists the unmet codes in the caller's language; the referral page shows the checklist."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/readiness?format=in_person"
    before = client.get(url).get_json()
    assert before["ready"] is False
    assert {item["code"] for item in before["unmet"]} == {"acknowledgement_missing", "pre_conference_survivor",
                                                         "pre_conference_responsible", "risk_assessment_missing"}
    with app.app_context():
        prepare_for_circle(db.session.merge(coordinator), db.session.get(Referral, referral.id))
        db.session.commit()
    assert client.get(url).get_json() == {"ready": True, "unmet": []}
    page = browser(coordinator).get(f"/referrals/{referral.id}").get_data(as_text=True)
    # In person by default: the venue is checked once one is chosen, and a low risk needs no mitigation plan.
    assert page.count('checklist__item--met') == 16 and page.count('data-state="not_applicable"') == 2
    assert 'checklist__item--unmet' not in page
    assert client.get(f"/api/v1/referrals/{referral.id}/readiness?format=teleport").status_code == 400
    assert api(factory.user("prosecutor")).get(url).status_code == 404


def test_a_held_session_counts_only_when_held(app, factory, api):
    """A booked preparation meeting that has not been recorded as held does not count."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    client = api(coordinator)
    with app.app_context():
        start = clock.now() + timedelta(days=3)
    booked = client.post(f"/api/v1/referrals/{referral.id}/sessions", json={
        "kind": "pre_conference_survivor", "format": "video", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "facilitator_ids": [str(pair[0].id)]})
    assert booked.status_code == 201, booked.get_json()
    codes = {item["code"] for item in client.get(f"/api/v1/referrals/{referral.id}/readiness").get_json()["unmet"]}
    assert "pre_conference_survivor" in codes


def test_a_conflict_declared_after_assignment_stops_the_circle_and_blocks_reassignment(app, factory, api):
    """The facilitator declares a conflict with the case they were given: the gate fails until they are replaced,
    and they cannot be assigned to it again."""
    coordinator = factory.user("coordinator")
    lead, co, spare = (factory.user("facilitator") for _ in range(3))
    referral = factory.referral(by=coordinator, facilitators=(lead, co), status="preparation")
    with app.app_context():
        prepare_for_circle(db.session.merge(coordinator), db.session.get(Referral, referral.id))
        docket = db.session.get(Referral, referral.id).case.docket_number
        db.session.commit()
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/readiness?format=in_person"
    assert client.get(url).get_json()["ready"] is True
    assert api(co).post(f"/api/v1/facilitators/{co.id}/conflicts", json={"docket_number": docket}).status_code == 201
    assert [item["code"] for item in client.get(url).get_json()["unmet"]] == ["facilitator_conflicted"]
    refused = client.put(f"/api/v1/referrals/{referral.id}/facilitators",
                         json={"lead": str(co.id), "co": str(lead.id)})
    assert refused.status_code == 400 and set(refused.get_json()["error"]["details"]) == {"lead"}
    replaced = client.put(f"/api/v1/referrals/{referral.id}/facilitators",
                          json={"lead": str(lead.id), "co": str(spare.id)})
    assert replaced.status_code == 200, replaced.get_json()
    assert client.get(url).get_json() == {"ready": True, "unmet": []}


def states(items) -> dict[str, str]:
    return {item.code: item.state for item in items}


def test_the_checklist_says_what_does_not_apply_and_what_waits(app, factory):
    """No assessment: its validity is unmet too, waiting for one; by shuttle, the joint-only conditions do not apply
    (never a tick); in person, the venue waits for one to be chosen."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="preparation")
    with app.test_request_context():
        merged = db.session.get(Referral, referral.id)
        in_person = states(checklist(CirclePlan(merged, "in_person", CIRCLE_DAY)))
        assert in_person["risk_assessment_missing"] == in_person["risk_assessment_stale"] == "unmet"
        assert in_person["mitigation_unapproved"] == in_person["risk_prohibitive"] == "unmet"
        assert in_person["venue_unsuitable"] == "not_applicable"
        shuttle = checklist(CirclePlan(merged, "shuttle", CIRCLE_DAY))
        assert {item.code for item in shuttle if item.state == "not_applicable"} == {
            "risk_prohibitive", "mitigation_unapproved", "protective_order", "venue_unsuitable"}
        assert all(item.note for item in shuttle if item.state == "not_applicable")


def test_a_high_risk_without_a_plan_is_not_ticked_on_the_safety_page(app, factory, api, browser):
    """Right after a high assessment with no plan, the safety page (in person by default, not "any format") shows
    the mitigation condition unmet; a shuttle check says it does not apply."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
    high = answers(violence_history="towards_survivor", survivor_fear="very", coercive_control="strong",
                   support_network="some", denial="minimises")
    assert api(pair[0]).post(f"/api/v1/referrals/{referral.id}/risk-assessments",
                             json={"answers": high}).get_json()["level"] == "high"
    client = browser(pair[0])
    page = client.get(f"/referrals/{referral.id}/safety").get_data(as_text=True)
    assert 'data-checklist-format="in_person"' in page
    assert 'data-code="mitigation_unapproved" data-state="unmet"' in page
    assert 'value="" selected' not in page  # no "Any format"
    shuttle = client.get(f"/referrals/{referral.id}/safety?format=shuttle").get_data(as_text=True)
    assert 'data-code="mitigation_unapproved" data-state="not_applicable"' in shuttle
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert 'data-code="mitigation_unapproved" data-state="unmet"' in detail
