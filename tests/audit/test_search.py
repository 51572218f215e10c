"""The programme audit page: coordinators only, searched by person, record, action and dates, exported as CSV;
searching and exporting are audited, and who acted reads as words."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from coordinator.accounts.models import SYSTEM
from coordinator.audit.models import AuditEntry
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.referrals.models import Referral


def entries(app, action: str) -> list[AuditEntry]:
    """The audit entries of one action, in chain order."""
    with app.app_context():
        return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.seq)).scalars())


@pytest.fixture
def programme(app, factory):
    """Two referrals by one coordinator; the first one's survivor opened their page; the service did something."""
    coordinator = factory.user("coordinator", name="Carmen Coord")
    first, second = factory.referral(by=coordinator), factory.referral(by=coordinator)
    with app.app_context():
        referral = db.session.get(Referral, first.id)
        record(referral.survivor, "portal.open", referral_id=referral.id)
        record(SYSTEM, "retention.run")
        db.session.commit()
    return coordinator, first, second


def test_a_coordinator_searches_by_record_and_the_search_is_audited(app, programme, browser):
    coordinator, first, second = programme
    page = browser(coordinator).get(f"/audit?reference={first.reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Received the referral" in html and "A party opened their page" in html
    assert first.reference in html and second.reference not in html
    assert "Carmen Coord (Coordinator)" in html and ">Survivor<" in html  # names and kinds, never a code
    assert "Export as CSV" in html
    [searched] = entries(app, "audit.search")
    assert searched.actor_id == str(coordinator.id)
    assert searched.details == {"reference": first.reference, "page": 1}


def test_the_person_filter_names_every_staff_account_with_its_role_in_the_readers_language(app, factory, browser):
    reader = factory.user("coordinator", name="Carmen Coord", language="es")
    factory.user("facilitator", name="alba Fac")
    factory.user("prosecutor", name="Zoe Pros")
    factory.referral(by=reader)
    html = browser(reader).get("/audit").get_data(as_text=True)
    options = html.split('name="user"', 1)[1].split("</select>", 1)[0]
    assert [line.split(">", 1)[1] for line in options.split("</option>")[1:-1]] == [
        "alba Fac (Facilitador/a)", "Carmen Coord (Coordinador/a)", "Zoe Pros (Fiscal)"]  # by name, any case
    assert '">Carmen Coord (Coordinador/a)</td>' in html  # who created the referral, in the entries


def test_search_by_person_party_action_and_dates(app, programme, browser):
    coordinator, first, _second = programme
    staff = browser(coordinator)
    by_party = staff.get(f"/audit?reference={first.reference}&party=survivor").get_data(as_text=True)
    assert by_party.count("data-audit-entry=") == 1 and "A party opened their page" in by_party
    by_user = staff.get(f"/audit?user={coordinator.id}&action=referral.create").get_data(as_text=True)
    assert by_user.count("data-audit-entry=") == 2
    none_yet = staff.get("/audit?since=2999-01-01").get_data(as_text=True)
    assert "No entry matches." in none_yet
    today = staff.get("/audit?action=retention.run&since=2000-01-01&until=2999-12-31").get_data(as_text=True)
    assert today.count("data-audit-entry=") == 1 and ">Circlekeeper<" in today
    unknown = staff.get("/audit?reference=RJ-1999-9999").get_data(as_text=True)
    assert "No entry matches." in unknown  # no referral of that reference: the same empty answer


def test_bad_filters_are_named(programme, browser):
    coordinator, _first, _second = programme
    response = browser(coordinator).get("/audit?since=yesterday&action=nonsense&party=survivor")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a date, for example 2026-03-31." in html and "Choose an action from the list." in html
    assert "Enter the referral&#39;s reference to search by one of its parties." in html


def test_pages_follow_one_another(app, programme, browser):
    coordinator, _first, _second = programme
    app.config["PER_PAGE"] = 2
    staff = browser(coordinator)
    first_page = staff.get("/audit").get_data(as_text=True)
    assert first_page.count("data-audit-entry=") == 2 and 'rel="next"' in first_page
    second_page = staff.get("/audit?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second_page


def test_the_export_has_the_same_filters_and_is_audited(app, programme, browser):
    coordinator, first, _second = programme
    response = browser(coordinator).get(f"/audit/export.csv?reference={first.reference}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["Number", "When (UTC)", "Kind of actor", "Who"]
    assert {row[8] for row in rows[1:]} == {first.reference}
    assert ["Party", "Survivor", "portal.open", "A party opened their page"] in [row[2:6] for row in rows[1:]]
    [exported] = entries(app, "audit.export")
    assert exported.details == {"reference": first.reference}


def test_a_formula_never_reaches_a_spreadsheet(app, factory, browser):
    coordinator = factory.user("coordinator", name="=HYPERLINK(1)")
    factory.referral(by=coordinator)
    rows = list(csv.reader(io.StringIO(browser(coordinator).get("/audit/export.csv").get_data(as_text=True))))
    assert any(row[3].startswith("'=HYPERLINK(1)") for row in rows[1:])


@pytest.mark.parametrize("role", ["admin", "facilitator", "prosecutor"])
def test_only_coordinators_read_the_programme_trail(app, factory, browser, role):
    user = factory.user(role)
    factory.referral()
    staff = browser(user)
    assert staff.get("/audit").status_code == 403
    assert staff.get("/audit/export.csv").status_code == 403
    assert entries(app, "audit.search") == [] and entries(app, "audit.export") == []


def test_the_referral_page_names_a_party_in_words(app, programme, browser):
    coordinator, first, _second = programme
    html = browser(coordinator).get(f"/referrals/{first.id}").get_data(as_text=True)
    trail = html[html.index('id="audit-heading"'):]
    assert ">Survivor<" in trail and ">party<" not in trail
