"""Agreements: drafted after a circle, accepted by both parties, progress and instalments, overdue, the end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from coordinator import clock
from coordinator.agreements.models import Acceptance, Agreement, AgreementItem, ItemProgress
from coordinator.agreements.queries import agreement_panel
from coordinator.audit.models import AuditEntry
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.referrals.models import Referral
from tests.agreements.helpers import activated, drafted, held_circle, items, share_with_court
from tests.portal.helpers import Case, Phone, link_for


def item_json(app, **overrides) -> list[dict]:
    """The helper's two items as the API takes them."""
    rows = [{"kind": draft.kind, "description": draft.description, "due_on": draft.due_on.isoformat(),
             "amount_cents": draft.amount_cents, "currency": draft.currency} for draft in items(app)]
    rows[0].pop("amount_cents"), rows[0].pop("currency")
    rows[1].update(overrides)
    return rows


def referral_status(app, referral) -> tuple[str, str | None]:
    with app.app_context():
        row = db.session.get(Referral, referral.id)
        return row.status, row.status_reason


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def item_ids(app, agreement) -> list:
    with app.app_context():
        return [row.id for row in db.session.execute(
            select(AgreementItem).where(AgreementItem.agreement_id == agreement.id).order_by(AgreementItem.position)
        ).scalars()]


def test_an_agreement_is_drafted_only_after_a_circle_was_held(app, factory, api):
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, status="preparation")
    response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/agreement", json={"items": item_json(app)})
    assert response.status_code == 409
    assert response.json["error"]["details"]["code"] == "circle_not_held"
    assert count(app, Agreement) == 0


def test_drafting_through_the_api_and_rewriting_the_draft(app, factory, api):
    held = held_circle(app, factory)
    client = api(held.lead)
    created = client.post(f"/api/v1/referrals/{held.referral.id}/agreement", json={"items": item_json(app)})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "draft" and body["version"] == 1
    assert [item["kind"] for item in body["items"]] == ["apology", "restitution"]
    assert body["items"][1]["amount_cents"] == 30000 and body["items"][1]["currency"] == "EUR"
    assert body["items_total"] == 2 and body["items_completed"] == 0

    client.post(f"/api/v1/agreements/{body['id']}/acceptances", json={"party": "survivor", "method": "in_person"})
    rewritten = client.post(f"/api/v1/referrals/{held.referral.id}/agreement",
                            json={"items": item_json(app, amount_cents=20000)})
    assert rewritten.status_code == 200
    assert rewritten.json["version"] == 2 and rewritten.json["items"][1]["amount_cents"] == 20000
    assert rewritten.json["acceptances"] == []  # the survivor accepted version 1, not this one
    assert count(app, AgreementItem) == 2
    shown = client.get(f"/api/v1/referrals/{held.referral.id}/agreement")
    assert shown.status_code == 200 and shown.json["id"] == body["id"]


@pytest.mark.parametrize(("rows", "field"), [
    ([], "items"),
    ([{"kind": "restitution", "description": "Repay", "due_on": "2999-01-01"}], "items.0.amount_cents"),
    ([{"kind": "restitution", "description": "Repay", "due_on": "2999-01-01", "amount_cents": 100,
       "currency": "euro"}], "items.0.currency"),
    ([{"kind": "apology", "description": "  "}], "items.0.description"),
    ([{"kind": "apology", "description": "Sorry", "due_on": "2001-01-01"}], "items.0.due_on"),
    ([{"kind": "service", "description": "Help", "amount_cents": 100, "currency": "EUR"}], "items.0.amount_cents"),
])
def test_bad_items_are_refused_and_nothing_is_written(app, factory, api, rows, field):
    held = held_circle(app, factory)
    response = api(held.lead).post(f"/api/v1/referrals/{held.referral.id}/agreement", json={"items": rows})
    assert response.status_code == 400
    assert field in response.json["error"]["details"]
    assert count(app, Agreement) == 0 and count(app, AgreementItem) == 0


def test_an_unknown_kind_is_refused_by_the_schema(app, factory, api):
    held = held_circle(app, factory)
    response = api(held.lead).post(f"/api/v1/referrals/{held.referral.id}/agreement",
                                   json={"items": [{"kind": "payment", "description": "x"}]})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"


