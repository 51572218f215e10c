"""Every response carries the security headers; everything but static assets is never cached."""

from __future__ import annotations

import pytest

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def assert_secured(response, cacheable: bool = False) -> None:
    """The headers of OWASP ASVS V3 on one response."""
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    if cacheable:
        assert "no-store" not in response.headers.get("Cache-Control", "")
    else:
        assert response.headers.get("Cache-Control") == "no-store"


@pytest.fixture
def boom(app):
    """A route that fails, registered before the first request, to see the 500 page."""

    def explode():
        raise RuntimeError("internal detail 7f3a")

    app.add_url_rule("/boom-for-tests", "boom", explode)
    app.add_url_rule("/api/v1/boom-for-tests", "api_boom", explode)
    return app


def urls_for_every_get_route(app, values: dict[str, str]) -> list[str]:
    """One URL per GET route of the app, with its variables filled from `values`."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        urls.append(rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1])
    return urls


def test_every_page_and_endpoint_for_every_role(boom, factory, browser, api):
    """Each GET route answers with the headers, signed out and as each role, errors included."""
    app = boom
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator)
    keeper = factory.user("facilitator")
    values = {"referral_id": str(referral.id), "filename": "css/app.css", "docket_number": "T-00001",
              "scope": "participation", "token": "no-such-token", "user_id": str(keeper.id),
              "facilitator_id": str(keeper.id), "venue_id": "00000000-0000-4000-8000-000000000000",
              "session_id": "00000000-0000-4000-8000-000000000001", "party": "survivor", "fmt": "json",
              "case_id": str(referral.case_id)}
    urls = urls_for_every_get_route(app, values)
    assert len(urls) >= 8
    seen_statuses = set()
    for role in (None, "admin", "coordinator", "facilitator", "prosecutor"):
        user = factory.user(role) if role else None
        client = browser(user)
        for url in urls:
            response = client.get(url)
            seen_statuses.add(response.status_code)
            assert_secured(response)
        if user is not None:
            api_client = api(user)
            for url in [u for u in urls if u.startswith("/api/")]:
                response = api_client.get(url)
                seen_statuses.add(response.status_code)
                assert_secured(response)
    assert {200, 302, 403, 404, 500} <= seen_statuses


def test_error_pages_and_envelopes_are_secured(boom, browser):
    """404, 405, 500 pages and API errors carry the headers too."""
    client = browser()
    for url, method in (("/no-such-page", "get"), ("/login", "delete"), ("/boom-for-tests", "get"),
                        ("/api/v1/referrals", "get"), ("/api/v1/no-such-endpoint", "get"),
                        ("/api/v1/boom-for-tests", "get")):
        response = getattr(client.client, method)(url)
        assert response.status_code >= 400
        assert_secured(response)


def test_a_500_is_an_envelope_on_the_api_and_a_page_elsewhere(boom, browser, api, factory):
    """Unexpected failures say nothing of the cause."""
    page = browser().get("/boom-for-tests")
    assert page.status_code == 500 and "internal detail 7f3a" not in page.get_data(as_text=True)
    envelope = api(factory.user("coordinator")).get("/api/v1/boom-for-tests")
    assert envelope.status_code == 500
    assert envelope.get_json()["error"]["code"] == "internal_error"
    assert "internal detail 7f3a" not in envelope.get_data(as_text=True)


def test_static_assets_may_be_cached_but_keep_the_other_headers(browser):
    """The stylesheet is served by the app itself, with every header but no-store."""
    response = browser().get("/static/css/app.css")
    assert response.status_code == 200
    assert_secured(response, cacheable=True)


def test_pages_load_nothing_from_elsewhere(factory, browser):
    """No external CDN: every stylesheet, script and image comes from this app."""
    body = browser(factory.user("coordinator")).get("/referrals").get_data(as_text=True)
    assert "http://" not in body.replace("http://localhost", "") and "https://" not in body
    assert "<script>" not in body and "style=" not in body
