"""Programme statistics: the exact aggregates, the page and its charts, access, the period, and the query count."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import select, update

from coordinator import clock
from coordinator.agreements.models import Agreement, AgreementItem
from coordinator.agreements.service import ItemDraft, close_not_completed, record_progress
from coordinator.audit.models import AuditEntry
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.jobs import JOBS_BY_ID
from coordinator.portal.service import issue_link
from coordinator.referrals.models import Party, Referral
from coordinator.sessions.models import ScheduledSession
from coordinator.statistics import charts
from coordinator.statistics.disclosure import rate_text
from coordinator.statistics.rollup import rebuild_rollup
from coordinator.statistics.service import Ratio, programme_statistics
from tests.agreements.helpers import activated, drafted, held_circle, share_with_court
from tests.queries import counted_statements


def set_received(app, referral, at) -> None:
    """Move a referral's receipt to `at`."""
    with app.app_context():
        db.session.execute(update(Referral).where(Referral.id == referral.id).values(received_at=at))
        db.session.commit()


def first_circle_of(app, referral):
    with app.app_context():
        return db.session.execute(select(ScheduledSession.starts_at)
                                  .where(ScheduledSession.referral_id == referral.id,
                                         ScheduledSession.kind == "circle")).scalar_one()


def held_after(app, factory, days: int):
    """A referral whose circle was held `days` after it was received."""
    held = held_circle(app, factory)
    set_received(app, held.referral, first_circle_of(app, held.referral) - timedelta(days=days))
    return held


def record(app, actor, referral, **decision) -> None:
    """A consent decision recorded in person."""
    with app.app_context():
        record_decision(db.session.merge(actor), db.session.get(Referral, referral.id), method="in_person",
                        **decision)
        db.session.commit()


def apology_only(app) -> list[ItemDraft]:
    with app.app_context():
        return [ItemDraft("apology", "A written apology.", clock.today() + timedelta(days=30))]


def complete(app, held) -> None:
    """The agreement's only item is done, which completes it."""
    with app.app_context():
        item = db.session.execute(select(AgreementItem).join(Agreement)
                                  .where(Agreement.referral_id == held.referral.id)).scalar_one()
        record_progress(db.session.merge(held.lead), item, "completed", None)
        db.session.commit()


def not_completed(app, held) -> None:
    with app.app_context():
        agreement = db.session.execute(select(Agreement).where(Agreement.referral_id == held.referral.id)).scalar_one()
        close_not_completed(db.session.merge(held.coordinator), agreement)
        db.session.commit()


@pytest.fixture
def programme(app, factory):
    """Nine referrals in every part of the process, with consents, circles and agreements of known numbers."""
    coordinator = factory.user("coordinator")
    received = factory.referral(by=coordinator)
    factory.referral(by=coordinator, status="screening")
    factory.referral(by=coordinator, status="closed")
    factory.referral(by=coordinator, status="paused")
    # The referral in preparation had its consents granted 100 days ago: they have expired (90 days).
    with app.app_context():
        real_now = clock.now()
        clock.set_clock(real_now - timedelta(days=100))
        db.session.commit()
    preparing = factory.referral(by=coordinator, status="preparation")
    with app.app_context():
        clock.clear_clock()
        db.session.commit()
    set_received(app, preparing, real_now)

    monitoring = held_after(app, factory, 10)
    activated(app, monitoring)
    draft = held_after(app, factory, 20)
    drafted(app, draft)
    ended = held_after(app, factory, 45)
    activated(app, ended, apology_only(app))
    not_completed(app, ended)
    done = held_after(app, factory, 100)
    activated(app, done, apology_only(app))
    complete(app, done)

    # The survivor of the received referral was sent a link: asked for every scope, no decision yet.
    with app.app_context():
        issue_link(db.session.merge(coordinator), db.session.get(Referral, received.id), "survivor", "handover")
        db.session.commit()
    # Sharing with the court: both agree on one case; on another the responsible party agrees, then withdraws.
    share_with_court(app, monitoring)
    share_with_court(app, draft)
    record(app, draft.coordinator, draft.referral, party="responsible_party", scope="share_outcome_with_court",
           decision="withdrawn")
    return coordinator


