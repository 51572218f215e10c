"""Sign-in throttling: growing delays per (account, address), per account and per address, that never lock a person
out (coordinator/accounts/throttling.py); and the flood limit per address on every sign-in post."""

from __future__ import annotations

from datetime import timedelta

from coordinator.accounts import signin
from coordinator.accounts.models import Role
from coordinator.accounts.throttling import ACCOUNT, ADDRESS, PAIR
from coordinator.db import db
from tests.accounts.helpers import is_signed_in
from tests.factories import Browser

POSTS_ALLOWED = 20  # LOGIN_RATE_LIMIT, "20 per minute"


def from_address(app, address: str) -> Browser:
    """A signed-out browser whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def sign_out(staff: Browser) -> None:
    """Post the logout form."""
    assert staff.post("/logout").status_code == 302
    staff.signed_in = False


def test_the_policies_grow_and_are_capped():
    """Free failures, then a delay that doubles per failure up to its cap; the pair is the strictest."""
    assert [PAIR.delay(n).total_seconds() for n in range(4, 11)] == [0, 30, 60, 120, 240, 480, 900]
    assert PAIR.delay(1000) == timedelta(minutes=15)
    assert ACCOUNT.delay(10_000) == timedelta(minutes=5)
    assert PAIR.free < ACCOUNT.free < ADDRESS.free


def test_delays_grow_for_one_account_at_one_address(app, factory, clock_at):
    """Five failures are free; then a 30-second wait, then 60 seconds after the next failure: answered 429 with a
    neutral message, and the right password too must wait (the guesser cannot tell)."""
    user = factory.user(Role.coordinator)
    guesser = from_address(app, "192.0.2.10")

    free = [guesser.login(user.email, "wrong password").status_code for _ in range(PAIR.free)]
    first_wait = guesser.login(user.email, "wrong password")
    clock_at(timedelta(seconds=28))
    still_first = guesser.login(user.email).status_code
    clock_at(timedelta(seconds=32))
    sixth = guesser.login(user.email, "wrong password").status_code
    clock_at(timedelta(seconds=32 + 58))
    still_second = guesser.login(user.email).status_code
    clock_at(timedelta(seconds=32 + 62))
    right = guesser.login(user.email).status_code

    assert free == [200] * PAIR.free
    assert first_wait.status_code == 429 and int(first_wait.headers["Retry-After"]) >= 30
    assert "Too many attempts" in first_wait.get_data(as_text=True)
    assert (still_first, sixth, still_second, right) == (429, 200, 429, 302)


def test_an_attacker_elsewhere_cannot_stop_the_person_at_their_usual_address(app, factory):
    """After a success from home, failures from other addresses (over every limit) leave home unaffected."""
    user = factory.user(Role.coordinator)
    home = from_address(app, "203.0.113.5")
    assert home.login(user.email).status_code == 302
    sign_out(home)

    answers = [from_address(app, f"198.51.100.{n % 3}").login(user.email, "guess").status_code for n in range(30)]
    response = home.login(user.email)

    assert 429 in answers
    assert response.status_code == 302
    assert is_signed_in(home)


def test_the_wait_for_everyone_else_is_capped_never_a_lock(app, factory, clock_at):
    """From a new address, after many failures elsewhere, the right password works once the capped wait is over."""
    user = factory.user(Role.prosecutor)
    for n in range(40):
        from_address(app, f"198.51.100.{n}").login(user.email, "guess")
    newcomer = from_address(app, "203.0.113.77")

    waiting = newcomer.login(user.email)
    clock_at(ACCOUNT.cap + timedelta(seconds=1))
    response = newcomer.login(user.email)

    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) <= ACCOUNT.cap.total_seconds()
    assert response.status_code == 302


def test_failures_for_one_account_leave_other_accounts_alone(app, factory):
    """A colleague at the same address signs in while the first account waits."""
    target, colleague = factory.user(Role.coordinator), factory.user(Role.coordinator)
    office = from_address(app, "192.0.2.12")
    for _ in range(PAIR.free):
        office.login(target.email, "wrong password")

    waiting = office.login(target.email, "wrong password")
    response = office.login(colleague.email)

    assert waiting.status_code == 429
    assert response.status_code == 302


def test_spellings_of_an_address_share_one_counter(app, factory):
    """Capitals and spaces in the email do not give a guesser fresh attempts."""
    user = factory.user(Role.coordinator)
    guesser = from_address(app, "192.0.2.11")
    spellings = [user.email, user.email.upper(), f" {user.email}", f"{user.email} ", user.email.title()]

    answers = [guesser.login(email, "wrong password").status_code for email in spellings]

    assert answers == [200] * PAIR.free
    assert guesser.login(user.email.upper(), "wrong password").status_code == 429


def test_unknown_addresses_are_throttled_like_known_ones(app, factory):
    """The same answers for an account that does not exist: nothing to learn from the throttle."""
    user = factory.user(Role.coordinator)
    known, unknown = from_address(app, "192.0.2.40"), from_address(app, "192.0.2.41")

    known_answers = [known.login(user.email, "wrong").status_code for _ in range(PAIR.free + 1)]
    unknown_answers = [unknown.login("nobody@staff.example", "wrong").status_code for _ in range(PAIR.free + 1)]

    assert known_answers == unknown_answers == [200] * PAIR.free + [429]


def test_a_success_starts_the_pair_again(app, factory):
    """Four failures, a success, then five more failures are free again."""
    user = factory.user(Role.facilitator)
    staff = from_address(app, "192.0.2.13")
    for _ in range(PAIR.free - 1):
        staff.login(user.email, "wrong password")
    assert staff.login(user.email).status_code == 302
    sign_out(staff)

    answers = [staff.login(user.email, "wrong password").status_code for _ in range(PAIR.free)]

    assert answers == [200] * PAIR.free


def test_one_address_trying_many_accounts_is_slowed(in_app, factory):
    """Spraying one password over many accounts from one address meets the address's own delay."""
    users = [factory.user(Role.facilitator) for _ in range(3)]
    with in_app():
        outcomes = [signin.check_password(f"sprayed{n}@staff.example" if n % 4 else users[n % 3].email,
                                          "Summer2026!", "192.0.2.99").outcome for n in range(ADDRESS.free + 1)]
        db.session.commit()

    assert outcomes[:ADDRESS.free] == [signin.Outcome.refused] * ADDRESS.free
    assert outcomes[-1] == signin.Outcome.throttled


