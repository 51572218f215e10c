"""The world the route-by-role test (tests/test_route_roles.py) asks every route about: one programme with a
record of every kind, a signed-in client per role, and the ids each route's parameters name.

Records a route could destroy (a hearing, a link, a declared conflict, an unavailable time, an API token, an
account) are made afresh for every request, so one role's allowed DELETE never turns the next role's answer into
a 404.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM, User
from coordinator.agreements.models import Agreement, AgreementItem
from coordinator.cases.service import add_hearing
from coordinator.db import db
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.notifications.service import notify_staff
from coordinator.portal.service import issue_link
from coordinator.referrals.models import Referral
from coordinator.roster.conflicts import declare_conflict
from coordinator.roster.venues import create_venue
from coordinator.safety.models import RiskAssessment
from coordinator.sessions.calendar import create_feed
from coordinator.sessions.unavailability import add_unavailability
from coordinator.tasks.models import Task, TaskKind
from coordinator.tasks.service import raise_task
from tests.factories import LOW_RISK, PASSWORD, Browser, book, referral_payload

ROLES = ("anonymous", "admin", "coordinator", "facilitator", "other_facilitator", "prosecutor", "other_prosecutor",
         "party", "other_party")
STAFF = ROLES[1:7]
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
_serial = itertools.count(1)


@dataclass
class World:
    """Who is who, the referral in every role's sight (or not), and the ids of its records."""

    app: object
    users: dict[str, User]
    referral: Referral
    other_referral: Referral
    booking_referral: Referral
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    clients: dict[str, object] = field(default_factory=dict)


def build_world(app, factory) -> World:
    """Coordinator, admin, two assigned and one unassigned facilitator, the case's prosecutor and another, a referral
    monitoring its agreement (sessions held, an assessment, items) and another referral for the other party."""
    app.config.update(LOGIN_RATE_LIMIT="10000 per minute", LINK_RATE_LIMIT="10000 per minute",
                      API_RATE_LIMIT="100000 per minute", API_UNAUTHENTICATED_RATE_LIMIT="100000 per minute",
                      CALENDAR_FEED_RATE_LIMIT="10000 per minute")
    users = {role: factory.user(kind) for role, kind in (
        ("admin", "admin"), ("coordinator", "coordinator"), ("facilitator", "facilitator"),
        ("co_facilitator", "facilitator"), ("other_facilitator", "facilitator"), ("prosecutor", "prosecutor"),
        ("other_prosecutor", "prosecutor"))}
    referral = factory.referral(by=users["coordinator"], prosecutor=users["prosecutor"], status="monitoring",
                                facilitators=[users["facilitator"], users["co_facilitator"]])
    other = factory.referral(by=users["coordinator"], prosecutor=users["other_prosecutor"], status="screening",
                             facilitators=[users["other_facilitator"], users["co_facilitator"]])
    # Sessions are booked on a referral no other route pauses or closes; its survivor is the portal's party.
    booking = factory.referral(by=users["coordinator"], prosecutor=users["prosecutor"], status="preparation",
                               facilitators=[users["facilitator"], users["co_facilitator"]])
    world = World(app, users, referral, other, booking)
    with app.app_context():
        coordinator = db.session.merge(users["coordinator"])
        venue = create_venue(coordinator, name="Hall", address="1 Test Street", timezone="UTC",
                             separate_waiting_rooms=True, capacity=8)
        _feed, feed_url = create_feed(db.session.merge(users["facilitator"]))
        notify_staff([coordinator], "referral_received", key="route-test", referral=db.session.get(Referral,
                                                                                                  referral.id))
        db.session.flush()
        world.ids.update({
            "referral_id": str(referral.id), "case_id": str(referral.case_id), "venue_id": str(venue.id),
            "assessment_id": _first(select(RiskAssessment.id).where(RiskAssessment.referral_id == referral.id)),
            "agreement_id": _first(select(Agreement.id).where(Agreement.referral_id == referral.id)),
            "item_id": _first(select(AgreementItem.id).join(Agreement, AgreementItem.agreement_id == Agreement.id)
                              .where(Agreement.referral_id == referral.id)),
            "notice_id": _first(select(StaffNotice.id).where(StaffNotice.user_id == users["coordinator"].id)),
            "message_id": _first(select(OutboxMessage.id)),
            "docket_number": referral.case.docket_number,
            "feed_token": feed_url.rsplit("/", 1)[-1].removesuffix(".ics"),
        })
        db.session.commit()
    for role in STAFF:
        browser = Browser(app.test_client())
        assert browser.login(users[role].email, PASSWORD).status_code == 302, role
        world.clients[role] = browser
        world.tokens[role] = factory.token(users[role])
    return world


