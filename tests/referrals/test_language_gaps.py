"""Language gaps are visible (docs/design.md section 7): intake and link issuing warn when the portal and the sheets
do not exist in a party's language and ask whether an interpreter is arranged; the referral page shows it; the
readiness gate's language condition names the language."""

from __future__ import annotations

from sqlalchemy import func, select

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.portal.models import SecureLink
from coordinator.referrals.models import Referral
from tests.factories import referral_payload
from tests.referrals.test_pages import INTAKE, referral_count, text_of

HUNGARIAN = {**INTAKE, "survivor_language": "hu"}


def survivor_of(app) -> object:
    """The only referral's survivor."""
    with app.app_context():
        referral = db.session.execute(select(Referral)).scalar_one()
        return referral.survivor


def test_intake_asks_once_whether_an_interpreter_is_arranged(app, factory, browser):
    """Hungarian has no portal: the first submission keeps everything, warns and asks; submitting again takes the
    referral in, and its page keeps showing the gap with a way to record an interpreter."""
    staff = browser(factory.user("coordinator"))
    form = text_of(staff.get("/referrals/new"))
    assert "Hungarian (no portal: an interpreter is needed)" in form and ">Ukrainian</option>" in form
    first = staff.post("/referrals/new", HUNGARIAN)
    body = text_of(first)
    assert first.status_code == 400 and referral_count(app) == 0
    assert 'data-warning="language_without_portal"' in body
    assert "not available in Hungarian" in body and "Is an interpreter arranged?" in body
    assert 'name="language_gap_seen" type="hidden" value="1"' in body and 'value="Willow"' in body

    second = staff.post("/referrals/new", {**HUNGARIAN, "language_gap_seen": "1"})
    assert second.status_code == 302 and referral_count(app) == 1
    survivor = survivor_of(app)
    assert (survivor.preferred_language, survivor.interpreter_arranged) == ("hu", False)
    page = text_of(staff.get(second.headers["Location"]))
    assert 'data-warning="language_without_portal" data-party="survivor"' in page
    assert "No interpreter is arranged yet." in page

    with app.app_context():
        referral_id = db.session.execute(select(Referral.id)).scalar_one()
    staff.post(f"/referrals/{referral_id}/parties/survivor/interpreter", {"arranged": "1"})
    assert survivor_of(app).interpreter_arranged is True
    assert "An interpreter is arranged." in text_of(staff.get(f"/referrals/{referral_id}"))
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "party.interpreter")).scalar_one()
    assert entry.details == {"party": "survivor", "arranged": True}


def test_intake_with_an_interpreter_arranged_asks_nothing(app, factory, browser):
    """Ticked at once: no question, and the party is recorded with an interpreter arranged."""
    staff = browser(factory.user("coordinator"))
    response = staff.post("/referrals/new", {**HUNGARIAN, "survivor_interpreter_arranged": "y",
                                             "survivor_timezone": "Europe/Budapest"})
    assert response.status_code == 302
    survivor = survivor_of(app)
    assert (survivor.interpreter_arranged, survivor.timezone) == (True, "Europe/Budapest")


def test_the_api_warns_and_records_the_zone(app, factory, api):
    """201 as always, with a warning naming the party and the language; a zone that does not exist is a 400."""
    client = api(factory.user("coordinator"))
    payload = referral_payload(survivor={"preferred_language": "ti", "timezone": "Africa/Asmara"})
    answer = client.post("/api/v1/referrals", json=payload)
    assert answer.status_code == 201
    body = answer.get_json()
    [warning] = body["warnings"]
    assert (warning["code"], warning["party"], warning["language"]) == ("language_without_portal", "survivor", "ti")
    assert "Tigrinya" in warning["message"] and warning["interpreter_arranged"] is False
    assert body["survivor"]["timezone"] == "Africa/Asmara" and body["survivor"]["portal_language"] == "en"
    arranged = client.post("/api/v1/referrals", json=referral_payload(
        survivor={"preferred_language": "ti", "interpreter_arranged": True}))
    assert "warnings" not in arranged.get_json()
    offered = client.post("/api/v1/referrals", json=referral_payload(survivor={"preferred_language": "vi"}))
    assert "warnings" not in offered.get_json() and offered.get_json()["survivor"]["portal_language"] == "vi"
    bad = client.post("/api/v1/referrals", json=referral_payload(survivor={"timezone": "Mars/Olympus"}))
    assert bad.status_code == 400


def test_issuing_a_link_asks_first_and_the_api_warns(app, factory, browser, api):
    """The page asks before sending a link the party would read in English; answering "arranged" records it and
    issues the link; the API issues it and says why it warns."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, survivor={"preferred_language": "hu"})
    staff = browser(coordinator)
    asked = staff.post(f"/referrals/{referral.id}/links", {"party": "survivor", "channel": "email"})
    assert asked.status_code == 200 and 'data-warning="language_without_portal"' in text_of(asked)
    assert 'data-action="interpreter-arranged"' in text_of(asked)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SecureLink)).scalar_one() == 0
    issued = staff.post(f"/referrals/{referral.id}/links", {"party": "survivor", "channel": "email",
                                                            "interpreter": "arranged"})
    assert issued.status_code == 302
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SecureLink)).scalar_one() == 1
    assert survivor_of(app).interpreter_arranged is True

    other = factory.referral(by=coordinator, survivor={"preferred_language": "sq"})
    answer = api(coordinator).post(f"/api/v1/referrals/{other.id}/links", json={"party": "survivor",
                                                                                "channel": "email"})
    assert answer.status_code == 201
    assert [w["language"] for w in answer.get_json()["warnings"]] == ["sq"]


def test_the_readiness_condition_names_the_survivors_language(app, factory, api):
    """Facilitators who speak English, Spanish and French, a survivor who speaks Ukrainian: the unmet condition
    says which language is missing, on the API and on the referral page."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    referral = factory.referral(by=coordinator, facilitators=pair, status="screening",
                                survivor={"preferred_language": "uk"})
    answer = api(coordinator).get(f"/api/v1/referrals/{referral.id}/readiness?format=video&date=2030-01-01")
    [language] = [item for item in answer.get_json()["unmet"] if item["code"] == "language_unmatched"]
    assert language["message"] == ("A facilitator speaks the survivor's language (Ukrainian), or an interpreter "
                                   "is booked.")
