"""Password reset by an emailed link, sent over real SMTP: a neutral answer, a single-use link valid 30 minutes,
replaced by a newer one and by signing in, ending every session, and never in a log."""

from __future__ import annotations

import logging
import re

import pytest

from coordinator.accounts.models import Role
from coordinator.logs import redact
from coordinator.notifications.dispatch import dispatch_outbox
from tests.accounts.helpers import is_signed_in, later
from tests.factories import PASSWORD
from tests.live_server import serving
from tests.notifications.conftest import SmtpServer
from tests.portal.test_logs import Visitor, leaks

NEW = "harbour seven quiet lanterns"
NEUTRAL = "If this address belongs to a staff account, a link to choose a new password is on its way."
LINK = re.compile(r"https://circles\.example\.org(/password/reset/[A-Za-z0-9_\-]+)")
UNUSABLE = "This link no longer works"


@pytest.fixture
def smtp():
    """A real SMTP server on a free local port."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_settings(smtp):
    """Mail goes to the test server; links are built from a fixed base URL."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "COORDINATOR_BASE_URL": "https://circles.example.org"}


def ask(browser, email: str):
    """Post "Forgot password" from a signed-out browser."""
    staff = browser()
    return staff.client.post("/password/forgot", data={"csrf_token": staff.csrf(), "email": email})


def without_csrf(response) -> str:
    """The page, its per-session CSRF token blanked."""
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.get_data(as_text=True))


def deliver(app, in_app) -> None:
    """Run the outbox dispatcher once, as its job would."""
    with in_app():
        dispatch_outbox("test")


def link_in(smtp, email: str, number: int = -1) -> str:
    """The path of the reset link in the person's latest (or `number`th) email."""
    return LINK.search(smtp.inbox.to(email)[number]["text"]).group(1)


def choose(browser, path: str, password: str = NEW, confirmation: str | None = None):
    """Open the link, then post the new password; returns the browser and the answer."""
    staff = browser()
    opened = staff.get(path)
    if opened.status_code != 302:
        return staff, opened
    form = staff.get(opened.headers["Location"]).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', form).group(1)
    answer = staff.client.post("/password/reset", data={"csrf_token": csrf, "new_password": password,
                                                        "confirmation": confirmation or password})
    return staff, answer


def test_the_answer_is_the_same_for_known_and_unknown_addresses(factory, browser, app, in_app, smtp):
    """Same status, same page; only the known address gets an email."""
    user = factory.user(Role.coordinator)

    known, unknown = ask(browser, user.email), ask(browser, "nobody@staff.example")
    deliver(app, in_app)

    assert known.status_code == unknown.status_code == 200
    assert NEUTRAL in known.get_data(as_text=True)
    assert without_csrf(known) == without_csrf(unknown)
    assert len(smtp.inbox.to(user.email)) == 1 and smtp.inbox.to("nobody@staff.example") == []


def test_the_link_arrives_by_email_and_sets_the_password_once(factory, browser, app, in_app, smtp, sql,
                                                             audit_actions):
    """The emailed link opens the form; the new password works; the link then works no more."""
    user = factory.user(Role.facilitator)
    ask(browser, user.email)
    deliver(app, in_app)
    path = link_in(smtp, user.email)

    _staff, answer = choose(browser, path)
    _again, reused = choose(browser, path, "another quiet harbour lantern")

    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert browser().login(user.email, NEW).status_code == 302
    assert browser().login(user.email, PASSWORD).status_code == 200
    assert reused.status_code == 404 and UNUSABLE in reused.get_data(as_text=True)
    token = path.rsplit("/", 1)[1]
    assert all(token not in str(value) for row in sql("SELECT * FROM password_resets") for value in row.values())
    assert all(token not in str(row) for row in sql("SELECT * FROM outbox_messages"))
    assert {"user.password_reset_link", "user.password_reset"} <= set(audit_actions())


def test_resetting_ends_every_live_session(factory, browser, app, in_app, smtp):
    """A browser signed in before the reset is signed out by it."""
    user = factory.user(Role.coordinator)
    before = browser(user)
    ask(browser, user.email)
    deliver(app, in_app)

    choose(browser, link_in(smtp, user.email))

    assert not is_signed_in(before)


def test_the_link_expires_after_30_minutes(factory, browser, app, in_app, smtp, clock_at):
    """At 29 minutes it opens; at 31 it gets the neutral 'no longer works' page."""
    user = factory.user(Role.coordinator)
    ask(browser, user.email)
    deliver(app, in_app)
    path = link_in(smtp, user.email)

    clock_at(later(minutes=29))
    still = browser().get(path)
    clock_at(later(minutes=31))
    _staff, expired = choose(browser, path)

    assert still.status_code == 302
    assert expired.status_code == 404 and UNUSABLE in expired.get_data(as_text=True)
    assert browser().login(user.email).status_code == 302


def test_a_newer_link_and_a_sign_in_each_end_the_older_links(factory, browser, app, in_app, smtp):
    """Only the newest link works, and signing in with the password ends it too."""
    user = factory.user(Role.coordinator)
    ask(browser, user.email)
    ask(browser, user.email)
    deliver(app, in_app)
    first, second = link_in(smtp, user.email, 0), link_in(smtp, user.email, 1)

    _a, old = choose(browser, first)
    browser().login(user.email)
    _b, after_sign_in = choose(browser, second)

    assert old.status_code == 404
    assert after_sign_in.status_code == 404


def test_the_reset_form_refuses_weak_or_mismatched_passwords(factory, browser, app, in_app, smtp):
    """The policy applies here too, and the link stays usable after a refusal."""
    user = factory.user(Role.coordinator)
    ask(browser, user.email)
    deliver(app, in_app)
    path = link_in(smtp, user.email)

    answers = [choose(browser, path, weak)[1] for weak in ("Password1234!", "passwordpassword", "circlekeeper-demo")]
    _c, mismatch = choose(browser, path, NEW, NEW + "!")
    _d, finally_ok = choose(browser, path)

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert mismatch.status_code == 400
    assert finally_ok.status_code == 302


def test_no_more_than_three_links_an_hour_reach_one_person(factory, browser, app, in_app, smtp):
    """"Forgot password" cannot flood an inbox; the answer stays the same."""
    user = factory.user(Role.coordinator)

    answers = [ask(browser, user.email).status_code for _ in range(5)]
    deliver(app, in_app)

    assert answers == [200] * 5
    assert len(smtp.inbox.to(user.email)) == 3


def test_the_token_never_reaches_a_log(factory, app, in_app, smtp, caplog):
    """The development server logs /password/reset/[redacted]; gunicorn's lines use the same redaction."""
    user = factory.user(Role.coordinator)
    caplog.set_level(logging.INFO)
    with serving(app) as base_url:
        visitor = Visitor(base_url)
        _status, page = visitor.request("GET", "/password/forgot")
        csrf = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)
        visitor.request("POST", "/password/forgot", f"csrf_token={csrf}&email={user.email}".encode())
        deliver(app, in_app)
        path = link_in(smtp, user.email)
        assert visitor.request("GET", path)[0] == 200  # followed to the form
    token = path.rsplit("/", 1)[1]
    assert [record.getMessage() for record in caplog.records if leaks(record, [token])] == []
    assert any("/password/reset/[redacted]" in record.getMessage() for record in caplog.records)
    assert redact(f'"GET {path} HTTP/1.1"') == '"GET /password/reset/[redacted] HTTP/1.1"'
