"""Account administration pages: list, create, deactivate, reactivate, and who may use them."""

from __future__ import annotations

import pytest

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in, redirects_to_login, secret_on

NEW_ACCOUNT = {"name": "Noor Haddad", "email": "noor@staff.example", "role": "facilitator", "language": "fr"}
STAFF_ROLES = [Role.coordinator, Role.facilitator, Role.prosecutor]


def create_account(admin, **overrides):
    """Post the new-account form."""
    return admin.post("/admin/users/new", {**NEW_ACCOUNT, **overrides})


def test_admin_lists_every_account(factory, browser):
    """The accounts page shows each account's address and role."""
    admin_user = factory.user(Role.admin)
    others = [factory.user(role) for role in STAFF_ROLES]
    admin = browser(admin_user)

    response = admin.get("/admin/users")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert all(user.email in page for user in [admin_user, *others])
    assert all(label in page for label in ("Coordinator", "Facilitator", "Prosecutor", "Administrator"))
    assert "4 accounts" in page


def test_admin_creates_an_account_whose_one_time_password_works(factory, browser, sql):
    """The generated password is shown once, stored hashed, and signs the new person in, straight to the form
    where they choose their own."""
    admin = browser(factory.user(Role.admin))

    response = create_account(admin)
    password = secret_on(response)
    newcomer = browser()
    signed_in = newcomer.login(NEW_ACCOUNT["email"], password)

    assert response.status_code == 201
    assert len(password) >= 12
    assert signed_in.status_code == 302
    assert newcomer.get("/account").headers["Location"] == "/account/first-password"
    [row] = sql("SELECT role, language, active, password_hash FROM users WHERE email = :email",
                email=NEW_ACCOUNT["email"])
    assert (row["role"], row["language"], bool(row["active"])) == ("facilitator", "fr", True)
    assert row["password_hash"].startswith("$argon2id$") and password not in row["password_hash"]


def test_generated_password_is_not_shown_again(factory, browser):
    """The accounts list never repeats the first password."""
    admin = browser(factory.user(Role.admin))
    password = secret_on(create_account(admin))

    page = admin.get("/admin/users").get_data(as_text=True)

    assert NEW_ACCOUNT["email"] in page
    assert password not in page


def test_each_new_account_gets_its_own_password(factory, browser):
    """Two accounts created in a row get different generated passwords."""
    admin = browser(factory.user(Role.admin))

    first = secret_on(create_account(admin))
    second = secret_on(create_account(admin, email="second@staff.example"))

    assert first != second


def test_duplicate_email_is_refused(factory, browser, sql):
    """An address can have only one account, whatever its capitals."""
    existing = factory.user(Role.coordinator)
    admin = browser(factory.user(Role.admin))

    response = create_account(admin, email=existing.email.upper())

    assert response.status_code == 400
    assert "An account with this email address already exists." in response.get_data(as_text=True)
    assert len(sql("SELECT id FROM users")) == 2


def test_invalid_new_account_is_refused(factory, browser, sql):
    """A bad address or an unknown role creates nothing."""
    admin = browser(factory.user(Role.admin))

    bad_email = create_account(admin, email="not-an-address")
    bad_role = create_account(admin, role="superuser")

    assert (bad_email.status_code, bad_role.status_code) == (400, 400)
    assert len(sql("SELECT id FROM users")) == 1


def test_admin_deactivates_an_account(factory, browser):
    """A deactivated account cannot sign in and its live session ends."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.prosecutor)
    colleague = browser(user)

    response = admin.post(f"/admin/users/{user.id}/deactivate")

    assert response.status_code == 302
    assert f"/admin/users/{user.id}/reactivate" in admin.get("/admin/users").get_data(as_text=True)
    assert not is_signed_in(colleague)
    assert browser().login(user.email).status_code == 200


def test_admin_reactivates_an_account_but_not_its_old_sessions_or_tokens(factory, browser, api_get):
    """After reactivation the person signs in afresh; what deactivation ended stays ended."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.coordinator)
    colleague = browser(user)
    token = factory.token(user)
    admin.post(f"/admin/users/{user.id}/deactivate")

    response = admin.post(f"/admin/users/{user.id}/reactivate")

    assert response.status_code == 302
    assert not is_signed_in(colleague)
    assert api_get(token).status_code == 401
    assert browser().login(user.email).status_code == 302


def test_admin_cannot_deactivate_their_own_account(factory, browser):
    """Deactivating oneself is refused, so the service never loses its last administrator by accident."""
    admin_user = factory.user(Role.admin)
    admin = browser(admin_user)

    response = admin.post(f"/admin/users/{admin_user.id}/deactivate", follow_redirects=True)

    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert is_signed_in(admin)


def test_unknown_account_is_404(factory, browser):
    """Deactivating an id that does not exist is a 404."""
    admin = browser(factory.user(Role.admin))

    assert admin.post("/admin/users/00000000-0000-0000-0000-000000000000/deactivate").status_code == 404
    assert admin.post("/admin/users/not-an-id/reactivate").status_code == 404


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_other_roles_get_403_on_admin_pages(factory, browser, role):
    """Only administrators see the accounts pages."""
    staff = browser(factory.user(role))

    assert staff.get("/admin/users").status_code == 403
    assert staff.get("/admin/users/new").status_code == 403


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_other_roles_cannot_create_or_deactivate_accounts(factory, browser, sql, role):
    """Posting the admin forms without the admin role is refused and changes nothing."""
    staff = browser(factory.user(role))
    target = factory.user(Role.coordinator)

    created = create_account(staff, role="admin")
    deactivated = staff.post(f"/admin/users/{target.id}/deactivate")

    assert (created.status_code, deactivated.status_code) == (403, 403)
    assert sql("SELECT id FROM users WHERE email = :email", email=NEW_ACCOUNT["email"]) == []
    assert browser().login(target.email).status_code == 302


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/account"])
def test_signed_out_visitor_is_sent_to_login(browser, path):
    """Visitors are redirected to the sign-in page, with the way back."""
    response = browser().get(path)

    assert redirects_to_login(response)
    assert "next=" in response.headers["Location"]
