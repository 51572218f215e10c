"""Venues: an encrypted address only admins and coordinators see, opening hours as a week grid, deactivation."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select, text

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.roster.models import Venue

ADDRESS = "12 Calle del Refugio, Madrid"


def venue_body(**overrides) -> dict:
    """A valid `POST /api/v1/venues` body."""
    body = {"name": "Centro Norte", "address": ADDRESS, "timezone": "Europe/Madrid", "separate_waiting_rooms": True,
            "accessible": True, "capacity": 10,
            "opening_hours": [{"weekday": 0, "start": "09:00", "end": "18:00"},
                              {"weekday": 2, "start": "10:00", "end": "14:00"}]}
    return {**body, **overrides}


def venues(app) -> int:
    """How many venues are stored."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Venue)).scalar_one()


def test_a_coordinator_adds_a_venue_with_an_encrypted_address(app, factory, api):
    """201 with the address for its creator; the column holds ciphertext; the audit never holds the address."""
    coordinator = factory.user("coordinator")
    response = api(coordinator).post("/api/v1/venues", json=venue_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["address"] == ADDRESS and body["active"] is True and body["capacity"] == 10
    assert body["opening_hours"] == venue_body()["opening_hours"]
    with app.app_context():
        raw = db.session.execute(text("SELECT address_enc FROM venues")).scalar_one()
        assert ADDRESS not in raw and "Refugio" not in raw
        assert db.session.get(Venue, uuid.UUID(body["id"])).address == ADDRESS
        details = json.dumps([e.details for e in db.session.execute(select(AuditEntry)).scalars()])
        assert "Refugio" not in details


def test_facilitators_never_see_the_address(app, factory, api):
    """Listed and fetched without the address, which appears nowhere in the response; prosecutors get 403."""
    admin = factory.user("admin")
    venue_id = api(admin).post("/api/v1/venues", json=venue_body()).get_json()["id"]
    keeper = api(factory.user("facilitator"))
    for response in (keeper.get("/api/v1/venues"), keeper.get(f"/api/v1/venues/{venue_id}")):
        assert response.status_code == 200
        assert "Refugio" not in response.get_data(as_text=True) and '"address"' not in response.get_data(as_text=True)
    listed = keeper.get("/api/v1/venues").get_json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Centro Norte"
    assert api(admin).get(f"/api/v1/venues/{venue_id}").get_json()["address"] == ADDRESS
    prosecutor = api(factory.user("prosecutor"))
    assert prosecutor.get("/api/v1/venues").status_code == 403
    assert prosecutor.get(f"/api/v1/venues/{venue_id}").status_code == 403


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Europe/Nowhere"}, "timezone"),
    ({"capacity": 0}, "capacity"),
    ({"name": "  "}, "name"),
    ({"address": ""}, "address"),
    ({"opening_hours": [{"weekday": 1, "start": "09:00", "end": "13:00"},
                        {"weekday": 1, "start": "12:00", "end": "15:00"}]}, "opening_hours.1.start"),
    ({"opening_hours": [{"weekday": 9, "start": "09:00", "end": "13:00"}]}, "opening_hours.0.weekday"),
    ({"opening_hours": [{"weekday": 1, "start": "13:00", "end": "09:00"}]}, "opening_hours.0.end"),
])
def test_invalid_venues_are_refused(app, factory, api, change, field):
    """400 with the field; nothing stored."""
    response = api(factory.user("admin")).post("/api/v1/venues", json=venue_body(**change))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"], response.get_json()
    assert venues(app) == 0


def test_missing_fields_are_refused(app, factory, api):
    """The address is required."""
    body = venue_body()
    del body["address"]
    response = api(factory.user("admin")).post("/api/v1/venues", json=body)
    assert response.status_code == 400 and "address" in response.get_json()["error"]["details"]


