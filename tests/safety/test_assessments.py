"""The risk instrument and assessments: scoring, levels, immutability, versions, mitigation, the API and pages."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from coordinator.db import db
from coordinator.safety import instrument as instrument_module
from coordinator.safety.instrument import current_instrument, score, unanswered
from coordinator.safety.models import RiskAssessment

LOWEST = {item.code: item.answers[0].code for item in current_instrument().items}


def answers(**changes) -> dict[str, str]:
    """The lowest answer everywhere, with some items changed."""
    return {**LOWEST, **changes}


@pytest.mark.parametrize(
    ("changes", "expected_score", "level", "red_flags"),
    [
        ({}, 0, "low", ()),
        ({"violence_history": "past_others", "coercive_control": "some", "support_network": "some"}, 5, "low", ()),
        ({"violence_history": "towards_survivor", "survivor_fear": "somewhat"}, 6, "low", ()),
        ({"violence_history": "towards_survivor", "survivor_fear": "somewhat", "support_network": "some"}, 7,
         "moderate", ()),
        ({"violence_history": "towards_survivor", "survivor_fear": "very", "coercive_control": "strong",
          "support_network": "some", "denial": "minimises"}, 15, "high", ()),
        ({"violence_history": "towards_survivor", "survivor_fear": "very", "coercive_control": "strong"}, 12,
         "moderate", ()),
        ({"weapons": "used_or_threatened"}, 6, "prohibitive", ("weapons",)),
        ({"retaliation": "confirmed", "leverage": "current"}, 12, "prohibitive", ("leverage", "retaliation")),
    ],
)
def test_scoring_and_levels(changes, expected_score, level, red_flags):
    """Weights add up; thresholds give the level; any red flag makes it prohibitive."""
    result = score(current_instrument(), answers(**changes))
    assert (result.score, result.level, result.red_flags) == (expected_score, level, red_flags)


def test_every_item_must_be_answered_with_one_of_its_answers():
    """Missing, unknown and foreign answers are named."""
    given = answers()
    del given["weapons"]
    given["denial"] = "shrugs"
    given["horoscope"] = "leo"
    assert unanswered(current_instrument(), given) == {"weapons": "missing", "denial": "unknown answer",
                                                       "horoscope": "not an item of this instrument"}


def test_the_instrument_is_translated_in_every_language():
    """Every question and answer exists in English, Spanish and French."""
    for item in current_instrument().items:
        assert set(item.question) == {"en", "es", "fr"}
        for answer in item.answers:
            assert set(answer.label) == {"en", "es", "fr"} and all(answer.label.values())


def test_a_new_instrument_version_does_not_change_past_results(app, factory, api, tmp_path, monkeypatch):
    """Assess with v1, add a v2 with other weights: the stored result stays; new assessments use v2."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/risk-assessments"
    first = client.post(url, json={"answers": answers(survivor_fear="very")}).get_json()
    source = instrument_module.INSTRUMENTS / "v1.json"
    shutil.copy(source, tmp_path / "v1.json")
    changed = json.loads(source.read_text())
    changed["version"] = "v2"
    for item in changed["items"]:
        for answer in item["answers"]:
            answer["weight"] *= 3
    (tmp_path / "v2.json").write_text(json.dumps(changed))
    monkeypatch.setattr(instrument_module, "INSTRUMENTS", tmp_path)
    instrument_module.instruments.cache_clear()
    try:
        second = client.post(url, json={"answers": answers(survivor_fear="very")}).get_json()
        listed = client.get(url).get_json()["items"]
    finally:
        monkeypatch.undo()
        instrument_module.instruments.cache_clear()
    assert (first["instrument_version"], first["score"], first["level"]) == ("v1", 4, "low")
    assert (second["instrument_version"], second["score"], second["level"]) == ("v2", 12, "moderate")
    assert [(item["instrument_version"], item["score"]) for item in listed] == [("v2", 12), ("v1", 4)]