def test_both_acceptances_make_it_active_and_the_referral_monitoring(app, factory, api):
    held = held_circle(app, factory)
    agreement = drafted(app, held)
    client = api(held.co)
    first = client.post(f"/api/v1/agreements/{agreement.id}/acceptances",
                        json={"party": "responsible_party", "method": "via_advocate"})
    assert first.status_code == 201 and first.json["status"] == "draft"
    assert referral_status(app, held.referral)[0] == "circle_held"
    staff_link = client.post(f"/api/v1/agreements/{agreement.id}/acceptances",
                             json={"party": "survivor", "method": "secure_link"})
    assert staff_link.status_code == 400  # only the party accepts through their own link
    second = client.post(f"/api/v1/agreements/{agreement.id}/acceptances",
                         json={"party": "survivor", "method": "in_person"})
    assert second.json["status"] == "active" and second.json["activated_at"]
    assert {a["party"] for a in second.json["acceptances"]} == {"survivor", "responsible_party"}
    assert referral_status(app, held.referral)[0] == "monitoring"
    again = client.post(f"/api/v1/referrals/{held.referral.id}/agreement", json={"items": item_json(app)})
    assert again.status_code == 409  # an active agreement is not rewritten


def test_instalments_complete_restitution_and_the_last_item_completes_everything(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    apology, restitution = item_ids(app, agreement)
    client = api(held.lead)

    early = client.post(f"/api/v1/agreement-items/{restitution}/progress", json={"status": "completed"})
    assert early.status_code == 400 and "status" in early.json["error"]["details"]
    paid = client.post(f"/api/v1/agreement-items/{restitution}/progress",
                       json={"amount_cents": 10000, "note": "First instalment, fictional."})
    assert paid.status_code == 201
    assert paid.json["items"][1]["paid_cents"] == 10000 and paid.json["items"][1]["status"] == "open"
    too_much = client.post(f"/api/v1/agreement-items/{restitution}/progress", json={"amount_cents": 20001})
    assert too_much.status_code == 400 and "amount_cents" in too_much.json["error"]["details"]
    not_money = client.post(f"/api/v1/agreement-items/{apology}/progress", json={"amount_cents": 100})
    assert not_money.status_code == 400
    rest = client.post(f"/api/v1/agreement-items/{restitution}/progress", json={"amount_cents": 20000})
    assert rest.json["items"][1]["status"] == "completed" and rest.json["items"][1]["paid_cents"] == 30000
    assert rest.json["status"] == "active" and referral_status(app, held.referral)[0] == "monitoring"

    done = client.post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "completed"})
    assert done.json["status"] == "completed" and done.json["items_completed"] == 2
    assert referral_status(app, held.referral)[0] == "completed"
    after = client.post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "missed"})
    assert after.status_code == 409
    with app.app_context():
        actions = [entry.action for entry in db.session.execute(
            select(AuditEntry).where(AuditEntry.referral_id == held.referral.id).order_by(AuditEntry.seq)).scalars()]
    assert actions.count("agreement.progress") == 3 and "agreement.transition" in actions


def test_waiving_counts_as_done_but_not_as_completed(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    apology, restitution = item_ids(app, agreement)
    client = api(held.lead)
    client.post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "missed"})
    client.post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "completed"})
    client.post(f"/api/v1/agreement-items/{restitution}/progress", json={"amount_cents": 5000})
    waived = client.post(f"/api/v1/agreement-items/{restitution}/progress",
                         json={"status": "waived", "note": "The survivor released the rest."})
    assert waived.json["status"] == "completed"
    assert waived.json["items_completed"] == 1 and waived.json["items_total"] == 2


