"""The TOTP second factor: enrolment with a real code computed by pyotp, the code step, recovery codes, replay,
who must use it, the `users mfa-secret` command and the admin's reset (docs/api.md "Staff sign-in")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
import pytest

from coordinator.accounts.models import Role
from tests.accounts.helpers import is_signed_in
from tests.factories import PASSWORD

SECRET_SHOWN = re.compile(r"data-mfa-secret>([A-Z2-7 ]+)</code>")
RECOVERY = re.compile(r"data-recovery-code>([a-z0-9-]+)</code>")
REQUIRED_ROLES = [Role.admin, Role.coordinator, Role.prosecutor]


@pytest.fixture
def app_settings():
    """The second factor is required, as in production."""
    return {"COORDINATOR_REQUIRE_MFA": "on"}


def enrol(staff) -> tuple[pyotp.TOTP, list[str]]:
    """Read the secret off the enrolment page, confirm with the app's current code; the TOTP and recovery codes."""
    page = staff.get("/account/two-step").get_data(as_text=True)
    totp = pyotp.TOTP(SECRET_SHOWN.search(page).group(1).replace(" ", ""))
    response = staff.post("/account/two-step", {"code": totp.now()})
    assert response.status_code == 201, response.get_data(as_text=True)
    return totp, RECOVERY.findall(response.get_data(as_text=True))


def code_step(staff, code: str):
    """Post the second step's form."""
    return staff.client.post("/login/code", data={"csrf_token": staff.csrf(), "code": code})


def csrf_from(staff, path: str) -> str:
    """The CSRF token of a page."""
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                     staff.get(path).get_data(as_text=True)).group(1)


def sign_in_with_code(browser, user, code: str):
    """Both steps; returns the browser and the code step's answer."""
    staff = browser()
    first = staff.login(user.email)
    assert first.status_code == 302 and first.headers["Location"] == "/login/code"
    response = staff.client.post("/login/code", data={"csrf_token": csrf_from(staff, "/login/code"), "code": code})
    return staff, response


def next_step_code(totp: pyotp.TOTP) -> str:
    """The code of the time step after the current one: accepted (clocks drift), and newer than the code that
    confirmed enrolment, which may not be used again."""
    return totp.at(datetime.now(UTC).timestamp() + 30)


@pytest.mark.parametrize("role", REQUIRED_ROLES)
def test_required_roles_are_sent_to_enrolment_and_can_do_nothing_else(factory, browser, role):
    """Right after the password step, every page but enrolment leads back to it."""
    user = factory.user(role)
    staff = browser()

    response = staff.login(user.email)
    home = staff.get("/")
    elsewhere = [staff.get(path) for path in ("/referrals", "/admin/users", "/account", "/notifications")]

    assert response.status_code == 302
    assert home.headers["Location"] == "/account/two-step"
    assert all(r.status_code == 302 and r.headers["Location"] == "/account/two-step" for r in elsewhere)
    assert staff.get("/account/two-step").status_code == 200


def test_enrolment_end_to_end_then_sign_in_with_a_code(factory, browser, sql):
    """Scan (read the key), confirm with pyotp's code, get ten codes; next sign-in asks for a code and accepts it."""
    user = factory.user(Role.coordinator)
    staff = browser()
    staff.login(user.email)

    totp, codes = enrol(staff)
    again, response = sign_in_with_code(browser, user, next_step_code(totp))

    assert len(codes) == 10 and len(set(codes)) == 10
    assert staff.get("/referrals").status_code == 200
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert is_signed_in(again)
    [row] = sql("SELECT mfa_secret_enc, mfa_enabled_at FROM users WHERE email = :email", email=user.email)
    assert row["mfa_enabled_at"] is not None
    assert totp.secret not in row["mfa_secret_enc"]
    hashes = sql("SELECT code_hash FROM recovery_codes")
    assert len(hashes) == 10 and not any(code.replace("-", "") in h["code_hash"] for code in codes for h in hashes)


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_turned_on(factory, browser, sql):
    """The form says so; the account still has no second factor."""
    staff = browser()
    staff.login(factory.user(Role.admin).email)
    staff.get("/account/two-step")

    response = staff.post("/account/two-step", {"code": "000000"})

    assert response.status_code == 400
    assert "This code is not right" in response.get_data(as_text=True)
    assert [row["mfa_enabled_at"] for row in sql("SELECT mfa_enabled_at FROM users")] == [None]


def test_the_password_alone_does_not_sign_in_an_enrolled_account(factory, browser):
    """After the password step only the code page opens."""
    user = factory.user(Role.prosecutor)
    first = browser()
    first.login(user.email)
    enrol(first)
    staff = browser()

    staff.login(user.email)

    assert staff.get("/referrals").headers["Location"].startswith("/login")
    assert staff.get("/login/code").status_code == 200


