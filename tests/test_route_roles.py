"""Every route, every method, every role (issue 12): the outcome each role gets, declared once in TABLE.

Roles: anonymous, admin, coordinator, the referral's facilitator and another facilitator, the case's prosecutor and
another prosecutor, the referral's survivor in a portal session and another referral's party in one. Real records
(tests/route_roles_world.py). A route added without a line in TABLE fails the test.

Codes, in ROLES order: `o` served (any answer but a refusal of access: 2xx, 3xx elsewhere than the sign-in, 400,
409), `l` sign in first (401, or a redirect to the sign-in page), `f` 403 (the role may never), `n` 404 (outside
the caller's scope, indistinguishable from missing: docs/design.md rule 6).
"""

from __future__ import annotations

import os

from tests.factories import PASSWORD, Browser
from tests.route_roles_world import CSRF, ROLES, STAFF, api_body, build_world, party_client, path_for

TABLE: dict[str, str] = {
    #                                                                         anon adm coo fac ofa pro opr par opa
    "DELETE /api/v1/facilitators/<facilitator_id>/conflicts/<conflict_id>": "l o o o n f f l l",
    "DELETE /api/v1/hearings/<hearing_id>": "l n o f n o n l l",
    "DELETE /api/v1/links/<link_id>": "l n o o n f n l l",
    "DELETE /api/v1/referrals/<referral_id>/legal-hold": "l n o f n f n l l",
    "DELETE /api/v1/unavailability/<unavailability_id>": "l f o o n f f l l",
    "GET /": "l o o o o o o l l",
    "GET /account": "l o o o o o o l l",
    "GET /account/first-password": "l o o o o o o l l",
    "GET /account/two-step": "l o o o o o o l l",
    "GET /admin/users": "l o f f f f f l l",
    "GET /admin/users/<user_id>": "l o f f f f f l l",
    "GET /admin/users/new": "l o f f f f f l l",
    "GET /api/v1/cases": "l f o f f f f l l",
    "GET /api/v1/cases/<case_id>": "l f o f f f f l l",
    "GET /api/v1/facilitators": "l o o f f f f l l",
    "GET /api/v1/facilitators/<facilitator_id>": "l o o o n f f l l",
    "GET /api/v1/facilitators/<facilitator_id>/availability": "l o o o n f f l l",
    "GET /api/v1/facilitators/<facilitator_id>/conflicts": "l o o o n f f l l",
    "GET /api/v1/openapi.json": "o o o o o o o o o",
    "GET /api/v1/prosecution/cases/<docket_number>": "l f f f f o n l l",
    "GET /api/v1/referrals": "l f o o o o o l l",
    "GET /api/v1/referrals/<referral_id>": "l n o o n o n l l",
    "GET /api/v1/referrals/<referral_id>/agreement": "l n o o n n n l l",
    "GET /api/v1/referrals/<referral_id>/consent": "l n o o n o n l l",
    "GET /api/v1/referrals/<referral_id>/facilitator-suggestions": "l f o f f f f l l",
    "GET /api/v1/referrals/<referral_id>/hearings": "l n o o n o n l l",
    "GET /api/v1/referrals/<referral_id>/parties/<party>/export": "l n o f n f n l l",
    "GET /api/v1/referrals/<referral_id>/readiness": "l n o o n f n l l",
    "GET /api/v1/referrals/<referral_id>/retention": "l n o f n f n l l",
    "GET /api/v1/referrals/<referral_id>/risk-assessments": "l n o o n f n l l",
    "GET /api/v1/referrals/<referral_id>/sessions": "l n o o n f n l l",
    "GET /api/v1/referrals/<referral_id>/slots": "l n o o n f n l l",
    "GET /api/v1/referrals/<referral_id>/unavailability": "l f o o n f f l l",
    "GET /api/v1/retention/upcoming": "l f o f f f f l l",
    "GET /api/v1/risk/instrument": "l o o o o o o l l",
    "GET /api/v1/sessions/<session_id>": "l f o o n f f l l",
    "GET /api/v1/sessions/<session_id>/ics": "l f o o n f f l l",
    "GET /api/v1/tasks": "l f o o o f f l l",
    "GET /api/v1/venues": "l o o o o f f l l",
    "GET /api/v1/venues/<venue_id>": "l o o o o f f l l",
    "GET /audit": "l f o f f f f l l",
    "GET /audit/export.csv": "l f o f f f f l l",
    "GET /calendar/feed": "l f f o o f f l l",
    "GET /calendar/feed/<token>.ics": "o o o o o o o o o",  # the token is the key
    "GET /calendar/week": "l f o o o f f l l",
    "GET /cases": "l f o f f f f l l",
    "GET /cases/<case_id>": "l f o f f f f l l",
    "GET /healthz": "o o o o o o o o o",
    "GET /languages": "l o o f f f f l l",
    "GET /login": "o o o o o o o o o",
    "GET /login/code": "l l l l l l l l l",
    "GET /notifications": "l o o o o o o l l",
    "GET /notifications/outbox": "l f o f f f f l l",
    "GET /on-call": "l o o f f f f l l",
    "GET /p/": "o o o o o o o o o",
    "GET /p/<token>": "o o o o o o o o o",  # opening a link changes nothing
    "GET /password/forgot": "o o o o o o o o o",
    "GET /password/reset": "n n n n n n n n n",
    "GET /password/reset/<token>": "n n n n n n n n n",
    "GET /portal": "l l l l l l l o o",
    "GET /portal/consent/<scope>": "l l l l l l l o o",
    "GET /portal/exit": "o o o o o o o o o",
    "GET /portal/pin": "l l l l l l l o o",
    "GET /portal/sessions/<session_id>": "l l l l l l l o n",
    "GET /portal/sessions/<session_id>/calendar.ics": "l l l l l l l o n",
    "GET /portal/unsafe": "l l l l l l l o o",
    "GET /prosecution": "l f f f f o o l l",
    "GET /prosecution/cases/<docket_number>": "l f f f f o n l l",
    "GET /readyz": "o o o o o o o o o",
    "GET /referrals": "l f o o o o o l l",
    "GET /referrals/<referral_id>": "l n o o n o n l l",
    "GET /referrals/<referral_id>/agreement": "l f o o n f f l l",
    "GET /referrals/<referral_id>/court-report": "l n n n n n n l l",  # no report prepared: 404
    "GET /referrals/<referral_id>/court-report.pdf": "l n n n n n n l l",
    "GET /referrals/<referral_id>/parties/<party>/export.<fmt>": "l f o f f f f l l",
    "GET /referrals/<referral_id>/safety": "l f o o n f f l l",
    "GET /referrals/<referral_id>/safety/assess": "l f o o n f f l l",
    "GET /referrals/<referral_id>/sessions/new": "l f o o n f f l l",
    "GET /referrals/<referral_id>/unavailability": "l f o o n f f l l",
    "GET /referrals/new": "l f o f f o o l l",
    "GET /retention": "l f o f f f f l l",
    "GET /roster": "l o o f f f f l l",
    "GET /roster/<user_id>": "l o o o n f f l l",
    "GET /roster/new": "l o o f f f f l l",
    "GET /sessions/<session_id>.ics": "l f o o n f f l l",
    "GET /static/<path:filename>": "o o o o o o o o o",
    "GET /statistics": "l f o f f f f l l",
    "GET /statistics/export.csv": "l f o f f f f l l",
    "GET /tasks": "l f o o o f f l l",
    "GET /venues": "l o o f f f f l l",
    "GET /venues/<venue_id>": "l o o f f f f l l",
    "GET /venues/new": "l o o f f f f l l",
    "POST /account/first-password": "l o o o o o o l l",
    "POST /account/password": "l o o o o o o l l",
    "POST /account/tokens": "l o o o o o o l l",
    "POST /account/tokens/<token_id>/revoke": "l o o n n n n l l",
    "POST /account/two-step": "l o o o o o o l l",
    "POST /account/two-step/recovery-codes": "l o o o o o o l l",
    "POST /admin/users/<user_id>": "l o f f f f f l l",
    "POST /admin/users/<user_id>/deactivate": "l o f f f f f l l",
    "POST /admin/users/<user_id>/reactivate": "l o f f f f f l l",
    "POST /admin/users/<user_id>/reset-link": "l o f f f f f l l",
    "POST /admin/users/<user_id>/second-factor/reset": "l o f f f f f l l",
    "POST /admin/users/<user_id>/temporary-password": "l o f f f f f l l",
    "POST /admin/users/new": "l o f f f f f l l",
    "POST /agreement-items/<item_id>/progress": "l f o o n f f l l",
    "POST /agreements/<agreement_id>/acceptances": "l f o o n f f l l",
    "POST /agreements/<agreement_id>/not-completed": "l f o f f f f l l",
    "POST /api/v1/agreement-items/<item_id>/progress": "l n o o n n n l l",
    "POST /api/v1/agreements/<agreement_id>/acceptances": "l n o o n n n l l",
    "POST /api/v1/agreements/<agreement_id>/not-completed": "l n o f n n n l l",
    "POST /api/v1/cases": "l f o f f f f l l",
    "POST /api/v1/cases/<case_id>/link": "l f o f f f f l l",
    "POST /api/v1/facilitators": "l o o f f f f l l",
    "POST /api/v1/facilitators/<facilitator_id>/conflicts": "l o o o n f f l l",
    "POST /api/v1/referrals": "l f o f f o o l l",
    "POST /api/v1/referrals/<referral_id>/acknowledgement": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/agreement": "l n o o n n n l l",
    "POST /api/v1/referrals/<referral_id>/consent": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/erasure": "l n o f n f n l l",
    "POST /api/v1/referrals/<referral_id>/hearings": "l n o f n o n l l",
    "POST /api/v1/referrals/<referral_id>/links": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/protective-orders": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/risk-assessments": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/safety-incidents": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/sessions": "l n o o n f n l l",
    "POST /api/v1/referrals/<referral_id>/transitions": "l n o o n o n l l",
    "POST /api/v1/referrals/<referral_id>/unavailability": "l f o o n f f l l",
    "POST /api/v1/risk-assessments/<assessment_id>/approve": "l n o f n f n l l",
    "POST /api/v1/risk-assessments/<assessment_id>/mitigation": "l n o o n f n l l",
    "POST /api/v1/sessions/<session_id>/cancel": "l n o o n f n l l",
    "POST /api/v1/sessions/<session_id>/held": "l n o o n f n l l",
    "POST /api/v1/sessions/<session_id>/reschedule": "l n o o n f n l l",
    "POST /api/v1/tasks/<task_id>/dismiss": "l f o o n f f l l",
    "POST /api/v1/tasks/<task_id>/done": "l f o o n f f l l",
    "POST /api/v1/venues": "l o o f f f f l l",
    "POST /calendar/feed": "l f f o o f f l l",
    "POST /calendar/feed/revoke": "l f f o o f f l l",
    "POST /cases/<case_id>/link": "l f o f f f f l l",
    "POST /cases/<case_id>/prosecutor": "l f o f f f f l l",
    "POST /language": "o o o o o o o o o",
    "POST /links/<link_id>/revoke": "l f o o n f f l l",
    "POST /login": "o o o o o o o o o",
    "POST /login/code": "l l l l l l l l l",
    "POST /logout": "l l l l l l l l l",  # signing out ends at the sign-in page
    "POST /notifications/<notice_id>/open": "l n o n n n n l l",
    "POST /notifications/outbox/<message_id>/discard": "l f o f f f f l l",
    "POST /notifications/outbox/<message_id>/retry": "l f o f f f f l l",
    "POST /notifications/read": "l o o o o o o l l",
    "POST /on-call": "l o o f f f f l l",
    "POST /p/<token>": "o o o o o o o o o",  # whoever holds the link
    "POST /password/forgot": "o o o o o o o o o",
    "POST /password/reset": "n n n n n n n n n",
    "POST /portal/agreement/accept": "l l l l l l l o o",
    "POST /portal/consent/<scope>": "l l l l l l l o o",
    "POST /portal/language": "l l l l l l l o o",
    "POST /portal/pin": "l l l l l l l o o",
    "POST /portal/sessions/<session_id>/<answer>": "l l l l l l l o n",  # another party's appointment is not found
    "POST /portal/unsafe": "l l l l l l l o o",
    "POST /referrals/<referral_id>/acknowledgement": "l f o o n f f l l",
    "POST /referrals/<referral_id>/agreement": "l f o o n f f l l",
    "POST /referrals/<referral_id>/case-stage": "l f o f f f f l l",
    "POST /referrals/<referral_id>/consent": "l f o o n f f l l",
    "POST /referrals/<referral_id>/erasure": "l f o f f f f l l",
    "POST /referrals/<referral_id>/facilitators": "l f o f f f f l l",
    "POST /referrals/<referral_id>/hearings": "l f o f f f f l l",
    "POST /referrals/<referral_id>/hearings/<hearing_id>/remove": "l f o f f f f l l",
    "POST /referrals/<referral_id>/legal-hold": "l f o f f f f l l",
    "POST /referrals/<referral_id>/legal-hold/lift": "l f o f f f f l l",
    "POST /referrals/<referral_id>/links": "l f o o n f f l l",
    "POST /referrals/<referral_id>/parties/<role>/interpreter": "l f o o n f f l l",
    "POST /referrals/<referral_id>/protective-orders": "l f o o n f f l l",
    "POST /referrals/<referral_id>/safety-incidents": "l f o o n f f l l",
    "POST /referrals/<referral_id>/safety/assess": "l f o o n f f l l",
    "POST /referrals/<referral_id>/sessions": "l f o o n f f l l",
    "POST /referrals/<referral_id>/transitions": "l f o o n f f l l",
    "POST /referrals/<referral_id>/unavailability": "l f o o n f f l l",
    "POST /referrals/new": "l f o f f o o l l",
    "POST /risk-assessments/<assessment_id>/approve": "l f o f f f f l l",
    "POST /risk-assessments/<assessment_id>/mitigation": "l f o o n f f l l",
    "POST /roster/<user_id>/availability": "l o o o n f f l l",
    "POST /roster/<user_id>/conflicts": "l o o o n f f l l",
    "POST /roster/<user_id>/conflicts/<conflict_id>/remove": "l o o o n f f l l",
    "POST /roster/<user_id>/exceptions": "l o o o n f f l l",
    "POST /roster/<user_id>/exceptions/<day>/remove": "l o o o n f f l l",
    "POST /roster/<user_id>/profile": "l o o f f f f l l",
    "POST /roster/new": "l o o f f f f l l",
    "POST /sessions/<session_id>/cancel": "l f o o n f f l l",
    "POST /sessions/<session_id>/held": "l f o o n f f l l",
    "POST /sessions/<session_id>/reschedule": "l f o o n f f l l",
    "POST /statistics/refresh": "l f o f f f f l l",
    "POST /tasks/<task_id>/dismiss": "l f o o n f f l l",
    "POST /tasks/<task_id>/done": "l f o o n f f l l",
    "POST /unavailability/<entry_id>/remove": "l f o o n f f l l",
    "POST /venues/<venue_id>": "l o o f f f f l l",
    "POST /venues/<venue_id>/active": "l o o f f f f l l",
    "POST /venues/new": "l o o f f f f l l",
    "PUT /api/v1/cases/<case_id>/prosecutor": "l f o f f f f l l",
    "PUT /api/v1/facilitators/<facilitator_id>": "l o o f f f f l l",
    "PUT /api/v1/facilitators/<facilitator_id>/availability": "l o o o n f f l l",
    "PUT /api/v1/referrals/<referral_id>/case-stage": "l n o f n o n l l",
    "PUT /api/v1/referrals/<referral_id>/facilitators": "l n o f n f n l l",
    "PUT /api/v1/referrals/<referral_id>/legal-hold": "l n o f n f n l l",
    "PUT /api/v1/venues/<venue_id>": "l o o f f f f l l",
}


