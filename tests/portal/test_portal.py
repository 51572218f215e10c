"""The portal's pages: only this party's matters, data-action on every clickable element, quick exit everywhere,
decisions on the sheet's own page, withdrawal's effects, the unsafe button, and the party's language."""

from __future__ import annotations

import html
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from coordinator.consent.models import ConsentDecision
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.referrals.models import Referral
from coordinator.sessions.models import ScheduledSession
from tests.portal.helpers import add_session, decide, link_for

PORTAL_ACTIONS = {"continue", "quick-exit", "consent-grant", "consent-withdraw", "session-confirm",
                  "session-decline", "agreement-accept", "report-unsafe", "pin-submit"}


class Clickables(HTMLParser):
    """Every link and button of a page, with its attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "button") or (tag == "input" and dict(attrs).get("type") in ("submit", "button")):
            self.found.append({"tag": tag, **dict(attrs)})


def clickables(page) -> list[dict]:
    """The clickable elements of a response."""
    parser = Clickables()
    parser.feed(page.get_data(as_text=True))
    return parser.found


def inside(app, case, phone, party: str = "survivor"):
    """A phone that went through the link and pressed continue."""
    visitor = phone()
    assert visitor.continue_link(link_for(app, case, party)).status_code == 302
    return visitor


def test_every_portal_page_is_neutral_private_and_has_quick_exit(app, case, phone):
    """Neutral title, no-store, a quick exit, and a data-action on everything a party can click."""
    path = link_for(app, case)
    visitor = phone()
    pages = {"interstitial": visitor.open(path)}
    visitor.continue_link(path)
    for name, url in (("home", "/portal"), ("sheet", "/portal/consent/participation"), ("pin", "/portal/pin"),
                      ("unsafe", "/portal/unsafe")):
        pages[name] = visitor.open(url)
    # An unknown link has no party to take a language from: the browser's language it is.
    pages["generic"] = phone().client.get("/p/unknown-token-that-is-long-enough", headers={"Accept-Language": "es"})
    for name, page in pages.items():
        body = page.get_data(as_text=True)
        assert "<title>Citas</title>" in body, name  # "Appointments", in the survivor's Spanish
        assert page.headers["Cache-Control"] == "no-store", name
        assert 'data-action="quick-exit"' in body, name
        for element in clickables(page):
            assert element.get("data-action"), (name, element)
        for secret in ("Paloma Secreta", "Señor Gris", "gris@example.org", "Human trafficking", "T-0"):
            assert secret not in body, (name, secret)


def test_the_portal_speaks_the_partys_language_and_can_switch(app, case, phone):
    """Spanish for this survivor; French after the switch."""
    visitor = inside(app, case, phone)
    assert "Sus decisiones" in visitor.open("/portal").get_data(as_text=True)
    assert visitor.post("/portal/language", {"language": "fr"}, page_url="/portal").status_code == 302
    assert "Vos décisions" in html.unescape(visitor.open("/portal").get_data(as_text=True))


def test_grant_on_the_sheet_page_records_the_sheet_shown(app, case, phone):
    """The decision names the version and the language of the sheet on that page."""
    visitor = inside(app, case, phone)
    sheet = visitor.open("/portal/consent/participation").get_data(as_text=True)
    assert 'data-action="consent-grant" data-scope="participation"' in sheet
    assert "Participar en un círculo restaurativo" in sheet
    response = visitor.post("/portal/consent/participation",
                            {"decision": "granted", "sheet_version": "v1", "sheet_language": "es"})
    assert response.status_code == 302
    with app.app_context():
        decision = db.session.execute(select(ConsentDecision)).scalar_one()
    assert (decision.scope, decision.decision, decision.method) == ("participation", "granted", "secure_link")
    assert (decision.sheet_version, decision.sheet_language, decision.recorded_by_type) == ("v1", "es", "party")
    assert (decision.expires_at - decision.decided_at) == timedelta(days=90)


def test_a_decision_naming_a_sheet_that_does_not_exist_is_refused(app, case, phone):
    """No sheet, no consent."""
    visitor = inside(app, case, phone)
    visitor.post("/portal/consent/participation", {"decision": "granted", "sheet_version": "v9",
                                                   "sheet_language": "es"}, page_url="/portal/consent/participation")
    with app.app_context():
        assert db.session.execute(select(ConsentDecision)).first() is None


def test_the_responsible_party_is_not_asked_about_contact(app, case, phone):
    """The survivor decides about contact; the responsible party's page offers the rest only."""
    decide(app, case, "survivor", "contact_other_party")
    visitor = inside(app, case, phone, "responsible_party")
    body = visitor.open("/portal").get_data(as_text=True)
    assert 'data-scope="participation"' in body and 'data-scope="contact_other_party"' not in body
    assert visitor.open("/portal/consent/contact_other_party").status_code == 404


