"""Admins edit accounts: name, role, language; a new role ends sessions and revokes tokens; password and second
factor resets; CSRF and who may; every change audited."""

from __future__ import annotations

import pytest

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in

EDIT = {"name": "Noor Haddad-Salem", "role": "coordinator", "language": "fr"}


def test_admin_edits_name_and_language_and_the_person_stays_signed_in(factory, browser, sql, audit_actions):
    """A name and a language are corrected; nothing else happens to the person's access."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.coordinator)
    colleague = browser(user)
    token = factory.token(user)

    response = admin.post(f"/admin/users/{user.id}", EDIT)
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)

    assert response.status_code == 302
    assert "Noor Haddad-Salem" in page
    assert sql("SELECT language FROM users WHERE email = :email", email=user.email) == [{"language": "fr"}]
    assert is_signed_in(colleague)
    assert sql("SELECT revoked_at FROM api_tokens") == [{"revoked_at": None}] and token
    assert audit_actions()[-1] == "user.update"


def test_a_role_change_ends_sessions_and_revokes_tokens(factory, browser, api_get, sql):
    """The old role's reach stops at once: the browser is signed out, the token refused."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.coordinator)
    colleague = browser(user)
    token = factory.token(user)

    response = admin.post(f"/admin/users/{user.id}", {**EDIT, "name": "Same", "role": "facilitator"})

    assert response.status_code == 302
    assert not is_signed_in(colleague)
    assert api_get(token).status_code == 401
    assert sql("SELECT role FROM users WHERE email = :email", email=user.email) == [{"role": "facilitator"}]
    [entry] = sql("SELECT details FROM audit_entries WHERE action = 'user.update'")
    assert '"old_role": "coordinator"' in str(entry["details"]).replace("'", '"')


def test_bad_edits_are_refused_and_change_nothing(factory, browser, sql):
    """An empty name, an unknown role or language: 400 with field errors; one's own role cannot change."""
    admin_user = factory.user(Role.admin)
    admin = browser(admin_user)
    user = factory.user(Role.prosecutor)

    empty = admin.post(f"/admin/users/{user.id}", {**EDIT, "name": ""})
    role = admin.post(f"/admin/users/{user.id}", {**EDIT, "role": "superuser"})
    own = admin.post(f"/admin/users/{admin_user.id}", {**EDIT, "role": "coordinator"})

    assert (empty.status_code, role.status_code, own.status_code) == (400, 400, 400)
    assert "You cannot change your own role." in own.get_data(as_text=True)
    assert {row["role"] for row in sql("SELECT role FROM users")} == {"admin", "prosecutor"}


def test_the_edit_page_is_labelled_and_fits_a_phone(factory, browser):
    """Every field has a label; the page carries the viewport meta and the CSRF token."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)

    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)

    for field in ("name", "role", "language", "password"):
        assert f'<label for="{field}"' in page
    assert 'name="viewport"' in page and 'name="csrf_token"' in page


def test_admin_sends_a_reset_link(factory, browser, sql, audit_actions):
    """The link goes to the outbox (its URL encrypted), and the action is audited."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)

    response = admin.post(f"/admin/users/{user.id}/reset-link")

    assert response.status_code == 302
    [message] = sql("SELECT template, link_enc FROM outbox_messages")
    assert message["template"] == "password_reset" and "/password/reset/" not in message["link_enc"]
    assert "user.password_reset_link" in audit_actions()


def test_admin_sets_a_typed_temporary_password(factory, browser, audit_actions):
    """A typed temporary password works once the admin sets it, and must then be changed."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)

    response = admin.post(f"/admin/users/{user.id}/temporary-password", {"password": "cedar river window 8 oak"})
    staff = browser()
    staff.login(user.email, "cedar river window 8 oak")

    assert response.status_code == 302
    assert staff.get("/referrals").headers["Location"] == "/account/first-password"
    assert "user.password_reset_by_admin" in audit_actions()


@pytest.mark.parametrize("role", [Role.coordinator, Role.facilitator, Role.prosecutor])
def test_only_admins_edit_accounts(factory, browser, sql, role):
    """Other roles get 403 on every admin door and nothing changes."""
    staff = browser(factory.user(role))
    target = factory.user(Role.facilitator)

    answers = [staff.get(f"/admin/users/{target.id}").status_code,
               staff.post(f"/admin/users/{target.id}", EDIT).status_code,
               staff.post(f"/admin/users/{target.id}/temporary-password", {"password": ""}).status_code,
               staff.post(f"/admin/users/{target.id}/reset-link").status_code,
               staff.post(f"/admin/users/{target.id}/second-factor/reset").status_code]

    assert answers == [403] * 5
    assert sql("SELECT role FROM users WHERE email = :email", email=target.email) == [{"role": "facilitator"}]


def test_admin_forms_need_the_csrf_token(factory, browser, sql):
    """Without the token the edit is refused."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.facilitator)

    response = admin.post(f"/admin/users/{user.id}", {**EDIT, "role": "coordinator"}, csrf=False)

    assert response.status_code == 400
    assert sql("SELECT role FROM users WHERE email = :email", email=user.email) == [{"role": "facilitator"}]


def test_unknown_account_edit_is_404(factory, browser):
    """Unknown and malformed ids answer 404."""
    admin = browser(factory.user(Role.admin))

    assert admin.get("/admin/users/00000000-0000-0000-0000-000000000000").status_code == 404
    assert admin.post("/admin/users/not-an-id/reset-link").status_code == 404