def test_the_wait_is_told_in_the_readers_language(app, factory):
    """The 429 page speaks Spanish to a Spanish browser."""
    user = factory.user(Role.coordinator)
    guesser = from_address(app, "192.0.2.50")
    guesser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    for _ in range(PAIR.free):
        guesser.login(user.email, "wrong password")

    response = guesser.login(user.email, "wrong password")

    assert response.status_code == 429
    assert "Too many attempts" not in response.get_data(as_text=True)


def test_repeated_posts_from_one_address_get_429(app, factory):
    """Any sign-in post counts per address (the flood limit); another address is not affected."""
    user = factory.user(Role.coordinator)
    sprayer = from_address(app, "198.51.100.7")

    answers = [sprayer.login(f"guess{number}@staff.example", "wrong password").status_code
               for number in range(POSTS_ALLOWED)]
    blocked = sprayer.login(user.email)
    elsewhere = from_address(app, "198.51.100.8")

    assert answers == [200] * POSTS_ALLOWED
    assert blocked.status_code == 429
    assert not is_signed_in(sprayer)
    assert elsewhere.login(user.email).status_code == 302


def test_guessing_the_current_password_on_the_account_page_is_limited(app, factory, browser):
    """A stolen session cannot guess the current password without limit; the right one is then refused too."""
    user = factory.user(Role.coordinator)
    staff = browser(user)
    guess = {"current_password": "not my password", "new_password": "a brand new passphrase"}

    answers = [staff.post("/account/password", guess).status_code for _ in range(5)]
    locked = staff.post("/account/password", {**guess, "current_password": "correct horse battery"})

    assert answers == [400] * 5
    assert locked.status_code == 429
    assert from_address(app, "192.0.2.30").login(user.email).status_code == 302  # the password did not change
