"""Rate-limit keys hold no secret (issue 15, item 7): link attempts and feeds are counted by address and route, the
API by a hash of the Authorization header or by address; and unauthenticated API requests are throttled (issue 12,
item 9)."""

from __future__ import annotations

import secrets

import pytest
import redis

from tests.conftest import make_app
from tests.portal.helpers import Case, Phone, link_for
from tests.test_health import redis_server  # noqa: F401  (a fixture)


def test_rate_limit_keys_in_redis_never_hold_a_link_token_a_feed_token_or_a_bearer_token(
        database_url, redis_server, factory):  # noqa: F811
    """Open a real link (GET and continue), poll a feed, call the API: no key name holds any of the secrets."""
    url, _process = redis_server
    app = make_app(database_url, REDIS_URL=url)
    try:
        factory.app = app
        coordinator = factory.user("coordinator")
        referral = factory.referral(by=coordinator, status="screening")
        path = link_for(app, Case(referral, coordinator, ()))
        phone = Phone(app.test_client())
        assert phone.open(path).status_code == 200
        assert phone.continue_link(path).status_code == 302
        feed_token = secrets.token_urlsafe(32)
        assert app.test_client().get(f"/calendar/feed/{feed_token}.ics").status_code == 404
        token = factory.token(coordinator)
        assert app.test_client().get("/api/v1/referrals", headers={"Authorization": f"Bearer {token}"}).status_code \
            == 200
        keys = [key.decode() for key in redis.Redis.from_url(url).keys("*")]
        assert any("portal.interstitial" in key for key in keys) and any("portal.continue_" in key for key in keys)
        assert any("calendar.feed" in key for key in keys)
        for secret in (path.removeprefix("/p/"), feed_token, token):
            assert not [key for key in keys if secret in key], secret
    finally:
        app.extensions["db_engine"].dispose()


def test_unauthenticated_api_requests_are_throttled_per_address(app, api, factory):
    """650 random bearer tokens used to get 650 lookups and 401s; now the 31st failure in a minute is a 429 in the
    envelope, before any token is looked up. Another address is not affected; valid tokens never count."""
    coordinator = factory.user("coordinator")
    good = api(coordinator)
    for _round in range(40):
        assert good.get("/api/v1/referrals").status_code == 200  # authenticated calls do not count
    client = app.test_client()
    statuses = []
    for index in range(40):
        path = ("/api/v1/referrals", "/api/v1/venues", "/api/v1/risk/instrument")[index % 3]
        response = client.get(path, headers={"Authorization": f"Bearer ck_{secrets.token_urlsafe(32)}"})
        statuses.append(response.status_code)
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    assert response.get_json()["error"]["code"] == "rate_limited"
    # The 429 says when to come back (the minute's window) without reading the counters on every answer.
    assert response.headers["Retry-After"] == "60"
    ordinary = good.get("/api/v1/referrals").headers
    assert not [name for name, _value in ordinary.items() if name.startswith("X-RateLimit")]
    other = client.get("/api/v1/referrals", headers={"Authorization": "Bearer nope"},
                       environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 401


def test_a_token_has_one_budget_across_the_api(app, api, factory):
    """API_RATE_LIMIT counts a token's requests wherever they go: spread over three routes, the fourth request of a
    three-a-minute budget is 429 in the envelope; another token keeps its own budget."""
    app.config["API_RATE_LIMIT"] = "3 per minute"
    client = api(factory.user("coordinator"))
    paths = ("/api/v1/referrals", "/api/v1/venues", "/api/v1/risk/instrument", "/api/v1/referrals")
    answers = [client.get(path) for path in paths]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].get_json()["error"]["code"] == "rate_limited"
    assert api(factory.user("coordinator")).get("/api/v1/venues").status_code == 200


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer "])
def test_requests_without_a_bearer_token_count_as_unauthenticated(app, header):
    """No header, another scheme, an empty token: each a 401 that counts."""
    client = app.test_client()
    headers = {"Authorization": header} if header else {}
    statuses = [client.get("/api/v1/referrals", headers=headers).status_code for _ in range(31)]
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
