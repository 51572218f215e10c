"""Login attempts are rate limited per account (failures only) and per client address (every post)."""

from __future__ import annotations

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in
from tests.factories import Browser

FAILURES_ALLOWED = 5  # LOGIN_FAILURE_LIMIT, "5 per 15 minutes"
POSTS_ALLOWED = 20  # LOGIN_RATE_LIMIT, "20 per minute"


def from_address(app, address: str) -> Browser:
    """A signed-out browser whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def sign_out(staff: Browser) -> None:
    """Post the logout form."""
    assert staff.post("/logout").status_code == 302
    staff.signed_in = False


def test_config_holds_the_documented_limits(app):
    """The numbers these tests rely on are the configured ones."""
    assert app.config["LOGIN_FAILURE_LIMIT"] == f"{FAILURES_ALLOWED} per 15 minutes"
    assert app.config["LOGIN_RATE_LIMIT"] == f"{POSTS_ALLOWED} per minute"


def test_repeated_failures_for_one_account_get_429(app, factory):
    """After the allowed failures the account is locked, even for its right password, from any address."""
    user = factory.user(Role.coordinator)
    attacker = from_address(app, "192.0.2.10")

    answers = [attacker.login(user.email, "wrong password").status_code for _ in range(FAILURES_ALLOWED)]
    locked = attacker.login(user.email, "wrong password")
    owner = from_address(app, "192.0.2.20")
    owner_attempt = owner.login(user.email)

    assert answers == [200] * FAILURES_ALLOWED
    assert locked.status_code == 429
    assert owner_attempt.status_code == 429
    assert not is_signed_in(owner)


def test_failure_limit_counts_the_address_however_it_is_typed(app, factory):
    """Capitals and spaces in the email do not give an attacker fresh attempts."""
    user = factory.user(Role.coordinator)
    attacker = from_address(app, "192.0.2.11")
    spellings = [user.email, user.email.upper(), f" {user.email}", f"{user.email} ", user.email.title()]

    answers = [attacker.login(email, "wrong password").status_code for email in spellings]
    locked = attacker.login(user.email.upper(), "wrong password")

    assert answers == [200] * FAILURES_ALLOWED
    assert locked.status_code == 429


def test_failure_limit_is_per_account(app, factory):
    """Failures against one account leave another account on the same address alone."""
    target, colleague = factory.user(Role.coordinator), factory.user(Role.coordinator)
    office = from_address(app, "192.0.2.12")
    for _ in range(FAILURES_ALLOWED):
        office.login(target.email, "wrong password")

    locked = office.login(target.email, "wrong password")
    response = office.login(colleague.email)

    assert locked.status_code == 429
    assert response.status_code == 302
    assert is_signed_in(office)


def test_successful_logins_do_not_count_against_the_failure_limit(app, factory):
    """Only failures are counted per account: successes in between do not lock the owner out."""
    user = factory.user(Role.facilitator)
    staff = from_address(app, "192.0.2.13")

    failures = [staff.login(user.email, "wrong password").status_code for _ in range(FAILURES_ALLOWED - 1)]
    for _ in range(FAILURES_ALLOWED + 1):
        assert staff.login(user.email).status_code == 302
        sign_out(staff)
    last_allowed = staff.login(user.email, "wrong password")
    over_limit = staff.login(user.email, "wrong password")

    assert failures == [200] * (FAILURES_ALLOWED - 1)
    assert last_allowed.status_code == 200
    assert over_limit.status_code == 429


def test_repeated_posts_from_one_address_get_429(app, factory):
    """Any login post counts per address; another address is not affected."""
    user = factory.user(Role.coordinator)
    sprayer = from_address(app, "198.51.100.7")

    answers = [sprayer.login(f"guess{number}@staff.example", "wrong password").status_code
               for number in range(POSTS_ALLOWED)]
    blocked = sprayer.login(user.email)
    elsewhere = from_address(app, "198.51.100.8")

    assert answers == [200] * POSTS_ALLOWED
    assert blocked.status_code == 429
    assert not is_signed_in(sprayer)
    assert elsewhere.login(user.email).status_code == 302


def test_rate_limited_page_is_an_error_page(app, factory):
    """The 429 answer is the service's own page and signs nobody in."""
    user = factory.user(Role.coordinator)
    attacker = from_address(app, "192.0.2.14")
    for _ in range(FAILURES_ALLOWED):
        attacker.login(user.email, "wrong password")

    response = attacker.login(user.email)

    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert not is_signed_in(attacker)


def test_guessing_the_current_password_on_the_account_page_is_limited(app, factory, browser):
    """A stolen session cannot guess the current password without limit; the right one is then refused too."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    guess = {"current_password": "not my password", "new_password": "a brand new passphrase"}

    answers = [staff.post("/account/password", guess).status_code for _ in range(FAILURES_ALLOWED)]
    locked = staff.post("/account/password", {**guess, "current_password": "correct horse battery"})

    assert answers == [400] * FAILURES_ALLOWED
    assert locked.status_code == 429
    assert from_address(app, "192.0.2.30").login(user.email).status_code == 302  # the password did not change
