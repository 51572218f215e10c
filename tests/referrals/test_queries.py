"""Lists cost the same number of SQL statements whatever the page size (no N+1)."""

from __future__ import annotations

from coordinator.referrals.schemas import ListQuery
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


def _round_trips(statements: list[str]) -> list[str]:
    """The statements a request sends, without SQLite's BEGIN and the audit append (the audit domain's own cost)."""
    return [s for s in statements if not s.startswith("BEGIN") and "audit_" not in s]


def test_one_referral_over_the_api_costs_a_handful_of_statements(factory, api):
    """GET /api/v1/referrals/{id}: the token with its owner, the service clock (never in production), the referral
    with its case, its parties and its data key in one statement. Issue 15 measured 8 before, 11 with the audit."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    referral = factory.referral(by=coordinator, prosecutor=prosecutor)
    for user, budget in ((coordinator, 3), (prosecutor, 3)):
        client = api(user)
        assert client.get(f"/api/v1/referrals/{referral.id}").status_code == 200  # the token's first use is noted
        with counted_statements(client.client.application) as statements:
            answer = client.get(f"/api/v1/referrals/{referral.id}")
        assert answer.status_code == 200 and answer.get_json()["id"] == str(referral.id)
        assert len(_round_trips(statements)) <= budget, _round_trips(statements)


def test_a_list_page_over_the_api_costs_a_handful_of_statements(factory, api):
    """GET /api/v1/referrals: token with owner, clock, the kept total, the page's lines (keys, case and survivor
    joined), their data keys. Six before the lines were read as columns (the parties had a statement of their own)."""
    coordinator = factory.user("coordinator")
    pair = factory.user("facilitator"), factory.user("facilitator")
    for _number in range(3):
        factory.referral(by=coordinator, facilitators=pair)
    client = api(coordinator)
    assert client.get("/api/v1/referrals").status_code == 200
    with counted_statements(client.client.application) as statements:
        answer = client.get("/api/v1/referrals")
    assert len(answer.get_json()["items"]) == 3
    assert len(_round_trips(statements)) <= 5, _round_trips(statements)


def test_a_query_string_model_builds_its_schema_once_and_the_document_still_describes_it(app):
    """flask-openapi3 asks a query model for its JSON schema on every request: it is built once (the same object
    comes back), and the OpenAPI document, built with its own arguments, still lists every query parameter."""
    assert ListQuery.model_json_schema() is ListQuery.model_json_schema()
    assert set(ListQuery.model_json_schema()["properties"]) == {"status", "q", "page", "per_page"}
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    listed = {parameter["name"] for parameter in document["paths"]["/api/v1/referrals"]["get"]["parameters"]}
    assert listed == {"status", "q", "page", "per_page"}
