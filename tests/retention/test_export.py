"""A person's own data: every kind of item held about one party, in their language, as JSON and as a PDF, with
nothing about the other party; producing it is audited and is for coordinators only."""

from __future__ import annotations

import json

from sqlalchemy import select

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from tests.agreements.helpers import activated, held_circle
from tests.pdf import pdf_text

SURVIVOR = {"alias": "Ana Exportada", "preferred_language": "es",
            "contact": {"email": "ana.exportada@example.org", "phone": "+34 600 111 222"}}
OTHER = {"alias": "Otherparty Hidden", "preferred_language": "en",
         "contact": {"email": "otherparty.hidden@example.org", "phone": "+1 555 0199"}}
OTHER_STRINGS = ("Otherparty Hidden", "otherparty.hidden@example.org", "+1 555 0199")


def rich_referral(app, factory, browser):
    """A referral after its circle, with an agreement both parties accepted, and its file opened by staff."""
    held = held_circle(app, factory, survivor=SURVIVOR, responsible_party=OTHER)
    activated(app, held)
    browser(held.coordinator).get(f"/referrals/{held.referral.id}")
    return held


def test_the_survivors_export_holds_every_kind_of_item_and_nothing_about_the_other_party(app, factory, api,
                                                                                           browser):
    held = rich_referral(app, factory, browser)
    response = api(held.coordinator).get(f"/api/v1/referrals/{held.referral.id}/parties/survivor/export")
    assert response.status_code == 200, response.get_json()
    export = response.get_json()
    assert export["reference"] == held.referral.reference and export["language"] == "es"
    assert export["party"] == {"role": "survivor", "role_label": "Persona superviviente", "alias": "Ana Exportada",
                               "preferred_language": "es", "needs_interpreter": False,
                               "email": "ana.exportada@example.org", "phone": "+34 600 111 222"}
    decisions = export["consent_decisions"]
    assert {d["scope"] for d in decisions} == {"participation", "contact_other_party"}
    assert all(d["sheet_version"] and d["sheet_language"] for d in decisions)
    assert {d["scope_label"] for d in decisions} == {"Participar", "Contacto con la otra persona"}
    assert {s["kind"] for s in export["sessions"]} == {"pre_conference_survivor", "circle"}
    assert [item["kind"] for item in export["agreement_items"]] == ["apology", "restitution"]
    assert [a["agreement_version"] for a in export["acceptances"]] == [1]
    assert export["messages"] and {m["template"] for m in export["messages"]} == {"session_invitation"}
    assert any(a["action"] == "referral.view" and a["by_role"] == "coordinator" for a in export["access"])
    text = json.dumps(export, ensure_ascii=False)
    assert not [value for value in OTHER_STRINGS if value in text]
    assert "pre_conference_responsible" not in text


def test_the_pdf_says_the_same_in_the_partys_language(app, factory, api, browser):
    """The PDF shows the party's record and items with Spanish headings, and nothing about the other party."""
    held = rich_referral(app, factory, browser)
    response = api(held.coordinator).get(f"/api/v1/referrals/{held.referral.id}/parties/survivor/export",
                                         query_string={"format": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert held.referral.reference in response.headers["Content-Disposition"]
    shown = pdf_text(response.get_data())
    assert "Ana Exportada" in shown and "ana.exportada@example.org" in shown
    assert "Participar" in shown and "Sus decisiones sobre el consentimiento" in shown
    assert not [value for value in OTHER_STRINGS if value in shown]


def test_the_responsible_partys_export_is_in_english_and_leaves_the_survivor_out(app, factory, api, browser):
    """The other way round: the responsible party's own items, none of the survivor's."""
    held = rich_referral(app, factory, browser)
    export = api(held.coordinator).get(
        f"/api/v1/referrals/{held.referral.id}/parties/responsible_party/export").get_json()
    assert export["language"] == "en" and export["party"]["alias"] == "Otherparty Hidden"
    assert {d["scope"] for d in export["consent_decisions"]} == {"participation"}
    assert {s["kind"] for s in export["sessions"]} == {"pre_conference_responsible", "circle"}
    text = json.dumps(export)
    assert not [value for value in ("Ana Exportada", "ana.exportada@example.org", "+34 600 111 222") if value in text]


def test_an_export_is_audited_and_for_coordinators_only(app, factory, api, browser):
    """Each export writes `party.export` naming the party and the format; the facilitators get 403, others 404."""
    held = rich_referral(app, factory, browser)
    url = f"/api/v1/referrals/{held.referral.id}/parties/survivor/export"
    assert api(held.coordinator).get(url, query_string={"format": "pdf"}).status_code == 200
    assert browser(held.coordinator).get(
        f"/referrals/{held.referral.id}/parties/survivor/export.json").status_code == 200
    with app.app_context():
        entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "party.export")).scalars().all()
    assert [entry.details for entry in entries] == [{"party": "survivor", "format": "pdf"},
                                                    {"party": "survivor", "format": "json"}]
    assert all(entry.referral_id == held.referral.id for entry in entries)
    assert api(held.lead).get(url).status_code == 403
    assert api(held.prosecutor).get(url).status_code == 403
    assert api(factory.user("facilitator")).get(url).status_code == 404
    assert api(held.coordinator).get(f"/api/v1/referrals/{held.referral.id}/parties/nobody/export").status_code == 400
    assert browser(held.coordinator).get(
        f"/referrals/{held.referral.id}/parties/survivor/export.xml").status_code == 404


def test_a_language_the_portal_does_not_offer_falls_back_to_english(app, factory, api):
    """A Romanian-speaking survivor's export is in English until the portal speaks Romanian."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, survivor={"preferred_language": "ro"})
    export = api(coordinator).get(f"/api/v1/referrals/{referral.id}/parties/survivor/export").get_json()
    assert export["language"] == "en" and export["party"]["role_label"] == "Survivor"
