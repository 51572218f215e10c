"""The password policy on every door that sets a password: admin pages, the change form, the first-password form,
the reset form and `users create --password` (OWASP ASVS 5.0 V6.2)."""

from __future__ import annotations

import re

import pytest

from coordinator.accounts.models import Role
from coordinator.accounts.passwords import common_passwords, password_problems
from tests.factories import PASSWORD

# The outside review's examples, a list classic, a name, an address and the service's name.
WEAK = ["Password1234!", "passwordpassword", "circlekeeper-demo", "letmein123456", "qwertyuiop123"]
STRONG = "walnut ferry lantern quietly"
NAME, EMAIL = "Teodora Vasquez", "teodora.v@staff.example"
PERSONAL = ["Teodora-1987-garden-path", "teodora.v@staff.example!", "my vasquez family tree 7"]
REFUSALS = ("commonly used passwords", "too easy to guess", "Do not use your name", "at least 12 characters")


def refused(response, field_text: str = "") -> bool:
    """True when the page shows a password refusal."""
    page = response.get_data(as_text=True)
    return response.status_code == 400 and any(reason in page for reason in REFUSALS) and field_text in page


@pytest.mark.parametrize("password", WEAK)
def test_the_policy_refuses_weak_passwords(in_app, password):
    """Each weak password gets at least one reason."""
    with in_app():
        assert password_problems(password, email=EMAIL, name=NAME)


@pytest.mark.parametrize("password", PERSONAL)
def test_the_policy_refuses_the_persons_name_or_address(in_app, password):
    """A password holding the person's name, address or its local part is refused with that reason."""
    with in_app():
        assert password_problems(password, email=EMAIL, name=NAME) == [
            "Do not use your name, your email address or the name of the service in your password."]


def test_the_policy_accepts_a_strong_passphrase_and_checks_length(in_app):
    """A long passphrase passes; 11 characters and 129 characters do not."""
    with in_app():
        assert password_problems(STRONG, email=EMAIL, name=NAME) == []
        assert password_problems("Zx9!kq2Lm0p", email=EMAIL) == ["Use at least 12 characters."]
        assert password_problems("zq" * 64 + "x", email=EMAIL) == ["Use at most 128 characters."]


def test_the_common_password_list_ships_ten_thousand_entries():
    """The list is the repository's own file, read without any network."""
    passwords = common_passwords()
    assert len(passwords) == 10_000
    assert {"password", "123456", "letmein", "dragon"} <= passwords


def test_the_refusal_is_in_the_readers_language(in_app, app):
    """A Spanish reader gets the reason in Spanish."""
    with app.test_request_context(headers={"Accept-Language": "es"}):
        [reason] = password_problems("passwordpassword")
    assert reason != "This password is on a list of commonly used passwords. Choose another."
    assert "contraseña" in reason.lower()


@pytest.mark.parametrize("password", WEAK[:3])
def test_admin_new_account_form_refuses_weak_passwords(factory, browser, sql, password):
    """The admin's new-account form with a typed first password."""
    admin = browser(factory.user(Role.admin))

    response = admin.post("/admin/users/new", {"name": NAME, "email": EMAIL, "role": "coordinator",
                                               "language": "en", "password": password})

    assert refused(response)
    assert sql("SELECT id FROM users WHERE email = :email", email=EMAIL) == []


@pytest.mark.parametrize("password", WEAK[:3])
def test_admin_temporary_password_refuses_weak_passwords(factory, browser, sql, password):
    """The admin's temporary-password form: refused, and the person's password is unchanged."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)

    response = admin.post(f"/admin/users/{user.id}/temporary-password", {"password": password})

    assert refused(response)
    assert browser().login(user.email).status_code == 302


@pytest.mark.parametrize("password", WEAK[:3])
def test_change_form_refuses_weak_passwords(factory, browser, password):
    """The account page's change form."""
    user = factory.user(Role.coordinator)
    staff = browser(user)

    response = staff.post("/account/password", {"current_password": PASSWORD, "new_password": password})

    assert refused(response)
    assert browser().login(user.email).status_code == 302


@pytest.mark.parametrize("password", WEAK[:3])
def test_first_password_form_refuses_weak_passwords(factory, browser, password):
    """The forced change after an admin's first password."""
    admin = browser(factory.user(Role.admin))
    created = admin.post("/admin/users/new", {"name": NAME, "email": EMAIL, "role": "facilitator",
                                              "language": "en"})
    first = re.search(r'<code class="secret">([^<]+)</code>', created.get_data(as_text=True)).group(1)
    newcomer = browser()
    newcomer.login(EMAIL, first)

    response = newcomer.post("/account/first-password", {"new_password": password, "confirmation": password})

    assert refused(response)
    assert newcomer.get("/referrals").headers["Location"] == "/account/first-password"


@pytest.mark.parametrize("password", WEAK[:3])
def test_cli_refuses_weak_passwords(cli, sql, password):
    """`users create --password` says why and creates nothing."""
    result = cli("users", "create", EMAIL, "--role", "admin", "--name", NAME, "--password", password)

    assert result.exit_code != 0
    assert any(reason in result.output for reason in REFUSALS)
    assert sql("SELECT id FROM users") == []