def test_the_api_records_an_assessment(app, factory, api):
    """201 with the fields of docs/api.md; valid for 30 days; 400 naming unanswered items, nothing written."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/risk-assessments"
    incomplete = answers()
    del incomplete["retaliation"]
    refused = client.post(url, json={"answers": incomplete})
    assert refused.status_code == 400 and "answers.retaliation" in refused.get_json()["error"]["details"]
    with app.app_context():
        assert db.session.execute(select(RiskAssessment)).first() is None
    created = client.post(url, json={"answers": answers(weapons="used_or_threatened"), "summary": "private"})
    body = created.get_json()
    assert created.status_code == 201
    assert set(body) == {"id", "instrument_version", "score", "level", "red_flags", "assessed_at", "valid_until"}
    assert (body["level"], body["red_flags"]) == ("prohibitive", ["weapons"])
    assert "private" not in created.get_data(as_text=True)


def test_assessments_cannot_be_edited(app, factory, api):
    """The database refuses a change to the results; key rotation may still rewrite the encrypted summary."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    api(coordinator).post(f"/api/v1/referrals/{referral.id}/risk-assessments",
                          json={"answers": answers(), "summary": "a summary"})
    with app.extensions["db_engine"].connect() as connection, pytest.raises(DBAPIError):
        connection.execute(text("UPDATE risk_assessments SET level = 'low', score = 0"))
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(text("UPDATE risk_assessments SET summary_enc = summary_enc"))


def test_the_instrument_endpoint_speaks_the_callers_language(factory, api):
    """GET /risk/instrument in Spanish for a Spanish-speaking coordinator."""
    body = api(factory.user("coordinator", language="es")).get("/api/v1/risk/instrument").get_json()
    assert body["version"] == "v1" and len(body["items"]) == 12
    weapons = next(item for item in body["items"] if item["code"] == "weapons")
    assert weapons["question"] == "¿La persona responsable tiene acceso a armas?"
    assert any(answer["red_flag"] for answer in weapons["answers"])


def test_high_risk_needs_a_plan_approved_by_a_coordinator(app, factory, api):
    """A facilitator proposes measures from the list; only a coordinator approves; the gate follows."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="ready")
    facilitator = api(pair[0])
    high = answers(violence_history="towards_survivor", survivor_fear="very", coercive_control="strong",
                   support_network="some", denial="minimises")
    assessment = facilitator.post(f"/api/v1/referrals/{referral.id}/risk-assessments", json={"answers": high}
                                  ).get_json()
    assert assessment["level"] == "high"
    readiness = f"/api/v1/referrals/{referral.id}/readiness?format=in_person"
    assert [u["code"] for u in facilitator.get(readiness).get_json()["unmet"]] == ["mitigation_unapproved"]
    bad = facilitator.post(f"/api/v1/risk-assessments/{assessment['id']}/mitigation",
                           json={"measures": ["a moat"]})
    assert bad.status_code == 400
    plan = facilitator.post(f"/api/v1/risk-assessments/{assessment['id']}/mitigation",
                            json={"measures": ["separate_waiting_rooms", "staggered_arrival"], "notes": "n"})
    assert plan.status_code == 201 and plan.get_json()["approved"] is False
    assert facilitator.post(f"/api/v1/risk-assessments/{assessment['id']}/approve").status_code == 403
    approved = api(coordinator).post(f"/api/v1/risk-assessments/{assessment['id']}/approve")
    assert approved.status_code == 200 and approved.get_json()["approved"] is True
    assert facilitator.get(readiness).get_json() == {"ready": True, "unmet": []}
    again = facilitator.post(f"/api/v1/risk-assessments/{assessment['id']}/mitigation",
                             json={"measures": ["security_on_site"]})
    assert again.status_code == 409


def test_the_safety_page_compares_the_latest_with_the_one_before(app, factory, api, browser):
    """Assessments listed, the change in score and the items whose answer changed."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/risk-assessments"
    client.post(url, json={"answers": answers(survivor_fear="somewhat")})
    client.post(url, json={"answers": answers(survivor_fear="very", retaliation="unconfirmed")})
    page = browser(coordinator).get(f"/referrals/{referral.id}/safety").get_data(as_text=True)
    assert "Score change: +4" in page
    assert "How afraid is the survivor of the responsible party?" in page and "Unconfirmed reports" in page
    assert "Earlier assessments (1)" in page


def test_the_assessment_form_needs_every_item(app, factory, browser):
    """The page form: missing items are marked and nothing is saved; a complete form records it."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    staff = browser(coordinator)
    url = f"/referrals/{referral.id}/safety/assess"
    partial = {f"answer-{code}": value for code, value in LOWEST.items() if code != "weapons"}
    refused = staff.post(url, partial)
    assert refused.status_code == 400 and 'id="error-weapons"' in refused.get_data(as_text=True)
    assert staff.post(url, {**partial, "answer-weapons": "no"}).status_code == 302
    with app.app_context():
        assert db.session.execute(select(RiskAssessment.level)).scalar_one() == "low"