def test_a_coordinator_closes_an_agreement_as_not_completed(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    refused = api(held.lead).post(f"/api/v1/agreements/{agreement.id}/not-completed", json={})
    assert refused.status_code == 403
    closed = api(held.coordinator).post(f"/api/v1/agreements/{agreement.id}/not-completed",
                                        json={"note": "Stopped paying; fictional."})
    assert closed.status_code == 200 and closed.json["status"] == "not_completed" and closed.json["ended_at"]
    assert referral_status(app, held.referral) == ("closed", "agreement_not_completed")


def test_prosecutors_and_other_facilitators_never_see_an_agreement(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    (apology, _restitution) = item_ids(app, agreement)
    outsider = factory.user("facilitator")
    for user in (held.prosecutor, outsider):
        client = api(user)
        assert client.get(f"/api/v1/referrals/{held.referral.id}/agreement").status_code == 404
        assert client.post(f"/api/v1/agreement-items/{apology}/progress",
                           json={"status": "completed"}).status_code == 404
        assert client.post(f"/api/v1/agreements/{agreement.id}/acceptances",
                           json={"party": "survivor", "method": "in_person"}).status_code == 404
    admin = api(factory.user("admin"))
    assert admin.get(f"/api/v1/referrals/{held.referral.id}/agreement").status_code == 404


def test_the_prosecution_sees_the_summary_only_with_both_consents(app, factory, api, browser):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    client = api(held.prosecutor)
    docket = held.referral.case.docket_number

    def shown():
        response = client.get(f"/api/v1/prosecution/cases/{docket}")
        assert response.status_code == 200
        return response.json["referrals"][0]["agreement"]

    assert shown() is None
    share_with_court(app, held, parties=("survivor",))
    assert shown() is None  # one party is not enough
    share_with_court(app, held, parties=("responsible_party",))
    assert shown() == {"status": "active", "items_total": 2, "items_completed": 0, "items_overdue": 0}
    apology = item_ids(app, agreement)[0]
    api(held.lead).post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "completed"})
    assert shown()["items_completed"] == 1
    page = browser(held.prosecutor)
    assert "1/2" in page.get(f"/prosecution/cases/{docket}").get_data(as_text=True)
    share_with_court(app, held, parties=("responsible_party",), decision="withdrawn")
    assert shown() is None
    body = page.get(f"/prosecution/cases/{docket}").get_data(as_text=True)
    assert "1/2" not in body and "Not shared" in body


def test_the_daily_job_reports_each_overdue_item_once(app, factory):
    held = held_circle(app, factory)
    agreement = activated(app, held, items(app, due_in_days=3))
    apology, _restitution = item_ids(app, agreement)
    with app.app_context():
        run = JOBS_BY_ID["check_overdue_items"].run
        assert run() == "0 overdue items reported"  # nothing is due yet
        clock.set_clock(clock.now() + timedelta(days=5))
        db.session.commit()
    with app.app_context():
        assert JOBS_BY_ID["check_overdue_items"].run() == "2 overdue items reported"
    with app.app_context():
        assert JOBS_BY_ID["check_overdue_items"].run() == "0 overdue items reported"
        notices = db.session.execute(select(StaffNotice).where(StaffNotice.template == "agreement_item_overdue")
                                     ).scalars().all()
        assert {notice.user_id for notice in notices} == {held.lead.id, held.co.id}
        assert len(notices) == 4  # two items, two facilitators, once each
        emails = db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "agreement_item_overdue")
                                    ).scalars().all()
        assert len(emails) == 4 and all("reference" not in message.params for message in emails)
        agreement_row = db.session.get(Agreement, agreement.id)
        panel = agreement_panel(db.session.get(Referral, agreement_row.referral_id))
        assert panel.summary.items_overdue == 2 and apology in panel.overdue


