"""The court report: only with both parties' consent, only counts and dates, audited; prepared before sentencing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from coordinator import clock
from coordinator.agreements.service import ItemDraft
from coordinator.audit.models import AuditEntry
from coordinator.cases import report_views
from coordinator.cases.models import CourtReport, Hearing
from coordinator.db import db
from coordinator.jobs import JOBS_BY_ID
from coordinator.notifications.models import StaffNotice
from coordinator.referrals.models import Referral
from tests.agreements.helpers import activated, held_circle, share_with_court
from tests.pdf import pdf_text
from tests.queries import counted_statements

# Canaries: none of these may ever reach a court report, in HTML or PDF.
SURVIVOR_ALIAS = "Canary Survivor Quokka"
RESPONSIBLE_ALIAS = "Canary Responsible Pangolin"
APOLOGY = "Canary apology Xylophone written and read aloud"
RESTITUTION = "Canary restitution Zeppelin instalments"
NOTES = "Canary intake note Marzipan"
JURISDICTION = "Canaryland Jurisdiction"
SECRETS = (SURVIVOR_ALIAS, RESPONSIBLE_ALIAS, APOLOGY, RESTITUTION, NOTES, JURISDICTION, "9876.54", "9,876.54",
           "987654", "Human trafficking", "survivor", "responsible")


def drafts(app, count: int = 2) -> list[ItemDraft]:
    """An apology and a restitution with canary descriptions, then plain apologies up to `count`."""
    with app.app_context():
        due = clock.today() + timedelta(days=30)
    items = [ItemDraft("apology", APOLOGY, due), ItemDraft("restitution", RESTITUTION, due, 987654, "EUR")]
    items += [ItemDraft("apology", f"Another apology {n}", due) for n in range(count - 2)]
    return items[:max(count, 2)]


def agreed(app, factory, count: int = 2, **overrides):
    """A referral with an active agreement, the parties' canary aliases, and no consent to share yet."""
    overrides["case"] = {"jurisdiction": JURISDICTION, **overrides.get("case", {})}
    held = held_circle(app, factory, survivor={"alias": SURVIVOR_ALIAS}, responsible_party={"alias": RESPONSIBLE_ALIAS},
                       notes=NOTES, **overrides)
    activated(app, held, drafts(app, count))
    return held


def add_hearing(app, held, days_ahead: int, kind: str = "sentencing") -> Hearing:
    """A hearing of the referral's case, `days_ahead` days from the programme's today."""
    with app.app_context():
        referral = db.session.get(Referral, held.referral.id)
        hearing = Hearing(case_id=referral.case_id, kind=kind, on_date=clock.today() + timedelta(days=days_ahead),
                          recorded_at=clock.now())
        db.session.add(hearing)
        db.session.commit()
        return hearing


def run_job(app) -> str:
    """The daily job, as the scheduler runs it."""
    with app.app_context():
        return JOBS_BY_ID["prepare_court_reports"].run()


def urls(held) -> tuple[str, str]:
    """The report's page and its PDF."""
    return f"/referrals/{held.referral.id}/court-report", f"/referrals/{held.referral.id}/court-report.pdf"


def statuses(browser, user, held) -> tuple[int, int]:
    """What the user gets for the page and the PDF."""
    client = browser(user)
    return tuple(client.get(url).status_code for url in urls(held))


def test_the_report_is_not_found_until_both_parties_consent_and_again_after_a_withdrawal(app, factory, browser):
    """One consent is not enough; a withdrawal afterwards closes the report again, for everyone."""
    held = agreed(app, factory)
    people = (held.coordinator, held.lead, held.prosecutor)
    for user in people:
        assert statuses(browser, user, held) == (404, 404)
    share_with_court(app, held, parties=("survivor",))
    for user in people:
        assert statuses(browser, user, held) == (404, 404)
    share_with_court(app, held, parties=("responsible_party",))
    for user in people:
        assert statuses(browser, user, held) == (200, 200)
    share_with_court(app, held, parties=("responsible_party",), decision="withdrawn")
    for user in people:
        assert statuses(browser, user, held) == (404, 404)


def test_without_an_agreement_there_is_no_report(app, factory, browser):
    """Both consents but nothing agreed: nothing to report."""
    held = held_circle(app, factory)
    share_with_court(app, held)
    assert statuses(browser, held.coordinator, held) == (404, 404)