def _first(statement) -> str:
    value = db.session.execute(statement.limit(1)).scalar_one()
    return str(value)


def fresh(world: World, name: str) -> str:
    """A new record of the kind a route may destroy, owned where the route looks for it."""
    app, users, referral = world.app, world.users, world.referral
    with app.app_context():
        coordinator = db.session.merge(users["coordinator"])
        held = db.session.get(Referral, referral.id)
        number = next(_serial)
        if name == "hearing_id":
            value = add_hearing(coordinator, held, "other", clock.today() + timedelta(days=30 + number)).id
        elif name == "link_id":
            value = issue_link(coordinator, held, "survivor", "handover")[0].id
        elif name == "conflict_id":
            value = declare_conflict(coordinator, db.session.merge(users["facilitator"]), f"ZZ-{number}").id
        elif name in ("unavailability_id", "entry_id"):
            start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=number)
            value = add_unavailability(coordinator, held, "survivor", start, start + timedelta(hours=2)).id
        elif name == "token_id":
            value = accounts.issue_token(SYSTEM, coordinator, "route test")[0].id
        elif name == "user_id":
            value = accounts.create_user(SYSTEM, email=f"spare{number}@staff.example", role="facilitator",
                                         name=f"Spare {number}", password=PASSWORD)[0].id
        elif name == "token":
            value = issue_link(coordinator, held, "survivor", "handover")[1].rsplit("/", 1)[-1]
        elif name == "task_id":  # an open task of the referral, for the done and dismiss routes to close
            raise_task(TaskKind.consent_withdrawn, source=f"route-test:{number}", referral_id=held.id)
            value = db.session.execute(select(Task.id).where(Task.source_key == f"route-test:{number}")).scalar_one()
        elif name == "session_id":  # an upcoming meeting the survivor is invited to, a day apart from the others
            value = book(coordinator, db.session.get(Referral, world.booking_referral.id), "pre_conference_survivor",
                         clock.now() + timedelta(days=3 + number)).id
        else:
            raise KeyError(name)
        db.session.commit()
        return str(value)


# Parameters every route shares; the roster's `user_id` is the assigned facilitator (their own profile), except on
# the admin's account pages, which get a spare account to act on.
FIXED = {"day": date(2030, 1, 1).isoformat(), "scope": "participation", "answer": "confirm", "party": "survivor",
         "role": "survivor", "fmt": "json",
         "filename": "css/app.css", "facilitator_id": None}
FRESH = ("hearing_id", "link_id", "conflict_id", "unavailability_id", "entry_id", "token_id", "token", "session_id",
         "task_id")
# Query strings a route needs before it looks at who asks (validation runs first).
QUERIES = {"sessions_api.slots": "?kind=pre_conference_survivor&format=video"}


def path_for(world: World, rule, endpoint: str) -> str:
    """The rule's URL with every parameter filled from the world."""
    values = {}
    for name in rule.arguments:
        if endpoint == "calendar.feed":
            values[name] = world.ids["feed_token"]
        elif name in FRESH:
            values[name] = fresh(world, name)
        elif name == "user_id":
            values[name] = fresh(world, name) if endpoint.startswith("admin.") else str(world.users["facilitator"].id)
        elif name == "facilitator_id":
            values[name] = str(world.users["facilitator"].id)
        elif name in FIXED:
            values[name] = FIXED[name]
        else:
            values[name] = world.ids[name]
    return rule.build(values, append_unknown=False)[1] + QUERIES.get(endpoint, "")