def statistics_as(app, user, since=None, until=None):
    """The statistics after counting the programme again (as the job does)."""
    with app.app_context():
        rebuild_rollup()
        return programme_statistics(db.session.merge(user), since, until)


def test_the_aggregates_are_exact(app, programme):
    stats = statistics_as(app, programme)

    assert dict(stats.referrals_by_status) == {
        "received": 1, "screening": 1, "preparation": 1, "ready": 0, "circle_scheduled": 0, "circle_held": 1,
        "monitoring": 1, "completed": 1, "paused": 1, "closed": 2,
    }
    assert stats.referrals_total == 9

    # Five referrals reached preparation (both survivor grants, the responsible party's participation); one
    # survivor more was sent a link. The grants of the referral in preparation expired. The parties of the four
    # held circles were sent links when their meetings were booked, so they were asked about sharing too: two
    # survivors and one responsible party agreed, one responsible party withdrew, the rest have not decided.
    assert stats.consent("survivor", "participation") == Ratio(4, 6)
    assert stats.consent("survivor", "contact_other_party") == Ratio(4, 6)
    assert stats.consent("survivor", "share_outcome_with_court") == Ratio(2, 5)
    assert stats.consent("responsible_party", "participation") == Ratio(4, 5)
    assert all((rate.party, rate.scope) != ("responsible_party", "contact_other_party")
               for rate in stats.consent_rates)  # never asked of the responsible party
    assert stats.consent("responsible_party", "share_outcome_with_court") == Ratio(1, 4)

    assert stats.circles_counted == 4
    assert stats.median_days_to_circle == 32.5  # 10, 20, 45 and 100 days
    assert dict(stats.days_to_circle) == {30: 2, 60: 1, 90: 0, None: 1}

    assert dict(stats.agreements_by_status) == {"draft": 1, "active": 1, "completed": 1, "not_completed": 1}
    assert stats.completion == Ratio(1, 2) and stats.completion.fraction == 0.5


def test_an_empty_programme_has_zeros_and_no_rates(app, factory):
    stats = statistics_as(app, factory.user("coordinator"))
    assert stats.referrals_total == 0 and set(stats.referrals_by_status.values()) == {0}
    assert len(stats.referrals_by_status) == 10
    assert all(rate.ratio == Ratio(0, 0) for rate in stats.consent_rates) and len(stats.consent_rates) == 5
    assert stats.median_days_to_circle is None and stats.circles_counted == 0
    assert stats.completion == Ratio(0, 0) and stats.completion.fraction is None


def test_the_median_of_an_odd_count_is_the_middle_one(app, factory):
    coordinator = factory.user("coordinator")
    for days in (3, 7, 50):
        held_after(app, factory, days)
    stats = statistics_as(app, coordinator)
    assert stats.median_days_to_circle == 7 and stats.circles_counted == 3


@pytest.mark.parametrize("role", ["facilitator", "prosecutor", "admin"])
def test_only_coordinators_may_compute_them(app, factory, role):
    with pytest.raises(Forbidden):
        statistics_as(app, factory.user(role))


def test_the_period_counts_referrals_received_in_it(app, factory, programme):
    with app.app_context():
        today = clock.today()
    # Of the four referrals with a circle the one received 100 days before its circle (yesterday) is older.
    stats = statistics_as(app, programme, since=today - timedelta(days=60))
    assert stats.referrals_total == 8 and stats.circles_counted == 3
    assert stats.referrals_by_status["completed"] == 0 and stats.median_days_to_circle == 20
    assert stats.agreements_by_status["completed"] == 0 and stats.completion == Ratio(0, 1)

    only_old = statistics_as(app, programme, until=today - timedelta(days=30))
    assert only_old.referrals_total == 2  # received 46 and 101 days ago
    assert dict(only_old.agreements_by_status) == {"draft": 0, "active": 0, "completed": 1, "not_completed": 1}

    nothing = statistics_as(app, programme, since=today + timedelta(days=1))
    assert nothing.referrals_total == 0 and not nothing.anyone_asked

    with pytest.raises(InvalidRequest):
        statistics_as(app, programme, since=today, until=today - timedelta(days=1))
    with pytest.raises(InvalidRequest):
        statistics_as(app, programme, until=date(9999, 12, 31))


