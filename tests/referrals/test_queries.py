"""Lists cost the same number of SQL statements whatever the page size (no N+1)."""

from __future__ import annotations

from tests.queries import counted_statements


def test_statements_per_list_request_do_not_grow_with_page_size(factory, browser, api):
    """5 or 50 referrals per page, each with two facilitators and a prosecutor: same statement count."""
    coordinator = factory.user("coordinator")
    prosecutor = factory.user("prosecutor")
    pairs = [(factory.user("facilitator"), factory.user("facilitator")) for _ in range(5)]
    for number in range(50):
        factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=pairs[number % 5],
                         caseload_override="ten each: over the cap on purpose")
    staff, client = browser(coordinator), api(coordinator)
    app = client.client.application

    # Warm up: the first request of a session or token records its first use.
    assert staff.get("/referrals").status_code == 200 and client.get("/api/v1/referrals").status_code == 200
    costs = {}
    for size in (5, 50):
        app.config["PER_PAGE"] = size
        with counted_statements(app) as page_statements:
            page = staff.get("/referrals")
        assert page.status_code == 200 and page.get_data(as_text=True).count("/referrals/") >= size
        with counted_statements(app) as api_statements:
            listed = client.get(f"/api/v1/referrals?per_page={size}")
        assert len(listed.get_json()["items"]) == size
        costs[size] = (len(page_statements), len(api_statements))
    assert costs[5] == costs[50], costs
