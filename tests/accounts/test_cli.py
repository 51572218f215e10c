"""The `flask --app app users ...` commands: create, token and deactivate."""

from __future__ import annotations

import hashlib

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in
from tests.factories import PASSWORD

EMAIL = "ines@staff.example"


def last_line(result) -> str:
    """The last line a command printed on stdout."""
    return result.stdout.strip().splitlines()[-1]


def test_users_create_with_a_password(cli, browser, sql):
    """The account is created with the given role and password."""
    result = cli("users", "create", EMAIL, "--role", "prosecutor", "--name", "Inés Ortega", "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert sql("SELECT role FROM users WHERE email = :email", email=EMAIL) == [{"role": "prosecutor"}]
    assert browser().login(EMAIL).status_code == 302


def test_users_create_prints_a_generated_password_that_works(cli, browser, sql):
    """Without --password a password is generated, printed once and stored hashed."""
    result = cli("users", "create", EMAIL, "--role", "admin", "--name", "Inés Ortega")
    password = last_line(result).removeprefix("Password (shown once): ")
    staff = browser()

    assert result.exit_code == 0, result.output
    assert staff.login(EMAIL, password).status_code == 302
    assert is_signed_in(staff)
    assert sql("SELECT password_hash FROM users")[0]["password_hash"].startswith("$argon2id$")


def test_users_create_refuses_bad_input(cli, factory, sql):
    """A taken address, a weak password or an unknown role fails with a message and creates nothing."""
    existing = factory.user(Role.coordinator)

    taken = cli("users", "create", existing.email, "--role", "admin", "--name", "Twin", "--password", PASSWORD)
    weak = cli("users", "create", EMAIL, "--role", "admin", "--name", "Weak", "--password", "short")
    role = cli("users", "create", EMAIL, "--role", "superuser", "--name", "Nobody", "--password", PASSWORD)

    assert taken.exit_code != 0 and "already exists" in taken.output
    assert weak.exit_code != 0 and "password" in weak.output
    assert role.exit_code != 0
    assert [row["email"] for row in sql("SELECT email FROM users")] == [existing.email]


def test_users_token_prints_a_working_token_as_the_last_line(cli, factory, api_get, sql):
    """The printed token authenticates against /api/v1/referrals and is stored only as its hash."""
    user = factory.user(Role.coordinator)

    result = cli("users", "token", user.email)
    token = last_line(result)

    assert result.exit_code == 0, result.output
    assert api_get(token).status_code == 200
    [row] = sql("SELECT token_hash, label FROM api_tokens")
    assert row == {"token_hash": hashlib.sha256(token.encode()).hexdigest(), "label": "command line"}


def test_users_token_takes_a_label(cli, factory, sql):
    """--label names the token."""
    user = factory.user(Role.facilitator)

    result = cli("users", "token", user.email, "--label", "nightly export")

    assert result.exit_code == 0, result.output
    assert sql("SELECT label FROM api_tokens") == [{"label": "nightly export"}]


def test_users_token_refuses_unknown_and_deactivated_accounts(cli, factory, deactivate, sql):
    """No token is printed for an address without an active account."""
    user = factory.user(Role.coordinator)
    deactivate(user)

    unknown = cli("users", "token", "nobody@staff.example")
    stopped = cli("users", "token", user.email)

    assert unknown.exit_code != 0 and "nobody@staff.example" in unknown.output
    assert stopped.exit_code != 0
    assert sql("SELECT id FROM api_tokens") == []


def test_users_deactivate_ends_sessions_and_revokes_tokens(cli, factory, browser, api_get):
    """The command stops the account everywhere at once."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    token = factory.token(user)

    result = cli("users", "deactivate", user.email)

    assert result.exit_code == 0, result.output
    assert not is_signed_in(staff)
    assert api_get(token).status_code == 401
    assert browser().login(user.email).status_code == 200


def test_users_deactivate_refuses_an_unknown_address(cli):
    """An address without an account is an error."""
    result = cli("users", "deactivate", "nobody@staff.example")

    assert result.exit_code != 0
    assert "nobody@staff.example" in result.output
