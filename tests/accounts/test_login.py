"""Signing in through the login page: roles, wrong credentials, inactive accounts and password storage."""

from __future__ import annotations

import pytest

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in
from tests.factories import PASSWORD

LOGIN_ERROR = "The email address or the password is not right."
START_PAGES = {Role.admin: "/admin/users", Role.coordinator: "/referrals", Role.facilitator: "/referrals",
               Role.prosecutor: "/referrals"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_signs_in_and_lands_on_its_start_page(factory, browser, role):
    """A correct password signs in and the home page sends each role to its own start page."""
    user = factory.user(role)
    staff = browser()

    response = staff.login(user.email)
    landing = staff.client.get(response.headers["Location"], follow_redirects=True)

    assert response.status_code == 302
    assert landing.status_code == 200
    assert landing.request.path == START_PAGES[role]
    assert is_signed_in(staff)


def test_sign_in_ignores_case_and_spaces_in_the_email(factory, browser):
    """The address typed with other capitals and stray spaces finds the same account."""
    user = factory.user(Role.coordinator)
    staff = browser()

    response = staff.login(f"  {user.email.upper()} ")

    assert response.status_code == 302
    assert is_signed_in(staff)


@pytest.mark.parametrize("password", ["not the password", PASSWORD.upper()])
def test_wrong_password_shows_an_error_and_signs_nobody_in(factory, browser, password):
    """A wrong password re-shows the form with a neutral error; the browser stays signed out."""
    user = factory.user(Role.coordinator)
    staff = browser()

    response = staff.login(user.email, password)

    assert response.status_code == 200
    assert LOGIN_ERROR in response.get_data(as_text=True)
    assert not is_signed_in(staff)


def test_unknown_email_shows_the_same_error(factory, browser):
    """An address without an account gets the very same answer as a wrong password."""
    factory.user(Role.coordinator)
    staff = browser()

    response = staff.login("nobody@staff.example")

    assert response.status_code == 200
    assert LOGIN_ERROR in response.get_data(as_text=True)
    assert not is_signed_in(staff)


def test_inactive_account_cannot_sign_in(factory, browser, deactivate):
    """A deactivated account is refused even with the right password."""
    user = factory.user(Role.facilitator)
    deactivate(user)
    staff = browser()

    response = staff.login(user.email)

    assert response.status_code == 200
    assert LOGIN_ERROR in response.get_data(as_text=True)
    assert not is_signed_in(staff)


def test_empty_form_is_refused(browser):
    """A post without email or password signs nobody in."""
    staff = browser()

    response = staff.post("/login", {"email": "", "password": ""})

    assert response.status_code == 400
    assert not is_signed_in(staff)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(factory, browser, target):
    """`next` may only point inside the service."""
    user = factory.user(Role.coordinator)
    staff = browser()

    response = staff.client.post(f"/login?next={target}", data={"csrf_token": staff.csrf(), "email": user.email,
                                                                  "password": PASSWORD})

    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_sign_in_follows_a_local_next(factory, browser):
    """A same-site `next` is where the browser goes after signing in."""
    user = factory.user(Role.coordinator)
    staff = browser()

    response = staff.client.post("/login?next=/account", data={"csrf_token": staff.csrf(), "email": user.email,
                                                                "password": PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


def test_passwords_are_stored_as_argon2id_hashes_only(factory, sql):
    """The users table holds an argon2id hash and never the password itself."""
    user = factory.user(Role.coordinator)

    [row] = sql("SELECT * FROM users WHERE email = :email", email=user.email)

    assert row["password_hash"].startswith("$argon2id$")
    assert all(PASSWORD not in str(value) for value in row.values())


def test_a_signed_in_visitor_to_the_login_page_goes_home(factory, browser):
    """The login page does not sign a signed-in browser in twice."""
    staff = browser(factory.user(Role.admin))

    response = staff.get("/login")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
