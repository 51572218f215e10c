"""Every account event appends an entry to the audit chain, naming who did what to which record."""

from __future__ import annotations

from coordinator.accounts.models import Role
from tests.accounts.helpers import REVOKE_ACTION, secret_on
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
ENTRIES = "SELECT action, actor_type, actor_id, object_type, object_id, details FROM audit_entries ORDER BY seq"


def entries_since(sql, count: int) -> list[dict]:
    """The audit entries appended after the first `count`."""
    return sql(ENTRIES)[count:]


def test_sign_in_is_audited(factory, browser, sql):
    """A sign-in records the user as actor and the new session as object."""
    user = factory.user(Role.coordinator)
    before = len(sql(ENTRIES))

    browser(user)

    [entry] = entries_since(sql, before)
    assert (entry["action"], entry["actor_type"], entry["actor_id"]) == ("auth.login", "user", str(user.id))
    assert entry["object_type"] == "staff_sessions"


def test_failed_sign_in_is_audited_without_the_password(factory, browser, sql):
    """A wrong password records the targeted account and the reason, never what was typed."""
    user = factory.user(Role.coordinator)
    before = len(sql(ENTRIES))

    browser().login(user.email, "guessed passphrase")

    [entry] = entries_since(sql, before)
    assert (entry["action"], entry["actor_type"], entry["object_id"]) == ("auth.login_failed", "anonymous",
                                                                          str(user.id))
    assert "guessed passphrase" not in str(entry["details"])


def test_failed_sign_in_for_an_unknown_address_is_audited_without_the_address(browser, sql):
    """An attempt on an address without an account is logged too, but the typed address is not kept."""
    before = len(sql(ENTRIES))

    browser().login("nobody@staff.example", "guessed passphrase")

    [entry] = entries_since(sql, before)
    assert (entry["action"], entry["actor_type"], entry["object_id"]) == ("auth.login_failed", "anonymous", None)
    assert "nobody" not in str(entry) and "guessed passphrase" not in str(entry)


def test_sign_in_to_a_deactivated_account_is_audited(factory, browser, deactivate, sql):
    """A refused sign-in of a deactivated account is recorded as such."""
    user = factory.user(Role.coordinator)
    deactivate(user)
    before = len(sql(ENTRIES))

    browser().login(user.email)

    [entry] = entries_since(sql, before)
    assert entry["action"] == "auth.login_failed"
    assert "inactive" in str(entry["details"])


def test_logout_is_audited(factory, browser, sql):
    """Signing out records the user and the session that ended."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    login = sql(ENTRIES)[-1]
    before = len(sql(ENTRIES))

    staff.post("/logout")

    [entry] = entries_since(sql, before)
    assert (entry["action"], entry["actor_id"]) == ("auth.logout", str(user.id))
    assert entry["object_id"] == login["object_id"]


def test_password_change_is_audited(factory, browser, sql):
    """A password change is recorded (and the fresh session it opens), without either password."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    before = len(sql(ENTRIES))

    staff.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})

    entries = entries_since(sql, before)
    assert [entry["action"] for entry in entries] == ["user.password_change", "auth.login"]
    assert entries[0]["actor_id"] == entries[0]["object_id"] == str(user.id)
    assert all(secret not in str(entries) for secret in (PASSWORD, NEW_PASSWORD))


def test_token_issue_and_revoke_are_audited(factory, browser, sql):
    """Creating and revoking a token are recorded against the token, without its plaintext."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    before = len(sql(ENTRIES))

    token = secret_on(staff.post("/account/tokens", {"label": "case system"}))
    [revoke] = REVOKE_ACTION.findall(staff.get("/account").get_data(as_text=True))
    staff.post(revoke)

    issued, revoked = entries_since(sql, before)
    assert (issued["action"], revoked["action"]) == ("token.issue", "token.revoke")
    assert issued["object_type"] == revoked["object_type"] == "api_tokens"
    assert issued["object_id"] == revoked["object_id"]
    assert {issued["actor_id"], revoked["actor_id"]} == {str(user.id)}
    assert token not in str(sql(ENTRIES))


def test_user_create_and_deactivate_are_audited(factory, browser, sql):
    """An admin creating and deactivating an account is recorded with the admin as actor."""
    admin_user = factory.user(Role.admin)
    admin = browser(admin_user)
    before = len(sql(ENTRIES))

    password = secret_on(admin.post("/admin/users/new", {"name": "Noor Haddad", "email": "noor@staff.example",
                                                          "role": "facilitator", "language": "en"}))
    [new_user] = sql("SELECT id FROM users WHERE email = 'noor@staff.example'")
    admin.post(f"/admin/users/{new_user['id']}/deactivate")
    admin.post(f"/admin/users/{new_user['id']}/reactivate")

    created, deactivated, reactivated = entries_since(sql, before)
    assert [created["action"], deactivated["action"], reactivated["action"]] == [
        "user.create", "user.deactivate", "user.reactivate"]
    assert {created["actor_id"], deactivated["actor_id"], reactivated["actor_id"]} == {str(admin_user.id)}
    assert created["object_id"] == deactivated["object_id"] == reactivated["object_id"]
    assert "Noor" not in str(created) and password not in str(created)


def test_account_events_keep_the_audit_chain_intact(factory, browser, cli):
    """After a run of account events `audit verify` still finds an intact chain."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    browser().login(user.email, "wrong password")
    staff.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    staff.post("/logout")

    result = cli("audit", "verify")

    assert result.exit_code == 0, result.output
    assert "intact" in result.output