def party_client(world: World, referral: Referral):
    """A phone in a live portal session of the referral's survivor; returns the client and its CSRF token."""
    with world.app.app_context():
        coordinator = db.session.merge(world.users["coordinator"])
        url = issue_link(coordinator, db.session.get(Referral, referral.id), "survivor", "handover")[1]
        db.session.commit()
    path = url.removeprefix(world.app.config["COORDINATOR_BASE_URL"])
    client = world.app.test_client()
    token = CSRF.search(client.get(path).get_data(as_text=True)).group(1)
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    page = client.get("/portal")
    return client, CSRF.search(page.get_data(as_text=True)).group(1)


def api_body(world: World, endpoint: str) -> dict | None:
    """A request body of the right shape for each writing API route, so that a refusal comes from access, not from
    validation (which runs before the route). None: the route takes no body."""
    users, number = world.users, next(_serial)
    soon = datetime(2031, 6, 1, 10, tzinfo=UTC) + timedelta(days=number)
    return {
        "agreement_api.progress": {"note": "route test"},
        "tasks_api.mark_done": {"note": "route test"},
        "tasks_api.dismiss": {"reason": "route test"},
        "agreement_api.acceptances": {"party": "survivor", "method": "in_person"},
        "agreement_api.not_completed": {},
        "roster_api.create_facilitator": {"email": f"new{number}@staff.example", "name": "New", "languages": ["en"]},
        "roster_api.update_facilitator": {"max_active_referrals": 6},
        "roster_api.put_availability": {"weekly": []},
        "roster_api.declare_conflict": {"docket_number": f"YY-{number}"},
        "referrals_api.create_referral": referral_payload(),
        "referrals_api.acknowledge": {"basis": "plea", "reference": "route test"},
        "agreement_api.draft": {"items": [{"kind": "apology", "description": "route test"}]},
        "case_api.change_stage": {"stage": "sentencing"},
        "consent_api.post_consent": {"party": "survivor", "scope": "share_outcome_with_court", "decision": "granted",
                                     "method": "in_person", "information_version": "v1"},
        "referrals_api.assign_facilitators": {"lead": str(users["facilitator"].id),
                                              "co": str(users["co_facilitator"].id)},
        "case_api.add_hearing": {"kind": "other", "date": (date(2027, 1, 1) + timedelta(days=number)).isoformat()},
        "links_api.issue_link": {"party": "survivor", "channel": "handover"},
        "safety_api.protective_order": {"court_reference": "route test", "expires_on": "2030-01-01"},
        "safety_api.assess": {"answers": LOW_RISK},
        "safety_api.incident": {"kind": "other"},
        "sessions_api.book": {"kind": "follow_up", "format": "video", "start": soon.isoformat(),
                              "end": (soon + timedelta(hours=1)).isoformat(),
                              "facilitator_ids": [str(users["facilitator"].id)]},
        "referrals_api.transition_referral": {"to": "received"},
        "unavailability_api.add_unavailability": {"party": "survivor", "start": soon.isoformat(),
                                                  "end": (soon + timedelta(hours=1)).isoformat()},
        "safety_api.mitigation": {"measures": ["staggered_arrival"]},
        "sessions_api.cancel": {},
        "sessions_api.held": {},
        "sessions_api.reschedule": {"start": soon.isoformat(), "end": (soon + timedelta(hours=1)).isoformat()},
        "venue_api.create_venue": {"name": "Room", "address": "2 Test Street", "timezone": "UTC"},
        "venue_api.update_venue": {"capacity": 8},
        "retention_api.set_legal_hold": {"reason": "route test"},
        "retention_api.erase_on_request": {"party": "survivor"},  # refused while the case is open
        "case_identity_api.create_case": {"jurisdiction": "Testshire", "court": "Route Court",
                                          "docket_number": f"RT-{number}", "stage": "charged"},
        "case_identity_api.assign_prosecutor": {"prosecutor_email": users["prosecutor"].email},
    }.get(endpoint)