def test_withdrawal_in_the_portal_cancels_sessions_tells_the_other_party_and_closes(app, case, phone):
    """In one go: sessions cancelled, the other party told neutrally, the referral closed (consent_withdrawn)."""
    decide(app, case, "survivor", "participation")
    decide(app, case, "survivor", "contact_other_party")
    add_session(app, case, "circle")
    add_session(app, case, "pre_conference_survivor", days=3)
    visitor = inside(app, case, phone)
    response = visitor.post("/portal/consent/participation", {"decision": "withdrawn", "sheet_version": "v1",
                                                              "sheet_language": "es"})
    assert response.status_code == 302
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        responsible_id = referral.responsible_party.id
        sessions = list(db.session.execute(select(ScheduledSession).where(ScheduledSession.status != "held")).scalars())
        told = list(db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient_kind == "party",
                                                                   OutboxMessage.template == "appointment_cancelled"))
                    .scalars())
        staff_told = {notice.user_id for notice in db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "consent_changed")).scalars()}
    assert (referral.status, referral.status_reason) == ("closed", "consent_withdrawn")
    assert {session.status for session in sessions} == {"cancelled"}
    assert all(session.sequence == 1 for session in sessions)
    assert [(m.template, m.recipient_id) for m in told] == [("appointment_cancelled", responsible_id)]
    assert staff_told == {user.id for user in case.facilitators}
    home = visitor.open("/portal").get_data(as_text=True)
    assert "sessions-heading" not in home and 'data-action="read-sheet"' in home  # only a fresh consent is offered


def test_a_later_grant_lets_the_coordinator_reopen(app, case, api):
    """Closed for withdrawn consent; reopened only after the survivor agrees again."""
    decide(app, case, "survivor", "participation")
    decide(app, case, "survivor", "participation", "withdrawn")
    client = api(case.coordinator)
    url = f"/api/v1/referrals/{case.referral.id}/transitions"
    refused = client.post(url, json={"to": "screening"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["details"][0]["code"] == "consent_survivor_participation"
    decide(app, case, "survivor", "participation")
    reopened = client.post(url, json={"to": "screening"})
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "screening"


def test_i_feel_unsafe_pauses_cancels_sessions_and_alerts(app, case, phone):
    """The button reaches the facilitators and the coordinator at once; the pause cancels every upcoming session,
    and only the other party is told (the survivor who pressed it gets no message)."""
    add_session(app, case, "circle")
    add_session(app, case, "pre_conference_survivor", days=3)
    visitor = inside(app, case, phone)
    page = visitor.open("/portal/unsafe")
    assert 'data-action="report-unsafe"' in page.get_data(as_text=True)
    assert visitor.post("/portal/unsafe").status_code == 200
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        kinds = {s.kind: s.status for s in db.session.execute(
            select(ScheduledSession).where(ScheduledSession.status != "held")).scalars()}
        alerted = {n.user_id for n in db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "unsafe_reported")).scalars()}
        told = list(db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient_kind == "party",
                                                                   OutboxMessage.template == "appointment_cancelled"))
                    .scalars())
        responsible_id = referral.responsible_party.id
    assert (referral.status, referral.status_reason) == ("paused", "safety_incident")
    assert kinds == {"circle": "cancelled", "pre_conference_survivor": "cancelled"}
    assert alerted == {case.coordinator.id, *(user.id for user in case.facilitators)}
    assert [(m.template, m.recipient_id) for m in told] == [("appointment_cancelled", responsible_id)]


def test_quick_exit_ends_the_session_and_leaves(app, case, phone):
    """The exit goes to the neutral site and the back button finds nothing."""
    visitor = inside(app, case, phone)
    response = visitor.open("/portal/exit")
    assert response.status_code == 302 and response.headers["Location"] == app.config["PORTAL_EXIT_URL"]
    assert visitor.open("/portal").status_code == 401


def test_the_party_sees_their_upcoming_appointments(app, case, phone):
    """Sessions appear with party-facing names, never "survivor" or "responsible party"."""
    decide(app, case, "survivor", "participation")
    add_session(app, case, "pre_conference_survivor", days=3)
    visitor = inside(app, case, phone)
    body = visitor.open("/portal").get_data(as_text=True)
    assert "Reunión de preparación" in body and "superviviente" not in body.lower()


def test_the_interstitial_is_in_the_partys_language(app, case, phone):
    """Before continuing, the page already speaks Spanish for this survivor."""
    page = phone().open(link_for(app, case)).get_data(as_text=True)
    assert 'lang="es"' in page and "Continuar" in page


def test_the_party_confirms_and_declines_appointments(app, case, phone):
    """session-confirm and session-decline: the answer is saved; when every party confirmed, it is confirmed."""
    decide(app, case, "survivor", "participation")
    session = add_session(app, case, "pre_conference_survivor", days=3)
    visitor = inside(app, case, phone)
    home = visitor.open("/portal").get_data(as_text=True)
    assert f'data-action="session-confirm" data-session="{session.id}"' in home
    assert visitor.post(f"/portal/sessions/{session.id}/confirm", page_url="/portal").status_code == 302
    with app.app_context():
        assert db.session.get(ScheduledSession, session.id).status == "confirmed"
    assert visitor.post(f"/portal/sessions/{session.id}/decline", page_url="/portal").status_code == 302
    with app.app_context():
        assert db.session.get(ScheduledSession, session.id).status == "proposed"
        told = {n.user_id for n in db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "session_declined")).scalars()}
    assert told == {user.id for user in case.facilitators}


def test_a_party_cannot_answer_for_a_session_they_are_not_invited_to(app, case, phone):
    """The responsible party's preparation meeting is not the survivor's to confirm."""
    decide(app, case, "survivor", "participation")
    decide(app, case, "survivor", "contact_other_party")
    decide(app, case, "responsible_party", "participation")
    session = add_session(app, case, "pre_conference_responsible", days=3)
    visitor = inside(app, case, phone)
    assert visitor.post(f"/portal/sessions/{session.id}/confirm", page_url="/portal").status_code == 404
