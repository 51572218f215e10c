"""Plain helpers for the staff-accounts tests."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

SECRET = re.compile(r'<code class="secret">([^<]+)</code>')
REVOKE_ACTION = re.compile(r'action="(/account/tokens/[^"]+/revoke)"')


def secret_on(response) -> str:
    """The one-time secret (a new password or API token) a page shows."""
    return SECRET.search(response.get_data(as_text=True)).group(1)


def is_signed_in(browser) -> bool:
    """True when the browser's cookie still opens the account page."""
    response = browser.get("/account")
    assert response.status_code == 200 or redirects_to_login(response), response.status_code
    return response.status_code == 200


def redirects_to_login(response) -> bool:
    """True for a redirect to the sign-in page."""
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def later(minutes: float = 0, hours: float = 0) -> timedelta:
    """A readable offset for `clock_at`."""
    return timedelta(minutes=minutes, hours=hours)