def page_text(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_shows_the_numbers_and_server_drawn_charts(app, browser, programme):
    response = browser(programme).get("/statistics")
    assert response.status_code == 200
    html = page_text(response)
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') == 4
    assert html.count("<title>") >= 5  # the page's and each chart's
    # Drawn on the server: the only script on the page is the shared, deferred feedback focus (progressive).
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/feedback.js" defer>']
    assert "style=" not in html
    assert "Referrals by status" in html and "Agreements by status" in html
    # Nine referrals, but no status has five: each reads "fewer than 5", and a closed referral's two too.
    assert '<dd class="stat-card__value">9</dd>' in html
    assert 'aria-label="Referrals by status. Received: fewer than 5; Screening: fewer than 5; ' \
           'Preparation: fewer than 5; Ready for a circle: 0;' in html
    assert "32.5" not in html and "too few for a median" in html  # four circles held
    assert "67%" in html and "fewer than 5 of 6" in html  # survivors who agreed to take part, of six asked
    assert "Survivor, Taking part: 67% (fewer than 5 of 6);" in html
    assert "Responsible party, Taking part: 80% (fewer than 5 of 5);" in html
    assert "Up to 30 days: fewer than 5; 31 to 60 days: fewer than 5; 61 to 90 days: 0; " \
           "More than 90 days: fewer than 5." in html
    assert "Completed: no rate: fewer than 5" in html  # four agreements
    assert "All referrals received so far." in html
    assert "Counted at" in html


def test_no_reference_or_alias_reaches_the_page(app, browser, programme):
    with app.app_context():
        references = db.session.execute(select(Referral.reference)).scalars().all()
        aliases = [party.alias for party in db.session.execute(select(Party)).scalars()]
        docket = [referral.case.docket_number for referral in db.session.execute(select(Referral)).scalars()]
    html = page_text(browser(programme).get("/statistics"))
    assert "RJ-" not in html
    for secret in [*references, *aliases, *docket]:
        assert secret not in html
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", html)  # no ids either


def test_viewing_is_audited(app, browser, programme):
    browser(programme).get("/statistics?since=2026-01-01")
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "statistics.view")).scalar_one()
    assert entry.actor_id == str(programme.id)
    assert entry.details == {"since": "2026-01-01", "until": None} and entry.referral_id is None


def test_an_empty_programme_shows_empty_states(app, browser, factory):
    html = page_text(browser(factory.user("coordinator")).get("/statistics"))
    assert "<svg xmlns" not in html
    assert "No referrals were received in this period." in html
    assert "No party has been asked for consent in this period yet." in html
    assert "No circle has been held yet for the referrals of this period." in html
    assert "No agreement has been drafted for the referrals of this period." in html


@pytest.mark.parametrize("role", ["facilitator", "prosecutor", "admin"])
def test_other_roles_are_refused(app, browser, factory, role):
    assert browser(factory.user(role)).get("/statistics").status_code == 403


def test_visitors_are_sent_to_sign_in(app, browser):
    response = browser().get("/statistics")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_filters_by_period(app, browser, programme):
    with app.app_context():
        today = clock.today()
    page = browser(programme)
    html = page_text(page.get(f"/statistics?since={today + timedelta(days=1)}"))
    assert "No referrals were received in this period." in html
    assert "Referrals received from" in html and "All time" in html

    html = page_text(page.get(f"/statistics?since={today - timedelta(days=60)}&until={today}"))
    assert 'aria-label="Referrals by status. Received: fewer than 5; Screening: fewer than 5; Preparation: fewer ' \
           'than 5; Ready for a circle: 0; Circle scheduled: 0; Circle held: fewer than 5; Monitoring the agreement: ' \
           'fewer than 5; Completed: 0;' in html
    assert '<dd class="stat-card__value">8</dd>' in html


