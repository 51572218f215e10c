"""Every accounts form refuses a post without the page's CSRF token (400) and changes nothing."""

from __future__ import annotations

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def test_login_without_token_is_refused(factory, browser, audit_actions):
    """The right password without a CSRF token signs nobody in and audits no sign-in."""
    user = factory.user(Role.coordinator)
    staff = browser()
    staff.get("/login")

    response = staff.post("/login", {"email": user.email, "password": PASSWORD}, csrf=False)

    assert response.status_code == 400
    assert not is_signed_in(staff)
    assert "auth.login" not in audit_actions()


def test_login_with_a_token_from_another_browser_is_refused(factory, browser):
    """A CSRF token is bound to the browser's own session."""
    user = factory.user(Role.coordinator)
    victim, attacker = browser(), browser()

    response = victim.post("/login", {"email": user.email, "password": PASSWORD, "csrf_token": attacker.csrf()})

    assert response.status_code == 400
    assert not is_signed_in(victim)


def test_logout_without_token_keeps_the_session(factory, browser, sql):
    """A cross-site logout post does not end the session."""
    staff = browser(factory.user(Role.coordinator))

    response = staff.post("/logout", csrf=False)

    assert response.status_code == 400
    assert is_signed_in(staff)
    assert sql("SELECT ended_at FROM staff_sessions") == [{"ended_at": None}]


def test_password_change_without_token_changes_nothing(factory, browser):
    """The password stays as it was and the new one does not work."""
    user = factory.user(Role.coordinator)
    staff = browser(user)

    response = staff.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                          csrf=False)

    assert response.status_code == 400
    assert is_signed_in(staff)
    assert browser().login(user.email, NEW_PASSWORD).status_code == 200
    assert browser().login(user.email, PASSWORD).status_code == 302


def test_token_forms_without_token_change_nothing(factory, browser, sql):
    """No API token is created or revoked by a post without a CSRF token."""
    staff = browser(factory.user(Role.coordinator))
    staff.post("/account/tokens", {"label": "kept"})
    [token] = sql("SELECT id FROM api_tokens")

    created = staff.post("/account/tokens", {"label": "sneaky"}, csrf=False)
    revoked = staff.post(f"/account/tokens/{token['id']}/revoke", csrf=False)

    assert (created.status_code, revoked.status_code) == (400, 400)
    assert sql("SELECT label, revoked_at FROM api_tokens") == [{"label": "kept", "revoked_at": None}]


def test_admin_create_without_token_creates_nobody(factory, browser, sql):
    """The new-account form needs its CSRF token."""
    admin = browser(factory.user(Role.admin))

    response = admin.post("/admin/users/new", {"name": "Forged", "email": "forged@staff.example",
                                               "role": "admin", "language": "en"}, csrf=False)

    assert response.status_code == 400
    assert sql("SELECT email FROM users WHERE email = 'forged@staff.example'") == []


def test_admin_deactivate_without_token_keeps_the_account(factory, browser):
    """The deactivate button needs its CSRF token."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)
    colleague = browser(user)

    response = admin.post(f"/admin/users/{user.id}/deactivate", csrf=False)

    assert response.status_code == 400
    assert is_signed_in(colleague)
    assert browser().login(user.email).status_code == 302


def test_admin_reactivate_without_token_keeps_the_account_stopped(factory, browser, deactivate):
    """The reactivate button needs its CSRF token."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)
    deactivate(user)

    response = admin.post(f"/admin/users/{user.id}/reactivate", csrf=False)

    assert response.status_code == 400
    assert browser().login(user.email).status_code == 200
