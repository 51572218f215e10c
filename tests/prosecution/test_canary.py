"""The confidentiality wall (docs/design.md rule 5), tested as an attacker would: unique canary strings go into every
confidential field, then a prosecutor fetches every page and endpoint the application has, error pages included.
None of the strings may appear in anything they get back.

The routes are read from the application's URL map, so a page added later is covered without editing this test.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.agreements.models import Agreement, AgreementItem
from coordinator.agreements.queries import items_of
from coordinator.agreements.service import ItemDraft, close_not_completed, record_progress
from coordinator.cases.models import Hearing
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.referrals.service import record_acknowledgement
from coordinator.referrals.workflow import transition
from coordinator.roster.models import Venue
from coordinator.safety.service import propose_mitigation, record_assessment, record_protective_order, report_incident
from coordinator.sessions.models import ScheduledSession
from coordinator.sessions.unavailability import add_unavailability
from tests.agreements.helpers import activated, held_circle, share_with_court
from tests.factories import LOW_RISK
from tests.pdf import pdf_text

RUN = uuid.uuid4().hex[:8]
PHONE = f"+1 555 {uuid.uuid4().int % 10**7:07d}"


def canary(field: str) -> str:
    """A string that exists nowhere but in the one field it was written to."""
    return f"CANARY{field.replace('_', '').upper()}{RUN}"


CANARIES = {"survivor_phone": PHONE} | {name: canary(name) for name in (
    "survivor_alias", "responsible_alias", "survivor_email", "responsible_email", "intake_notes",
    "item_description", "progress_note", "assessment_summary", "mitigation_notes", "incident_description",
    "order_reference", "acknowledgement", "venue_address", "status_note", "close_note",
)}


def plant(app, factory):
    """A referral whose every confidential field holds a canary, shared with the court (the widest disclosure)."""
    held = held_circle(
        app, factory, notes=CANARIES["intake_notes"],
        survivor={"alias": CANARIES["survivor_alias"],
                  "contact": {"email": f"{CANARIES['survivor_email'].lower()}@example.org",
                              "phone": PHONE}},
        responsible_party={"alias": CANARIES["responsible_alias"],
                           "contact": {"email": f"{CANARIES['responsible_email'].lower()}@example.org"}},
    )
    agreement = activated(app, held, [
        _draft("apology", CANARIES["item_description"]),
        _draft("restitution", "Repay in parts", 5000, "EUR"),
    ])
    share_with_court(app, held)
    with app.app_context():
        coordinator = db.session.merge(held.coordinator)
        lead = db.session.merge(held.lead)
        referral = db.session.get(Referral, held.referral.id)
        apology = items_of(db.session.get(Agreement, agreement.id))[0]
        record_progress(lead, apology, "completed", CANARIES["progress_note"])
        record_acknowledgement(coordinator, referral, "plea", CANARIES["acknowledgement"])
        assessment = record_assessment(lead, referral, {**LOW_RISK}, CANARIES["assessment_summary"])
        propose_mitigation(lead, assessment, ["staggered_arrival"], CANARIES["mitigation_notes"])
        record_protective_order(lead, referral, CANARIES["order_reference"], True, clock.today() + timedelta(days=90))
        start = clock.now() + timedelta(days=20)
        add_unavailability(lead, referral, "survivor", start, start + timedelta(hours=4))
        venue = Venue(name="Room", timezone="UTC", separate_waiting_rooms=True, accessible=True, capacity=6,
                      opening_hours=[])
        venue.address = CANARIES["venue_address"]
        db.session.add(venue)
        db.session.flush()
        circle = first(ScheduledSession, referral_id=referral.id)
        circle.venue_id = venue.id
        db.session.add(Hearing(case_id=referral.case_id, kind="sentencing", on_date=clock.today() + timedelta(days=14),
                               recorded_at=clock.now()))
        transition(lead, referral, "paused", reason="facilitator_stop", note=CANARIES["status_note"])
        report_incident(lead, referral, "threat", CANARIES["incident_description"])
        db.session.commit()
    # A second referral of the same case whose agreement closed unfinished, with a note.
    other = held_circle(app, factory)
    with app.app_context():
        referral = db.session.get(Referral, other.referral.id)
        referral.case_id = held.referral.case_id
        db.session.commit()
    second = activated(app, other)
    with app.app_context():
        close_not_completed(db.session.merge(other.coordinator), db.session.get(Agreement, second.id),
                            CANARIES["close_note"])
        db.session.commit()
    return held, agreement, venue


def first(model, **where):
    """The first row of `model` matching `where`."""
    return db.session.execute(select(model).filter_by(**where).limit(1)).scalar_one()


def _draft(kind, description, amount=None, currency=None):
    return ItemDraft(kind, description, None if kind != "restitution" else clock.today() + timedelta(days=30),
                     amount, currency)


def fill(rule, values: dict) -> str | None:
    """The rule's URL with every argument filled in; None for static files."""
    if "filename" in rule.arguments:
        return None
    url = rule.rule
    for name in rule.arguments:
        value = values.get(name, str(uuid.uuid4()) if name.endswith("_id") else "x" * 43)
        url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(value), url)
    return url