def test_who_may_read_the_report(app, factory, browser):
    """The coordinator, both facilitators and the case's prosecutor; not another prosecutor, facilitator or admin."""
    held = agreed(app, factory)
    share_with_court(app, held)
    for user in (held.coordinator, held.lead, held.co, held.prosecutor, factory.user("coordinator")):
        assert statuses(browser, user, held) == (200, 200)
    for user in (factory.user("prosecutor"), factory.user("facilitator"), factory.user("admin")):
        assert statuses(browser, user, held) == (404, 404)
    signed_out = browser()
    for url in urls(held):
        assert signed_out.get(url).status_code == 302
    assert browser(held.coordinator).get("/referrals/not-a-uuid/court-report").status_code == 404


def test_the_page_shows_the_summary_and_nothing_said(app, factory, browser):
    """Docket, court, reference, circle, counts and dates; no descriptions, amounts, aliases or notes."""
    held = agreed(app, factory)
    share_with_court(app, held)
    response = browser(held.prosecutor).get(urls(held)[0])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with app.app_context():
        referral = db.session.get(Referral, held.referral.id)
        docket, court, reference = referral.case.docket_number, referral.case.court, referral.reference
    for fact in (docket, court, reference, "Court report", "Items agreed", "Download PDF", "Active", "Circle held on"):
        assert fact in page
    content = page.split('<main', 1)[1].split('</main>', 1)[0].lower()  # the header and footer are the site's
    for secret in SECRETS:
        assert secret.lower() not in content
    assert f'href="/referrals/{held.referral.id}/court-report.pdf"' in page


def test_the_pdf_is_a_download_with_the_reference_and_no_secrets(app, factory, browser):
    """application/pdf, an attachment named after the reference, the same facts as the page."""
    held = agreed(app, factory)
    share_with_court(app, held)
    response = browser(held.coordinator).get(urls(held)[1])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reference = held.referral.reference
    assert response.headers["Content-Disposition"] == f'attachment; filename="court-report-{reference}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert reference in text and "Items completed" in text
    for secret in SECRETS:
        assert secret.lower() not in text.lower() and secret.encode() not in data


def test_the_pdf_without_a_unicode_font_falls_back_to_latin1(app, factory, browser, monkeypatch):
    """No system font (as on a bare CI machine): Helvetica, with text outside Latin-1 made safe."""
    monkeypatch.setattr(report_views, "FONT_DIRS", ())
    held = agreed(app, factory, case={"court": "Sąd Okręgowy w Łodzi — Wydział"})
    share_with_court(app, held)
    response = browser(held.coordinator).get(urls(held)[1])
    assert response.status_code == 200
    text = pdf_text(response.get_data())
    assert held.referral.reference in text and "Sad Okregowy w Lodzi - Wydzial" in text


def test_every_view_is_audited_as_a_disclosure(app, factory, browser):
    """One entry per view, naming the format."""
    held = agreed(app, factory)
    share_with_court(app, held)
    client = browser(held.prosecutor)
    page, pdf = urls(held)
    client.get(page), client.get(pdf), client.get(page)
    with app.app_context():
        entries = list(db.session.execute(
            select(AuditEntry).where(AuditEntry.action == "court_report.view").order_by(AuditEntry.seq)).scalars())
    assert [entry.details for entry in entries] == [{"format": "html"}, {"format": "pdf"}, {"format": "html"}]
    assert {entry.actor_id for entry in entries} == {str(held.prosecutor.id)}
    assert {entry.referral_id for entry in entries} == {held.referral.id}


def test_a_refused_report_is_not_audited_as_a_disclosure(app, factory, browser):
    """Nothing was disclosed, so nothing is recorded as disclosed."""
    held = agreed(app, factory)
    share_with_court(app, held, parties=("survivor",))
    browser(held.coordinator).get(urls(held)[0])
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "court_report.view")).scalar_one() == 0