@pytest.mark.parametrize("query", ["since=not-a-date", "until=2026-02-30", "since=2026-03-02&until=2026-03-01",
                                   "since=0001-01-01", "until=9999-12-31"])
def test_an_invalid_period_is_explained_and_all_time_is_shown(app, browser, programme, query):
    response = browser(programme).get(f"/statistics?{query}")
    assert response.status_code == 200
    html = page_text(response)
    assert "The period could not be used, so the statistics cover all time." in html
    assert 'aria-invalid="true"' in html
    assert "All referrals received so far." in html
    assert '<dd class="stat-card__value">9</dd>' in html  # all nine referrals are counted


def test_the_number_of_queries_does_not_grow_with_the_programme(app, factory, browser):
    coordinator = factory.user("coordinator")
    page = browser(coordinator)

    def queries_for_page() -> int:
        page.get("/statistics")  # warm: the session, the user, the clock
        with counted_statements(app) as statements:
            assert page.get("/statistics").status_code == 200
        return len(statements)

    def queries_for_service() -> int:
        with app.app_context():
            user = db.session.merge(coordinator)
            clock.now()
            with counted_statements(app) as statements:
                programme_statistics(user)
        return len(statements)

    def add(number: int) -> None:
        for index in range(number):
            if index % 3 == 0:
                held_after(app, factory, 5 + index)
            else:
                factory.referral(by=coordinator, status="preparation" if index % 3 == 1 else "screening")

    def count_again() -> None:
        with app.app_context():
            rebuild_rollup()
            db.session.commit()

    add(3)
    count_again()
    few_service, few_page = queries_for_service(), queries_for_page()
    add(27)
    count_again()
    with app.app_context():
        assert len(db.session.execute(select(Referral.id)).all()) == 30
    assert queries_for_service() == few_service == 2  # when the rollup was counted, then its sums
    assert queries_for_page() == few_page


def test_charts_escape_labels_and_carry_their_accessible_name(app):
    with app.test_request_context():
        svg = charts.bar_chart("Odd <title>", [("<script>alert(1)</script>", 30), ("B & C", 0)])
        assert isinstance(svg, Markup)
        assert "<script>" not in svg and "&lt;script&gt;" in svg and "B &amp; C" in svg
        assert 'role="img"' in svg and "<title>Odd &lt;title&gt;</title>" in svg
        assert 'aria-label="Odd &lt;title&gt;. &lt;script&gt;alert(1)&lt;/script&gt;: 30; B &amp; C: 0."' in svg
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")

        bars = charts.percentage_bars("Rates", [("Survivor", [("Yes", 10, 40), ("None asked", 0, 0)]),
                                                 ("", [("Other", 20, 20)])])
        assert "25% (10 of 40)" in bars and "no data" in bars and "100% (20 of 20)" in bars
        assert 'width="57.5"' in bars  # a quarter of the 230-unit track
        assert 'font-weight="700" fill="#1d2327">Survivor</text>' in bars
        assert "Survivor, Yes: 25% (10 of 40); Survivor, None asked: no data; Other: 100% (20 of 20)." in bars

        stacked = charts.stacked_bar("Agreements", [("Done", 30, "good"), ("Not done", 10, "bad")])
        assert 'width="270.0"' in stacked and 'width="90.0"' in stacked
        assert "Done: 75% (30 of 40)" in stacked and 'role="img"' in stacked


def test_chart_numbers_follow_the_readers_language(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}), force_locale("fr"):
        text = rate_text(10, 30)
    assert "33" in text and "%" in text


# A count from 1 to 4 standing on its own: not part of a larger number, a decimal, a time or a percentage.
SMALL_COUNT = re.compile(r"(?<![\d.,:])[1-4](?![\d.,:%])")


def visible_text(markup: str) -> str:
    """The text of some markup with its aria-labels, tags removed."""
    labels = " ".join(re.findall(r'aria-label="([^"]*)"', markup))
    return re.sub(r"<[^>]+>", " ", markup) + " " + labels