def test_updating_and_deactivating_a_venue(app, factory, api):
    """PUT changes what it is given; `active: false` deactivates and keeps the venue; only managers may."""
    coordinator = api(factory.user("coordinator"))
    venue_id = coordinator.post("/api/v1/venues", json=venue_body()).get_json()["id"]
    changed = coordinator.put(f"/api/v1/venues/{venue_id}", json={"capacity": 4, "accessible": False})
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["capacity"], body["accessible"], body["address"], body["name"]) == (4, False, ADDRESS,
                                                                                     "Centro Norte")
    moved = coordinator.put(f"/api/v1/venues/{venue_id}", json={"address": "1 New Street"}).get_json()
    assert moved["address"] == "1 New Street"
    refused = coordinator.put(f"/api/v1/venues/{venue_id}", json={"capacity": -3, "name": "Other"})
    assert refused.status_code == 400
    assert coordinator.get(f"/api/v1/venues/{venue_id}").get_json()["name"] == "Centro Norte"
    keeper = api(factory.user("facilitator"))
    assert keeper.put(f"/api/v1/venues/{venue_id}", json={"active": False}).status_code == 403
    assert keeper.post("/api/v1/venues", json=venue_body()).status_code == 403
    assert coordinator.put(f"/api/v1/venues/{venue_id}", json={"active": False}).get_json()["active"] is False
    assert coordinator.get("/api/v1/venues").get_json()["items"][0]["active"] is False
    assert coordinator.put(f"/api/v1/venues/{uuid.uuid4()}", json={"active": False}).status_code == 404
    assert coordinator.get("/api/v1/venues/nope").status_code == 404
    assert venues(app) == 1


def hours_form(windows: dict[tuple[int, int], tuple[str, str]]) -> dict:
    """The opening-hours grid's fields."""
    data = {}
    for weekday in range(7):
        for slot in range(2):
            start, end = windows.get((weekday, slot), ("", ""))
            data[f"hours-{weekday}-{slot}-start"], data[f"hours-{weekday}-{slot}-end"] = start, end
    return data


def test_venue_pages_create_edit_and_deactivate(app, factory, browser):
    """Create with opening hours from the grid; the edit page shows the address to a coordinator; deactivate."""
    client = browser(factory.user("coordinator"))
    assert client.get("/venues/new").status_code == 200
    created = client.post("/venues/new", {"name": "Sala Sur", "address": ADDRESS, "timezone": "Europe/Madrid",
                                          "capacity": "6", "separate_waiting_rooms": "y",
                                          **hours_form({(1, 0): ("09:00", "13:00"), (1, 1): ("15:00", "19:00")})})
    assert created.status_code == 302
    with app.app_context():
        venue = db.session.execute(select(Venue)).scalar_one()
        assert venue.opening_hours == [{"weekday": 1, "start": "09:00", "end": "13:00"},
                                       {"weekday": 1, "start": "15:00", "end": "19:00"}]
        assert venue.separate_waiting_rooms and not venue.accessible and venue.capacity == 6
    listing = client.get("/venues").get_data(as_text=True)
    assert "Sala Sur" in listing and "Refugio" not in listing
    edit = client.get(f"/venues/{venue.id}").get_data(as_text=True)
    assert "Refugio" in edit and 'name="hours-1-1-end" value="19:00"' in edit
    saved = client.post(f"/venues/{venue.id}", {"name": "Sala Sur", "address": "", "timezone": "Europe/Madrid",
                                                 "capacity": "6", **hours_form({(4, 0): ("08:00", "12:00")})})
    assert saved.status_code == 302
    with app.app_context():
        venue = db.session.get(Venue, venue.id)
        assert venue.address == ADDRESS and venue.opening_hours == [{"weekday": 4, "start": "08:00",
                                                                     "end": "12:00"}]
    assert client.post(f"/venues/{venue.id}/active", {"active": "false"}).status_code == 302
    with app.app_context():
        assert db.session.get(Venue, venue.id).active is False
    assert "Deactivated" in client.get("/venues").get_data(as_text=True)


def test_venue_page_errors_and_access(app, factory, browser):
    """Bad hours: 400 with the message on the cell and no venue; facilitators and prosecutors get 403."""
    client = browser(factory.user("admin"))
    response = client.post("/venues/new", {"name": "Sala", "address": ADDRESS, "timezone": "UTC", "capacity": "6",
                                           **hours_form({(0, 0): ("12:00", "10:00")})})
    assert response.status_code == 400 and 'id="hours-0-0-error"' in response.get_data(as_text=True)
    assert venues(app) == 0
    for role in ("facilitator", "prosecutor"):
        assert browser(factory.user(role)).get("/venues").status_code == 403