def outcome(response) -> str:
    """The code of a response (see the module's docstring)."""
    status = response.status_code
    assert status < 500 and status != 405, (status, response.get_data(as_text=True)[:300])
    if status == 401 or (status in (301, 302, 303) and "/login" in response.headers.get("Location", "")):
        return "l"
    return {403: "f", 404: "n"}.get(status, "o")


def routes(app) -> list[tuple[str, object, str]]:
    """(`METHOD rule`, the rule, its method) for every rule of the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((f"{method} {rule.rule}", rule, method))
    # "I feel unsafe" pauses the party's referral, on which the session routes book: it is asked last.
    return sorted(found, key=lambda item: (item[0] == "POST /portal/unsafe", item[0]))


def ask(world, role: str, rule, method: str) -> str:
    """One role's answer from one route."""
    endpoint = rule.endpoint
    path = path_for(world, rule, endpoint)
    api = path.startswith("/api/v1/")
    if role in ("party", "other_party"):
        client, token = party_client(world, world.booking_referral if role == "party" else world.other_referral)
        csrf = {"csrf_token": token}
    elif role == "anonymous" or endpoint in ("auth.logout", "portal.continue_"):
        client = world.app.test_client()
        if role != "anonymous" and endpoint == "auth.logout":
            throwaway = Browser(client)
            throwaway.login(world.users[role].email, PASSWORD)
            csrf = {"csrf_token": throwaway.csrf()}
        else:
            csrf = {"csrf_token": _token(client.get("/login"))}
    else:
        browser = world.clients[role]
        client, csrf = browser.client, {"csrf_token": browser.csrf()} if method != "GET" else {}
    if api:
        headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role in STAFF else {}
        body = api_body(world, endpoint)
        return outcome(client.open(path, method=method, headers=headers,
                                   **({"json": body} if body is not None else {})))
    data = csrf if method != "GET" else None
    return outcome(client.open(path, method=method, data=data))


def _token(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def test_every_route_answers_every_role_as_declared(app, factory):
    """The declared outcome for each (route, method) and role; and no route without a declaration."""
    world = build_world(app, factory)
    observed, mismatches = {}, []
    for key, rule, method in routes(app):
        codes = " ".join(ask(world, role, rule, method) for role in ROLES)
        observed[key] = codes
        if TABLE.get(key) != codes:
            mismatches.append(f'    "{key}": "{codes}",  # declared {TABLE.get(key)!r}')
    if os.environ.get("ROUTE_ROLES_REPORT"):
        print("\n".join(f'    "{key}": "{codes}",' for key, codes in observed.items()))  # noqa: T201
    assert not mismatches, "undeclared or different outcomes:\n" + "\n".join(mismatches)
    assert set(TABLE) == set(observed), "declared routes that no longer exist: " + str(set(TABLE) - set(observed))
