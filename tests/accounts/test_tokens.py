"""API tokens: created and revoked on the account page, stored as SHA-256, refused once revoked or expired."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from coordinator.accounts import service as accounts
from coordinator.accounts.models import Role
from coordinator.db import db
from tests.accounts.helpers import REVOKE_ACTION, later, secret_on


def create_token(staff, label: str = "case system") -> str:
    """Create a token on the account page and return the plaintext it shows once."""
    response = staff.post("/account/tokens", {"label": label})
    assert response.status_code == 201
    return secret_on(response)


def revoke_actions(staff) -> list[str]:
    """The revoke buttons' form actions on the account page."""
    return REVOKE_ACTION.findall(staff.get("/account").get_data(as_text=True))


def assert_unauthenticated(response) -> None:
    """401 with the API's error envelope."""
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert response.get_json()["error"]["message"]


def test_token_from_the_account_page_works_against_the_api(factory, browser, api_get):
    """The token shown once on the account page authenticates API calls."""
    staff = browser(factory.user(Role.coordinator))

    token = create_token(staff)

    assert token.startswith("ck_")
    response = api_get(token)
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_token_is_shown_only_once(factory, browser):
    """Reloading the account page does not show the plaintext again."""
    staff = browser(factory.user(Role.coordinator))
    token = create_token(staff)

    page = staff.get("/account").get_data(as_text=True)

    assert token not in page
    assert token[:10] in page


def test_tokens_are_stored_only_as_sha256(factory, browser, sql):
    """The api_tokens table holds the token's SHA-256 and never the token itself."""
    staff = browser(factory.user(Role.coordinator))
    tokens = [create_token(staff, "first"), create_token(staff, "second")]

    rows = sql("SELECT * FROM api_tokens")

    assert sorted(row["token_hash"] for row in rows) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)
    assert all(token not in str(value) for token in tokens for row in rows for value in row.values())


def test_revoked_token_gets_401_with_the_error_envelope(factory, browser, api_get, sql):
    """Revoking on the account page stops the token at once."""
    staff = browser(factory.user(Role.coordinator))
    token = create_token(staff)
    assert api_get(token).status_code == 200

    [action] = revoke_actions(staff)
    response = staff.post(action)

    assert response.status_code == 302
    assert_unauthenticated(api_get(token))
    assert revoke_actions(staff) == []
    assert sql("SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens")[0]["revoked"]


def test_revoking_one_token_leaves_the_others(factory, browser, api_get):
    """Each token is revoked on its own."""
    staff = browser(factory.user(Role.coordinator))
    older = create_token(staff, "older")
    newer = create_token(staff, "newer")

    staff.post(revoke_actions(staff)[0])  # newest first on the page

    assert_unauthenticated(api_get(newer))
    assert api_get(older).status_code == 200


def test_nobody_revokes_another_persons_token(factory, browser, api_get):
    """Another staff member's revoke post gets 404 and the token keeps working."""
    owner = browser(factory.user(Role.coordinator))
    token = create_token(owner)
    [action] = revoke_actions(owner)
    intruder = browser(factory.user(Role.coordinator))

    response = intruder.post(action)

    assert response.status_code == 404
    assert api_get(token).status_code == 200


def test_expired_token_gets_401(factory, in_app, api_get, clock_at):
    """A token with an expiry stops working when it passes."""
    user = factory.user(Role.coordinator)
    with in_app():
        _row, token = accounts.issue_token(db.session.merge(user), db.session.merge(user), "short-lived",
                                           expires_in=timedelta(hours=1))
        db.session.commit()

    clock_at(later(minutes=59))
    before = api_get(token)
    clock_at(later(minutes=61))
    after = api_get(token)

    assert before.status_code == 200
    assert_unauthenticated(after)


def test_deactivated_users_token_gets_401(factory, api_get, deactivate, sql):
    """Deactivating an account revokes its tokens and refuses them."""
    user = factory.user(Role.coordinator)
    token = factory.token(user)
    assert api_get(token).status_code == 200

    deactivate(user)

    assert_unauthenticated(api_get(token))
    assert sql("SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens")[0]["revoked"]


def test_inactive_owner_is_refused_even_if_a_token_was_left_unrevoked(factory, in_app, api_get, sql):
    """The owner's state is checked on every call, not only the token's."""
    user = factory.user(Role.coordinator)
    token = factory.token(user)
    with in_app():
        accounts.find_user_by_email(user.email).active = False
        db.session.commit()

    assert_unauthenticated(api_get(token))
    assert sql("SELECT revoked_at FROM api_tokens") == [{"revoked_at": None}]


def test_unknown_malformed_and_missing_tokens_get_401(app, factory, api_get):
    """Anything but a live token is refused with the envelope."""
    token = factory.token(factory.user(Role.coordinator))

    assert_unauthenticated(api_get(token[:-1] + ("A" if token[-1] != "A" else "B")))
    assert_unauthenticated(api_get(token.removeprefix("ck_")))
    assert_unauthenticated(app.test_client().get("/api/v1/referrals"))
    assert_unauthenticated(app.test_client().get("/api/v1/referrals", headers={"Authorization": f"Basic {token}"}))


def test_session_cookie_does_not_open_the_api(factory, browser):
    """The JSON API takes bearer tokens only, never the page session."""
    staff = browser(factory.user(Role.coordinator))

    assert_unauthenticated(staff.get("/api/v1/referrals"))


def test_token_label_is_required(factory, browser, sql):
    """A token without a label is refused and none is created."""
    staff = browser(factory.user(Role.coordinator))

    response = staff.post("/account/tokens", {"label": "   "})

    assert response.status_code == 400
    assert sql("SELECT id FROM api_tokens") == []