def test_the_job_prepares_reports_for_sentencing_hearings_within_fourteen_days(app, factory):
    """14 days away and sooner, yes; 20 days away, past hearings, other kinds of hearing, no; never twice."""
    held = agreed(app, factory)
    share_with_court(app, held)
    in_14, in_3 = add_hearing(app, held, 14), add_hearing(app, held, 3)
    add_hearing(app, held, 20), add_hearing(app, held, -1), add_hearing(app, held, 7, kind="trial")
    unshared = agreed(app, factory)
    add_hearing(app, unshared, 14)
    one_consent = agreed(app, factory)
    share_with_court(app, one_consent, parties=("survivor",))
    add_hearing(app, one_consent, 14)

    assert run_job(app) == "2 court reports prepared"
    assert run_job(app) == "0 court reports prepared"
    with app.app_context():
        reports = list(db.session.execute(select(CourtReport)).scalars())
        coordinators = db.session.execute(select(func.count()).select_from(StaffNotice).where(
            StaffNotice.template == "court_report_prepared")).scalar_one()
        prepared_audits = db.session.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "court_report.prepare", AuditEntry.actor_type == "system")).scalar_one()
    assert {(r.referral_id, r.hearing_id) for r in reports} == {(held.referral.id, in_14.id),
                                                                 (held.referral.id, in_3.id)}
    assert all((r.agreement_status, r.items_total, r.items_completed, r.items_overdue) == ("active", 2, 0, 0)
               for r in reports)
    assert prepared_audits == 2
    # Three coordinators exist (one per referral); each is told once per report.
    assert coordinators == 3 * 2


def test_each_coordinator_is_told_once(app, factory):
    """In-app notice and email for every coordinator, once, with the referral's page as its link."""
    held = agreed(app, factory)
    share_with_court(app, held)
    add_hearing(app, held, 14)
    run_job(app)
    run_job(app)
    with app.app_context():
        notices = list(db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "court_report_prepared")).scalars())
    assert [notice.user_id for notice in notices] == [held.coordinator.id]
    assert notices[0].referral_id == held.referral.id
    assert set(notices[0].params) == {"referral_id", "reference"}


def test_a_withdrawal_before_the_run_means_no_report(app, factory):
    """Consent is read on the day the report would be prepared."""
    held = agreed(app, factory)
    share_with_court(app, held)
    share_with_court(app, held, parties=("survivor",), decision="withdrawn")
    add_hearing(app, held, 10)
    assert run_job(app) == "0 court reports prepared"


def test_the_job_reads_a_fixed_number_of_times_whatever_the_number_of_items(app, factory):
    """Queries depend on the hearings, never on how many items or referrals there are."""

    def statements(count: int) -> int:
        held = agreed(app, factory, count=count)
        share_with_court(app, held)
        add_hearing(app, held, 14)
        with counted_statements(app) as seen:
            run_job(app)
        return sum(statement.lstrip().upper().startswith("SELECT") for statement in seen)

    assert statements(2) == statements(12)


def test_prepared_reports_appear_on_the_report_and_the_referral_page(app, factory, browser):
    """The snapshot's hearing date and counts, and the staff panel's link."""
    held = agreed(app, factory)
    share_with_court(app, held)
    add_hearing(app, held, 14)
    run_job(app)
    report = browser(held.prosecutor).get(urls(held)[0]).get_data(as_text=True)
    assert "Reports prepared for sentencing hearings" in report and "0 of 2" in report
    detail = browser(held.lead).get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert f'href="/referrals/{held.referral.id}/court-report"' in detail
    assert "2 items completed" in detail or "0 of 2 items completed" in detail


def test_the_referral_page_says_when_no_report_is_available(app, factory, browser):
    """Without both consents: no link, and why."""
    held = agreed(app, factory)
    detail = browser(held.coordinator).get(f"/referrals/{held.referral.id}").get_data(as_text=True)
    assert "/court-report" not in detail
    assert "both parties have agreed to share the outcome with the court" in detail


def test_the_prosecutor_case_page_links_to_the_report_only_when_shared(app, factory, browser):
    """The link appears in the row once the summary is shared."""
    held = agreed(app, factory)
    with app.app_context():
        docket = db.session.get(Referral, held.referral.id).case.docket_number
    client = browser(held.prosecutor)
    assert "/court-report" not in client.get(f"/prosecution/cases/{docket}").get_data(as_text=True)
    share_with_court(app, held)
    page = client.get(f"/prosecution/cases/{docket}").get_data(as_text=True)
    assert f'href="/referrals/{held.referral.id}/court-report"' in page


@pytest.mark.parametrize("language", ["es", "fr"])
def test_the_labels_follow_the_reader_language(app, factory, browser, language):
    """The PDF's labels come from the same translated rows as the page (translations may still be pending)."""
    held = agreed(app, factory)
    share_with_court(app, held)
    client = browser(factory.user("coordinator", language=language))
    page = client.get(urls(held)[0])
    assert page.status_code == 200 and f'<html lang="{language}">' in page.get_data(as_text=True)
    response = client.get(urls(held)[1])
    assert response.status_code == 200 and held.referral.reference in pdf_text(response.get_data())
