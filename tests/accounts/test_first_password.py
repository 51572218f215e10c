"""A password an admin sets in the pages must be changed at the first sign-in; one given to `users create
--password` is final; API tokens are not held back (docs/api.md "Staff sign-in")."""

from __future__ import annotations

import pytest

from coordinator.accounts.models import Role
from coordinator.accounts.service import find_user_by_email
from tests.accounts.helpers import is_signed_in, secret_on

NEW = "harbour seven quiet lanterns"
NEWCOMER = {"name": "Noor Haddad", "email": "noor@staff.example", "role": "coordinator", "language": "en"}


def created_by_admin(factory, browser, **fields) -> str:
    """An account made on the admin page; its first password."""
    admin = browser(factory.user(Role.admin))
    response = admin.post("/admin/users/new", {**NEWCOMER, **fields})
    assert response.status_code == 201
    return fields.get("password") or secret_on(response)


@pytest.mark.parametrize("path", ["/", "/referrals", "/account", "/notifications", "/calendar"])
def test_every_page_leads_to_the_change_form_until_it_is_done(factory, browser, path):
    """After signing in with an admin's password, only the change form (and signing out) opens."""
    first = created_by_admin(factory, browser)
    staff = browser()
    staff.login(NEWCOMER["email"], first)

    response = staff.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/account/first-password"


def test_changing_it_opens_the_service_and_the_old_password_stops(factory, browser, audit_actions):
    """The new password is saved; pages open; the admin's password no longer signs in."""
    first = created_by_admin(factory, browser, password="typed by the admin 4 you")
    staff = browser()
    staff.login(NEWCOMER["email"], first)

    response = staff.post("/account/first-password", {"new_password": NEW, "confirmation": NEW})

    assert response.status_code == 302
    assert staff.get("/referrals").status_code == 200
    assert browser().login(NEWCOMER["email"], first).status_code == 200
    assert browser().login(NEWCOMER["email"], NEW).status_code == 302
    assert "user.password_change" in audit_actions()


def test_mismatched_or_reused_passwords_are_refused(factory, browser):
    """Both fields must agree, and the admin's password cannot simply be kept."""
    first = created_by_admin(factory, browser, password="typed by the admin 4 you")
    staff = browser()
    staff.login(NEWCOMER["email"], first)

    mismatch = staff.post("/account/first-password", {"new_password": NEW, "confirmation": NEW + "x"})
    kept = staff.post("/account/first-password", {"new_password": first, "confirmation": first})

    assert mismatch.status_code == 400 and "The two passwords are not the same." in mismatch.get_data(as_text=True)
    assert kept.status_code == 400 and "other than the one you were given" in kept.get_data(as_text=True)
    assert staff.get("/referrals").headers["Location"] == "/account/first-password"


def test_api_tokens_work_before_the_change(factory, browser, api_get, in_app):
    """Tokens are not held back by a pending change."""
    first = created_by_admin(factory, browser)
    staff = browser()
    staff.login(NEWCOMER["email"], first)
    with in_app():
        user = find_user_by_email(NEWCOMER["email"])
    token = factory.token(user)

    assert api_get(token).status_code == 200


def test_admin_temporary_password_must_be_changed(factory, browser):
    """After an admin's reset, the person signs in with the temporary password and must change it."""
    user = factory.user(Role.facilitator)
    colleague = browser(user)
    admin = browser(factory.user(Role.admin))

    response = admin.post(f"/admin/users/{user.id}/temporary-password", {"password": ""})
    temporary = secret_on(response)
    staff = browser()
    staff.login(user.email, temporary)

    assert response.status_code == 201
    assert not is_signed_in(colleague)
    assert staff.get("/referrals").headers["Location"] == "/account/first-password"


def test_a_password_given_to_the_command_is_final(cli, browser):
    """`users create --password`: no change asked."""
    cli("users", "create", "ines@staff.example", "--role", "coordinator", "--name", "Inés Ortega",
        "--password", NEW)
    staff = browser()
    staff.login("ines@staff.example", NEW)

    assert staff.get("/referrals").status_code == 200
