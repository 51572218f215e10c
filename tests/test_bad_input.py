"""Bad input is refused at the edge with a clear 400 (or 413), never a 500, and nothing is half-written (issue 12,
item 8; coordinator/inputs.py)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

import config
from coordinator.db import db
from coordinator.referrals.models import CriminalCase, Referral
from coordinator.roster.models import FacilitatorProfile, Venue
from tests.factories import referral_payload
from tests.sessions.test_roster import new_facilitator


def count(app, model) -> int:
    """Rows of a table."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def envelope(response, status: int = 400) -> dict:
    """The API's error envelope, checked for its status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] in ("invalid_request", "rate_limited")
    return body["error"]


@pytest.fixture
def coordinator(factory):
    return factory.user("coordinator")


@pytest.mark.parametrize("url", ["/api/v1/referrals?q=RJ%00", "/api/v1/referrals?q=RJ%01X",
                                 "/api/v1/referrals?status=received&q%00=1",
                                 "/api/v1/prosecution/cases/CR%00X", "/api/v1/referrals/%00"])
def test_control_characters_in_a_query_or_a_path_are_refused(app, api, factory, coordinator, url):
    """NUL and other control characters never reach a query (PostgreSQL refuses NUL in text: that was a 500)."""
    prosecutor = factory.user("prosecutor")
    client = api(prosecutor if "prosecution" in url else coordinator)
    error = envelope(client.get(url))
    assert "NUL" in error["message"]


def test_a_control_character_in_a_page_query_gets_a_page_in_the_readers_language(app, browser, factory):
    """Pages answer with the error page in the reader's language."""
    reader = factory.user("coordinator", language="es")
    response = browser(reader).get("/referrals?q=RJ%00")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<html lang=\"es\"" in page and "NUL" in page and "Traceback" not in page


def test_a_control_character_in_json_is_refused_and_nothing_is_written(app, api, coordinator):
    """In any string of the body, keys included; tab and newline in text stay allowed."""
    client = api(coordinator)
    for payload in (referral_payload(survivor={"alias": "Ana\x00"}), referral_payload(notes="a\x1bb"),
                    {**referral_payload(), "x\x00": 1}, referral_payload(case={"docket_number": "CR\x00X"})):
        error = envelope(client.post("/api/v1/referrals", json=payload))
        assert error["details"]
    assert count(app, Referral) == count(app, CriminalCase) == 0
    fine = client.post("/api/v1/referrals", json=referral_payload(notes="line one\n\tline two\r\n"))
    assert fine.status_code == 201


def test_a_lone_surrogate_in_json_is_refused(app, api, coordinator):
    """`\\ud800` parses in Python but no database can store it."""
    body = json.dumps(referral_payload()).replace('"Survivor', '"\\ud800Survivor')
    envelope(api(coordinator).post("/api/v1/referrals", data=body, content_type="application/json"))
    assert count(app, Referral) == 0


def test_a_json_string_body_is_refused(app, api, coordinator):
    """A body that is a JSON string would be read as a second document, past every check."""
    inner = json.dumps(referral_payload(survivor={"alias": "A\x00"}))
    envelope(api(coordinator).post("/api/v1/referrals", data=json.dumps(inner), content_type="application/json"))
    assert count(app, Referral) == 0