def test_no_count_from_1_to_4_reaches_the_page_or_its_charts(app, browser, programme):
    html = page_text(browser(programme).get("/statistics"))
    main = html[html.index('<main id="main"'):html.index("</main>")]
    main = re.sub(r'<p class="muted" data-statistics-as-of>.*?</p>', "", main, flags=re.S)  # the time counted
    main = re.sub(r'<input type="hidden" name="csrf_token"[^>]*>', "", main)
    assert "fewer than 5" in main
    charts_svg = re.findall(r"<svg .*?</svg>", main, flags=re.S)
    assert len(charts_svg) == 4
    for svg in charts_svg:
        assert not SMALL_COUNT.search(visible_text(svg)), visible_text(svg)
    text = visible_text(re.sub(r"<svg .*?</svg>", "", main, flags=re.S))
    assert not SMALL_COUNT.search(text), SMALL_COUNT.search(text)


def test_a_suppressed_count_draws_no_bar_and_a_small_group_no_rate(app):
    with app.test_request_context():
        svg = charts.bar_chart("Counts", [("Few", 3), ("Many", 10)])
        assert 'width="0.0"' in svg and 'width="230.0"' in svg and "Few: fewer than 5; Many: 10." in svg
        bars = charts.percentage_bars("Rates", [("", [("Small group", 2, 4)])])
        assert bars.count('fill="#0b5a57"') == 0 and "no rate: fewer than 5" in bars
        stacked = charts.stacked_bar("Agreements", [("Done", 30, "good"), ("Not done", 2, "bad")])
        assert stacked.count("<title>Not done") == 0 and "Not done: 6% (fewer than 5 of 32)" in stacked


def test_the_csv_export_has_the_same_figures_and_suppression(app, browser, programme):
    response = browser(programme).get("/statistics/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(page_text(response))))
    assert rows[0] == ["Section", "Item", "Count", "Of", "Rate"]
    figures = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert figures[("Referrals received", "")] == ["9", "", ""]
    assert figures[("Referrals by status", "Received")] == ["fewer than 5", "", ""]
    assert figures[("Referrals by status", "Ready for a circle")] == ["0", "", ""]
    assert figures[("Consent granted, of the parties asked", "Survivor: Taking part")] == ["fewer than 5", "6", "67%"]
    assert figures[("Median days from referral to first circle", "")] == ["", "fewer than 5", ""]
    assert figures[("Agreements completed", "")] == ["fewer than 5", "fewer than 5", ""]
    for row in rows[3:]:  # after the period and the time counted
        assert not any(SMALL_COUNT.fullmatch(cell) for cell in row), row
        assert not SMALL_COUNT.search(" ".join(row[2:])), row


def test_the_export_is_audited_and_for_coordinators_only(app, browser, programme, factory):
    browser(programme).get("/statistics/export.csv?until=2026-12-31")
    with app.app_context():
        entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "statistics.export")).scalar_one()
    assert entry.details == {"since": None, "until": "2026-12-31"} and entry.referral_id is None
    assert browser(factory.user("facilitator")).get("/statistics/export.csv").status_code == 403


def test_counting_again_on_demand_shows_what_changed(app, browser, programme, factory):
    page = browser(programme)
    assert '<dd class="stat-card__value">9</dd>' in page_text(page.get("/statistics"))
    factory.referral(by=programme)
    assert '<dd class="stat-card__value">9</dd>' in page_text(page.get("/statistics"))  # as counted before
    response = page.post("/statistics/refresh?since=2020-01-01")
    assert response.status_code == 302 and response.headers["Location"].endswith("/statistics?since=2020-01-01")
    # The request only asks: the whole recount runs in the job, never inside a request.
    asked = page_text(page.get("/statistics"))
    assert '<dd class="stat-card__value">9</dd>' in asked and "data-statistics-recount-asked" in asked
    with app.app_context():
        assert JOBS_BY_ID["refresh_statistics"].run().startswith("counted as of ")
    counted = page_text(page.get("/statistics"))
    assert '<dd class="stat-card__value">10</dd>' in counted and "data-statistics-recount-asked" not in counted
    assert page.post("/statistics/refresh", csrf=False).status_code == 400
    with app.app_context():
        assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "statistics.refresh")).scalar_one()