def leaks(body: str) -> list[str]:
    """The canaries found in a response (case-insensitive: emails are lower-cased)."""
    lowered = body.lower()
    return [name for name, value in CANARIES.items() if value.lower() in lowered]


def test_no_confidential_string_reaches_a_prosecutor(app, factory, api, browser):
    held, agreement, venue = plant(app, factory)
    with app.app_context():
        referral = db.session.get(Referral, held.referral.id)
        item = first(AgreementItem, agreement_id=agreement.id)
        circle = first(ScheduledSession, referral_id=referral.id)
        hearing = first(Hearing, case_id=referral.case_id)
        values = {"referral_id": referral.id, "docket_number": referral.case.docket_number,
                  "session_id": circle.id, "agreement_id": agreement.id, "item_id": item.id,
                  "hearing_id": hearing.id, "venue_id": venue.id, "user_id": held.lead.id,
                  "facilitator_id": held.lead.id, "scope": "participation"}
    page = browser(held.prosecutor)
    client = api(held.prosecutor)
    fetched = {}
    for rule in app.url_map.iter_rules():
        url = fill(rule, values)
        if url is None or url in ("/portal/exit", "/logout"):
            continue
        is_api = url.startswith("/api/")
        if "GET" in rule.methods:
            response = client.get(url) if is_api else page.get(url)
            fetched[("GET", url)] = response
        for method in sorted(rule.methods & {"POST", "PUT"}):
            if is_api:  # an empty body: every write is refused before it happens, and its error is checked
                fetched[(method, url)] = client.request(method, url, json={})
    fetched[("GET", "/no-such-page")] = page.get("/no-such-page")
    fetched[("GET", "/api/v1/no-such-endpoint")] = client.get("/api/v1/no-such-endpoint")
    fetched[("GET", "/referrals/not-a-uuid")] = page.get("/referrals/not-a-uuid")

    assert len(fetched) > 60
    statuses = {key: response.status_code for key, response in fetched.items()}
    # The prosecutor's own pages do answer, so the wall is tested where it matters, not only at 404s.
    assert statuses[("GET", f"/prosecution/cases/{values['docket_number']}")] == 200
    assert statuses[("GET", f"/api/v1/prosecution/cases/{values['docket_number']}")] == 200
    assert statuses[("GET", f"/referrals/{values['referral_id']}")] == 200
    assert statuses[("GET", f"/referrals/{values['referral_id']}/court-report")] == 200
    assert statuses[("GET", f"/referrals/{values['referral_id']}/court-report.pdf")] == 200
    found = {}
    for key, response in fetched.items():
        body = response.get_data()
        text = pdf_text(body) if response.mimetype == "application/pdf" else body.decode("utf-8", "replace")
        if hit := leaks(text):
            found[key] = hit
    assert found == {}
    report = pdf_text(fetched[("GET", f"/referrals/{values['referral_id']}/court-report.pdf")].get_data())
    assert referral.reference in report  # the check above can see text drawn in the PDF


def test_the_canaries_are_where_staff_can_see_them(app, factory, browser):
    """The same search finds the canaries on the coordinator's pages: the test above is not blind."""
    held, _agreement, _venue = plant(app, factory)
    page = browser(held.coordinator).get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert {"survivor_alias", "responsible_alias", "intake_notes", "item_description"} <= set(leaks(page))