def test_a_replayed_totp_code_is_refused(factory, browser):
    """A code that signed in once does not sign in again within its window."""
    user = factory.user(Role.admin)
    staff = browser()
    staff.login(user.email)
    totp, _codes = enrol(staff)
    code = next_step_code(totp)
    sign_in_with_code(browser, user, code)

    _again, replayed = sign_in_with_code(browser, user, code)

    assert replayed.status_code == 200
    assert "already used" in replayed.get_data(as_text=True)


def test_a_recovery_code_works_once(factory, browser, audit_actions):
    """A recovery code stands in for the app once; the second time it is refused."""
    user = factory.user(Role.coordinator)
    staff = browser()
    staff.login(user.email)
    _totp, codes = enrol(staff)

    first, used = sign_in_with_code(browser, user, codes[3])
    _second, reused = sign_in_with_code(browser, user, codes[3])
    _third, typed = sign_in_with_code(browser, user, codes[4].upper().replace("-", " "))

    assert used.status_code == 302 and is_signed_in(first)
    assert reused.status_code == 200 and "already used" in reused.get_data(as_text=True)
    assert typed.status_code == 302
    assert audit_actions().count("user.recovery_code_used") == 2


def test_facilitators_may_sign_in_without_a_second_factor_and_may_add_one(factory, browser):
    """Optional for facilitators: no detour after the password; enrolling turns the code step on."""
    user = factory.user(Role.facilitator)
    staff = browser()
    staff.login(user.email)

    assert staff.get("/referrals").status_code == 200
    totp, _codes = enrol(staff)
    later = browser()
    assert later.login(user.email).headers["Location"] == "/login/code"
    assert code_step(later, "123456").status_code == 200
    assert code_step(later, next_step_code(totp)).status_code == 302


def test_without_the_setting_nobody_is_asked_to_enrol(app, database_url, factory):
    """COORDINATOR_REQUIRE_MFA off (development, testing): a coordinator signs straight in."""
    from tests.conftest import make_app  # noqa: PLC0415 - a second app on the same database, this test only
    from tests.factories import Browser  # noqa: PLC0415

    user = factory.user(Role.coordinator)
    relaxed = make_app(database_url)
    staff = Browser(relaxed.test_client())

    assert staff.login(user.email, PASSWORD).status_code == 302
    assert staff.get("/referrals").status_code == 200
    relaxed.extensions["db_engine"].dispose()


def test_the_command_enrols_and_prints_the_secret_last(cli, factory, browser):
    """`users mfa-secret EMAIL`: the last line is the base32 secret, and its codes sign in; again replaces it."""
    user = factory.user(Role.prosecutor)

    first = cli("users", "mfa-secret", user.email)
    second = cli("users", "mfa-secret", user.email)
    secret = second.stdout.strip().splitlines()[-1]
    old = first.stdout.strip().splitlines()[-1]

    assert first.exit_code == second.exit_code == 0
    assert re.fullmatch(r"[A-Z2-7]{32}", secret) and secret != old
    _staff, wrong = sign_in_with_code(browser, user, pyotp.TOTP(old).now())
    staff, right = sign_in_with_code(browser, user, pyotp.TOTP(secret).now())
    assert wrong.status_code == 200
    assert right.status_code == 302 and is_signed_in(staff)
    assert cli("users", "mfa-secret", "nobody@staff.example").exit_code != 0


def test_admin_resets_a_second_factor(factory, browser, cli, audit_actions):
    """A lost phone: the admin resets it; the person's sessions end and they enrol again at the next sign-in."""
    user = factory.user(Role.coordinator)
    secret = cli("users", "mfa-secret", user.email).stdout.strip().splitlines()[-1]
    staff, _ = sign_in_with_code(browser, user, pyotp.TOTP(secret).now())
    admin_user = factory.user(Role.admin)
    admin_secret = cli("users", "mfa-secret", admin_user.email).stdout.strip().splitlines()[-1]
    admin, _ = sign_in_with_code(browser, admin_user, pyotp.TOTP(admin_secret).now())

    response = admin.post(f"/admin/users/{user.id}/second-factor/reset")
    again = browser()
    again.login(user.email)

    assert response.status_code == 302
    assert not is_signed_in(staff)
    assert again.get("/referrals").headers["Location"] == "/account/two-step"
    assert "user.mfa_reset" in audit_actions()


def test_code_step_expires_and_cannot_be_reached_without_the_password(factory, browser):
    """Without a right password just before, the code page sends the browser back to sign in."""
    assert browser().get("/login/code").headers["Location"] == "/login"
