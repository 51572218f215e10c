"""Live staff sessions: logout, cookie replay, password change, deactivation and the two timeouts."""

from __future__ import annotations

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in, later, redirects_to_login
from tests.factories import PASSWORD

COOKIE = "ck_session"
NEW_PASSWORD = "a brand new passphrase"
SESSION_ENDS = ("SELECT s.end_reason FROM staff_sessions s JOIN users u ON u.id = s.user_id "
                "WHERE u.email = :email ORDER BY s.started_at")


def session_cookie(staff) -> str:
    """The value of the browser's session cookie."""
    return staff.client.get_cookie(COOKIE).value


def replay(app, cookie: str):
    """A fresh client that sends a copied session cookie to the account page."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client.get("/account")


def change_password(staff, current: str = PASSWORD, new: str = NEW_PASSWORD):
    """Post the password form."""
    return staff.post("/account/password", {"current_password": current, "new_password": new})


def test_logout_ends_the_session(factory, browser):
    """After signing out the account page asks to sign in again."""
    staff = browser(factory.user(Role.coordinator))

    response = staff.post("/logout")

    assert redirects_to_login(response)
    assert not is_signed_in(staff)


def test_replayed_cookie_is_refused_after_logout(app, factory, browser):
    """A copy of the cookie taken before logout no longer opens anything."""
    staff = browser(factory.user(Role.coordinator))
    stolen = session_cookie(staff)
    assert replay(app, stolen).status_code == 200

    staff.post("/logout")

    assert redirects_to_login(replay(app, stolen))


def test_logout_ends_only_this_browser(factory, browser):
    """Signing out on one device leaves the same person's other device signed in."""
    user = factory.user(Role.coordinator)
    laptop, phone = browser(user), browser(user)

    laptop.post("/logout")

    assert not is_signed_in(laptop)
    assert is_signed_in(phone)


def test_sign_in_starts_a_fresh_session(factory, browser):
    """The CSRF token handed out before sign-in is not accepted after it (nothing carries over)."""
    user = factory.user(Role.coordinator)
    staff = browser()
    token_before = staff.csrf()

    staff.login(user.email)
    response = staff.post("/logout", {"csrf_token": token_before})

    assert response.status_code == 400
    assert is_signed_in(staff)


def test_password_change_signs_out_other_browsers_and_keeps_this_one(factory, browser):
    """The browser that changed the password continues; every other session of the account ends."""
    user = factory.user(Role.facilitator)
    here, elsewhere = browser(user), browser(user)

    response = change_password(here)

    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_password_change_replaces_the_password(factory, browser):
    """Only the new password signs in afterwards."""
    user = factory.user(Role.facilitator)
    change_password(browser(user))

    assert browser().login(user.email, PASSWORD).status_code == 200
    assert browser().login(user.email, NEW_PASSWORD).status_code == 302


def test_password_change_refuses_a_replayed_old_cookie(app, factory, browser):
    """The cookie of the session that changed the password is replaced; its old copy is refused."""
    staff = browser(factory.user(Role.facilitator))
    stolen = session_cookie(staff)

    change_password(staff)

    assert redirects_to_login(replay(app, stolen))
    assert is_signed_in(staff)


def test_wrong_current_password_changes_nothing(factory, browser):
    """A wrong current password is refused; no session ends and the password stays."""
    user = factory.user(Role.facilitator)
    here, elsewhere = browser(user), browser(user)

    response = change_password(here, current="not my password")

    assert response.status_code == 400
    assert "This is not your current password." in response.get_data(as_text=True)
    assert is_signed_in(here) and is_signed_in(elsewhere)
    assert browser().login(user.email, NEW_PASSWORD).status_code == 200


def test_weak_new_password_is_refused(factory, browser):
    """A new password that is too short is refused and the old one keeps working."""
    user = factory.user(Role.facilitator)
    here, elsewhere = browser(user), browser(user)

    response = change_password(here, new="short")

    assert response.status_code == 400
    assert "Use at least 12 characters." in response.get_data(as_text=True)
    assert is_signed_in(elsewhere)
    assert browser().login(user.email).status_code == 302


def test_admin_deactivation_ends_live_sessions_and_revokes_tokens_at_once(factory, browser, api_get, sql):
    """The deactivated person's browsers are signed out and their API tokens stop immediately."""
    admin = browser(factory.user(Role.admin))
    user = factory.user(Role.coordinator)
    laptop, phone = browser(user), browser(user)
    token = factory.token(user)
    assert api_get(token).status_code == 200

    response = admin.post(f"/admin/users/{user.id}/deactivate")

    assert response.status_code == 302
    assert sql(SESSION_ENDS, email=user.email) == [{"end_reason": "deactivated"}] * 2
    assert [row["revoked_at"] is not None for row in sql("SELECT revoked_at FROM api_tokens")] == [True]
    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert api_get(token).status_code == 401


def test_idle_session_ends_after_30_minutes(factory, browser, clock_at, sql):
    """Thirty minutes without a request end the session."""
    user = factory.user(Role.coordinator)
    staff = browser(user)

    clock_at(later(minutes=29))
    still_there = is_signed_in(staff)
    clock_at(later(minutes=29 + 31))
    after_idle = staff.get("/account")

    assert still_there
    assert redirects_to_login(after_idle)
    assert sql(SESSION_ENDS, email=user.email) == [{"end_reason": "idle"}]


def test_idle_session_stays_ended_when_the_clock_goes_back(factory, browser, clock_at):
    """An idled-out session is ended on the server, not merely judged stale."""
    staff = browser(factory.user(Role.coordinator))

    clock_at(later(minutes=31))
    assert not is_signed_in(staff)
    clock_at(later(minutes=1))

    assert not is_signed_in(staff)


def test_active_session_ends_after_12_hours(factory, browser, clock_at, sql):
    """Activity keeps a session alive, but never past twelve hours after sign-in."""
    user = factory.user(Role.coordinator)
    staff = browser(user)

    alive = []
    for minutes in [*range(25, 12 * 60, 25), 12 * 60 - 1]:  # never 30 minutes idle
        clock_at(later(minutes=minutes))
        alive.append(is_signed_in(staff))
    clock_at(later(hours=12, minutes=1))

    assert all(alive)
    assert redirects_to_login(staff.get("/account"))
    assert sql(SESSION_ENDS, email=user.email) == [{"end_reason": "expired"}]