def test_descriptions_and_notes_are_encrypted_at_rest(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    apology = item_ids(app, agreement)[0]
    api(held.lead).post(f"/api/v1/agreement-items/{apology}/progress",
                        json={"status": "completed", "note": "Canary-note-7731"})
    with app.app_context():
        rows = db.session.execute(text("SELECT description_enc FROM agreement_items")).scalars().all()
        notes = db.session.execute(text("SELECT note_enc FROM agreement_item_progress")).scalars().all()
        assert rows and all("apology" not in value and "Repay" not in value for value in rows)
        assert notes and all("Canary" not in (value or "") for value in notes)
        assert db.session.get(ItemProgress, db.session.execute(select(ItemProgress.id)).scalar_one()).note \
            == "Canary-note-7731"


def test_each_party_accepts_on_their_own_page(app, factory):
    held = held_circle(app, factory, survivor={"preferred_language": "en"})
    agreement = drafted(app, held)
    case = Case(held.referral, held.coordinator, (held.lead, held.co))
    for party in ("survivor", "responsible_party"):
        phone = Phone(app.test_client())
        phone.continue_link(link_for(app, case, party))
        home = phone.open("/portal").get_data(as_text=True)
        assert "A written apology, read in a follow-up meeting." in home
        assert 'data-action="agreement-accept"' in home
        accepted = phone.post("/portal/agreement/accept", {"version": "1"}, page_url="/portal")
        assert accepted.status_code == 302
        after = phone.open("/portal").get_data(as_text=True)
        assert "You accepted this agreement" in after and 'data-action="agreement-accept"' not in after
    with app.app_context():
        methods = {row.party_role: row.method for row in db.session.execute(select(Acceptance)).scalars()}
        assert methods == {"survivor": "secure_link", "responsible_party": "secure_link"}
        assert db.session.get(Agreement, agreement.id).status == "active"
    assert referral_status(app, held.referral)[0] == "monitoring"


def test_the_referral_page_drafts_accepts_and_records_progress(app, factory, browser):
    held = held_circle(app, factory)
    lead = browser(held.lead)
    page = lead.get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert 'data-action="agreement-draft"' in page
    with app.app_context():
        due = (clock.today() + timedelta(days=20)).isoformat()
    bad = lead.post(f"/referrals/{held.referral.id}/agreement", {
        "items-0-kind": "restitution", "items-0-description": "Repay", "items-0-due_on": due,
    })
    assert bad.status_code == 400 and "Enter the amount to be paid." in bad.get_data(as_text=True)
    assert count(app, Agreement) == 0
    saved = lead.post(f"/referrals/{held.referral.id}/agreement", {
        "items-0-kind": "restitution", "items-0-description": "Repay 50 in two parts", "items-0-due_on": due,
        "items-0-amount": "50.00", "items-0-currency": "eur",
        "items-1-kind": "", "items-1-description": "",
        "items-2-kind": "apology", "items-2-description": "Say sorry in a letter",
    })
    assert saved.status_code == 302
    with app.app_context():
        agreement = db.session.execute(select(Agreement)).scalar_one()
        kinds = [(i.kind, i.amount_cents, i.currency) for i in db.session.execute(
            select(AgreementItem).order_by(AgreementItem.position)).scalars()]
    assert kinds == [("restitution", 5000, "EUR"), ("apology", None, None)]
    for party in ("survivor", "responsible_party"):
        lead.post(f"/agreements/{agreement.id}/acceptances", {"party": party, "method": "in_person", "version": "1"})
    page = lead.get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert "Active" in page and "Say sorry in a letter" in page
    restitution = item_ids(app, agreement)[0]
    lead.post(f"/agreement-items/{restitution}/progress", {"status": "", "amount": "20.00", "note": "cash"})
    page = lead.get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert "€20.00 paid of €50.00" in page
    refused = lead.post(f"/agreements/{agreement.id}/not-completed", {"note": ""})
    assert refused.status_code == 403


def test_a_withdrawal_of_participation_ends_the_agreement_with_the_referral(app, factory):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    with app.app_context():
        record_decision(db.session.merge(held.lead), db.session.get(Referral, held.referral.id), party="survivor",
                        scope="participation", decision="withdrawn", method="in_person")
        db.session.commit()
        assert db.session.get(Agreement, agreement.id).status == "not_completed"
    assert referral_status(app, held.referral) == ("closed", "consent_withdrawn")


def test_an_acceptance_is_of_the_version_shown(app, factory, api):
    """A page or request showing version 1 cannot accept version 2 unseen."""
    held = held_circle(app, factory, survivor={"preferred_language": "en"})
    agreement = drafted(app, held)
    case = Case(held.referral, held.coordinator, (held.lead, held.co))
    phone = Phone(app.test_client())
    phone.continue_link(link_for(app, case, "survivor"))
    assert 'name="version" value="1"' in phone.open("/portal").get_data(as_text=True)
    api(held.lead).post(f"/api/v1/referrals/{held.referral.id}/agreement", json={"items": item_json(app)})
    stale = phone.post("/portal/agreement/accept", {"version": "1"}, page_url="/portal")
    assert stale.status_code == 302
    assert "Please read it again" in phone.open("/portal").get_data(as_text=True)
    refused = api(held.lead).post(f"/api/v1/agreements/{agreement.id}/acceptances",
                                  json={"party": "responsible_party", "method": "in_person", "version": 1})
    assert refused.status_code == 409 and refused.json["error"]["details"]["code"] == "agreement_changed"
    assert count(app, Acceptance) == 0


def test_a_pause_holds_the_agreement_still(app, factory, api):
    held = held_circle(app, factory)
    agreement = activated(app, held)
    apology = item_ids(app, agreement)[0]
    client = api(held.lead)
    assert client.post(f"/api/v1/referrals/{held.referral.id}/transitions",
                       json={"to": "paused", "reason": "facilitator_stop"}).status_code in (200, 201)
    refused = client.post(f"/api/v1/agreement-items/{apology}/progress", json={"status": "completed"})
    assert refused.status_code == 409 and refused.json["error"]["details"]["code"] == "referral_paused"
    docket = held.referral.case.docket_number
    shown = api(held.prosecutor).get(f"/api/v1/prosecution/cases/{docket}").json["referrals"][0]
    assert shown["stage"] == "agreement_monitoring"  # a pause after the circle is not betrayed by the stage


def test_a_note_alone_is_progress_and_drafts_are_never_overdue(app, factory, api):
    held = held_circle(app, factory)
    agreement = drafted(app, held, items(app, due_in_days=2))
    with app.app_context():
        clock.set_clock(clock.now() + timedelta(days=5))
        db.session.commit()
    shown = api(held.lead).get(f"/api/v1/referrals/{held.referral.id}/agreement").json
    assert shown["items_overdue"] == 0 and not any(item["overdue"] for item in shown["items"])
    for party in ("survivor", "responsible_party"):
        api(held.lead).post(f"/api/v1/agreements/{agreement.id}/acceptances",
                            json={"party": party, "method": "in_person"})
    apology = item_ids(app, agreement)[0]
    noted = api(held.lead).post(f"/api/v1/agreement-items/{apology}/progress", json={"note": "Called; on track."})
    assert noted.status_code == 201
    assert noted.json["items"][0]["status"] == "open" and len(noted.json["items"][0]["progress"]) == 1
    assert noted.json["items_overdue"] == 2  # in force now, and past its dates
    empty = api(held.lead).post(f"/api/v1/agreement-items/{apology}/progress", json={})
    assert empty.status_code == 400


def test_closing_the_referral_by_hand_keeps_the_agreement_reason_for_the_agreement(app, factory, api):
    held = held_circle(app, factory)
    activated(app, held)
    share_with_court(app, held)
    client = api(held.coordinator)
    by_hand = client.post(f"/api/v1/referrals/{held.referral.id}/transitions",
                          json={"to": "closed", "reason": "agreement_not_completed"})
    assert by_hand.status_code == 400 and referral_status(app, held.referral)[0] == "monitoring"
    closed = client.post(f"/api/v1/referrals/{held.referral.id}/transitions", json={"to": "closed", "reason": "safety"})
    assert closed.status_code in (200, 201)
    with app.app_context():
        assert db.session.execute(select(Agreement.status)).scalar_one() == "not_completed"
    docket = held.referral.case.docket_number
    shown = api(held.prosecutor).get(f"/api/v1/prosecution/cases/{docket}").json["referrals"][0]
    assert shown["stage"] == "closed" and shown["agreement"] is None  # no adverse mark for a closing


def test_a_reopened_referral_drafts_a_new_agreement(app, factory, api):
    held = held_circle(app, factory)
    first = activated(app, held)
    with app.app_context():
        record_decision(db.session.merge(held.lead), db.session.get(Referral, held.referral.id), party="survivor",
                        scope="participation", decision="withdrawn", method="in_person")
        referral = db.session.get(Referral, held.referral.id)
        referral.status, referral.status_reason = "circle_held", None  # reopened and a new circle held, in short
        db.session.commit()
    again = api(held.lead).post(f"/api/v1/referrals/{held.referral.id}/agreement", json={"items": item_json(app)})
    assert again.status_code == 201 and again.json["id"] != str(first.id) and again.json["status"] == "draft"
    assert api(held.lead).get(f"/api/v1/referrals/{held.referral.id}/agreement").json["id"] == again.json["id"]