def test_a_control_character_in_a_form_is_refused_and_nothing_is_written(app, browser, coordinator):
    """The intake form with a NUL in the docket number: the error page, and no referral."""
    staff = browser(coordinator)
    page = staff.get("/referrals/new")
    assert page.status_code == 200
    response = staff.post("/referrals/new", {"source": "court", "jurisdiction": "Testshire", "court": "Crown Court",
                                             "docket_number": "CR\x00X", "stage": "charged",
                                             "survivor_alias": "S", "survivor_language": "es",
                                             "responsible_alias": "R", "responsible_language": "en"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert count(app, Referral) == 0


@pytest.mark.parametrize("page", ["100000000000000000000", "1000001", "0", "-3"])
def test_page_numbers_outside_one_to_a_million_are_refused(app, api, browser, coordinator, page):
    """Pages and the API alike: 400, never an offset the database cannot hold."""
    error = envelope(api(coordinator).get(f"/api/v1/referrals?page={page}"))
    assert "page" in error["details"]
    assert browser(coordinator).get(f"/referrals?page={page}").status_code == 400
    assert api(coordinator).get("/api/v1/referrals?page=1000000").status_code == 200


def nested(depth: int) -> str:
    """A JSON body nested `depth` levels deep."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deep_is_refused(app, api, coordinator, depth):
    """Nesting beyond 32 levels is a 400, however deep (the parser's recursion was a 500)."""
    error = envelope(api(coordinator).post("/api/v1/referrals", data=nested(depth),
                                          content_type="application/json"))
    assert error["details"] == {"body": ["This JSON is nested more than 32 levels deep."]}


def test_json_nested_within_the_limit_reaches_validation(app, api, coordinator):
    """32 levels are read, and the model then says what is wrong."""
    error = envelope(api(coordinator).post("/api/v1/referrals", data=nested(32), content_type="application/json"))
    assert "body" not in error["details"]


def test_an_oversize_body_is_refused_with_413_in_the_envelope(app, api, browser, coordinator):
    """1 MiB at most: the API answers in its envelope, pages with a page."""
    body = json.dumps(referral_payload(notes="x" * (1024 * 1024)))
    response = api(coordinator).post("/api/v1/referrals", data=body, content_type="application/json")
    assert envelope(response, 413)["message"]
    page = browser(coordinator).post("/referrals/new", {"notes": "x" * (1024 * 1024)})
    assert page.status_code == 413
    assert count(app, Referral) == 0


@pytest.fixture
def referral(factory, coordinator):
    return factory.referral(by=coordinator, facilitators=[factory.user("facilitator"), factory.user("facilitator")])


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "from=3000-01-01", "to=20260101",
                                   "from=0"])
def test_slot_dates_at_the_ends_of_the_calendar_are_refused(app, api, coordinator, referral, query):
    """The slot search's days: a sane range, written out."""
    url = f"/api/v1/referrals/{referral.id}/slots?kind=pre_conference_survivor&format=video&{query}"
    assert envelope(api(coordinator).get(url))["details"]


@pytest.mark.parametrize("value", ["0", "1700000000", "9999-12-31", "0001-01-01", "2026-02-30"])
def test_readiness_date_must_be_a_written_date_in_range(app, api, coordinator, referral, value):
    """`date=0` was read as 1970-01-01."""
    envelope(api(coordinator).get(f"/api/v1/referrals/{referral.id}/readiness?format=video&date={value}"))


def test_booking_times_at_the_end_of_the_calendar_are_refused(app, api, coordinator, referral):
    """A session ending on 9999-12-31 overflowed the buffer arithmetic."""
    body = {"kind": "pre_conference_survivor", "format": "video", "start": "9999-12-31T20:00:00+00:00",
            "end": "9999-12-31T23:00:00+00:00", "facilitator_ids": sorted(str(i) for i in referral.facilitator_ids)}
    envelope(api(coordinator).post(f"/api/v1/referrals/{referral.id}/sessions", json=body))
    naive = {**body, "start": "2030-01-02T10:00:00", "end": "2030-01-02T11:00:00"}
    envelope(api(coordinator).post(f"/api/v1/referrals/{referral.id}/sessions", json=naive))


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-31", "1899-12-31", "junk"])
def test_the_week_calendar_refuses_dates_at_the_ends_of_the_calendar(app, browser, factory, start):
    """The facilitator's week page answers 400 with a page, not a 500."""
    facilitator = factory.user("facilitator")
    response = browser(facilitator).get(f"/calendar/week?start={start}")
    assert response.status_code == 400 and "Traceback" not in response.get_data(as_text=True)
    assert browser(facilitator).get("/calendar/week?start=2030-01-07").status_code == 200


@pytest.mark.parametrize("zone", ["posix/Europe/Madrid", "right/Europe/Madrid", "US/Eastern", "Asia/Calcutta",
                                  "Europe/Nowhere", "../etc/passwd"])
def test_only_canonical_time_zones_are_accepted(app, api, browser, coordinator, zone):
    """Facilitators and venues, in the API and the pages; an accepted posix/ name broke every page of its owner."""
    client = api(coordinator)
    assert "timezone" in envelope(client.post("/api/v1/facilitators", json=new_facilitator(timezone=zone)))["details"]
    created = client.post("/api/v1/facilitators", json=new_facilitator())
    assert created.status_code == 201
    facilitator_id = created.get_json()["id"]
    envelope(client.put(f"/api/v1/facilitators/{facilitator_id}", json={"timezone": zone}))
    venue = {"name": "Hall", "address": "1 Test Street", "timezone": zone, "separate_waiting_rooms": True,
             "capacity": 8}
    assert "timezone" in envelope(client.post("/api/v1/venues", json=venue))["details"]
    assert count(app, Venue) == 0
    with app.app_context():
        assert db.session.get(FacilitatorProfile, uuid.UUID(facilitator_id)).timezone == "Europe/Madrid"


def test_canonical_zones_that_became_links_stay_accepted(app, api, coordinator):
    """Europe/Amsterdam is named in the zone tables, so a Dutch programme can still choose it."""
    response = api(coordinator).post("/api/v1/facilitators", json=new_facilitator(timezone="Europe/Amsterdam"))
    assert response.status_code == 201


@pytest.mark.parametrize("zone", ["posix/Europe/Madrid", "US/Eastern"])
def test_the_programme_time_zone_must_be_canonical(database_url, zone):
    """COORDINATOR_TIMEZONE stops start-up with a message naming it."""
    with pytest.raises(config.ConfigError, match="COORDINATOR_TIMEZONE"):
        config.TestConfig({"DATABASE_URL": database_url, "COORDINATOR_TIMEZONE": zone})
