"""The parties' unavailable times: recorded by staff in scope, stored in UTC, avoided by slot search."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.sessions.models import PartyUnavailability


def stored(app) -> list[PartyUnavailability]:
    """Every declared time."""
    with app.app_context():
        return list(db.session.execute(select(PartyUnavailability)).scalars())


def setup(factory):
    """A coordinator, an assigned pair and their referral."""
    coordinator = factory.user("coordinator")
    pair = (factory.user("facilitator"), factory.user("facilitator"))
    return coordinator, pair, factory.referral(by=coordinator, facilitators=pair)


BODY = {"party": "survivor", "start": "2030-04-02T09:00:00+02:00", "end": "2030-04-02T13:00:00+02:00"}


def test_staff_record_list_and_remove_a_time(app, factory, api):
    """201 in UTC; listed with the party's role only; removed with DELETE; the audit names the role only."""
    coordinator, pair, referral = setup(factory)
    client = api(pair[0])
    response = client.post(f"/api/v1/referrals/{referral.id}/unavailability", json=BODY)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["party"] == "survivor"
    assert datetime.fromisoformat(body["start"]) == datetime(2030, 4, 2, 7, tzinfo=UTC)
    assert datetime.fromisoformat(body["end"]) == datetime(2030, 4, 2, 11, tzinfo=UTC)
    listed = api(coordinator).get(f"/api/v1/referrals/{referral.id}/unavailability").get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]] and listed["total"] == 1
    assert "alias" not in json.dumps(listed).lower() and "Survivor" not in json.dumps(listed)
    with app.app_context():
        entries = db.session.execute(select(AuditEntry).where(AuditEntry.action.like("party.unavailability%"))
                                     ).scalars().all()
        assert [(e.action, e.details, e.referral_id) for e in entries] == [
            ("party.unavailability.add", {"party": "survivor"}, referral.id)]
    removed = api(coordinator).delete(f"/api/v1/unavailability/{body['id']}")
    assert removed.status_code == 200 and removed.get_json() == {"id": body["id"], "deleted": True}
    assert stored(app) == []
    assert api(coordinator).delete(f"/api/v1/unavailability/{body['id']}").status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"end": "2030-04-02T08:00:00+02:00"}, "end"),
    ({"end": "2030-04-02T09:00:00+02:00"}, "end"),
    ({"end": "2032-04-02T09:00:00+02:00"}, "end"),
    ({"start": "2030-04-02T09:00:00"}, "start"),
    ({"party": "supporter"}, "party"),
    ({"start": "tomorrow"}, "start"),
])
def test_invalid_times_are_refused(app, factory, api, change, field):
    """400 with the field; nothing stored."""
    coordinator, _pair, referral = setup(factory)
    response = api(coordinator).post(f"/api/v1/referrals/{referral.id}/unavailability", json={**BODY, **change})
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"], response.get_json()
    assert stored(app) == []


def test_only_staff_in_scope(app, factory, api):
    """Prosecutors and admins: 403; a facilitator not assigned: 404, for reading, adding and removing."""
    coordinator, _pair, referral = setup(factory)
    prosecutor = factory.user("prosecutor")
    own_case = factory.referral(by=coordinator, prosecutor=prosecutor)
    entry = api(coordinator).post(f"/api/v1/referrals/{referral.id}/unavailability", json=BODY).get_json()
    assert api(prosecutor).get(f"/api/v1/referrals/{own_case.id}/unavailability").status_code == 403
    assert api(prosecutor).post(f"/api/v1/referrals/{own_case.id}/unavailability", json=BODY).status_code == 403
    assert api(factory.user("admin")).get(f"/api/v1/referrals/{referral.id}/unavailability").status_code == 403
    outsider = api(factory.user("facilitator"))
    assert outsider.get(f"/api/v1/referrals/{referral.id}/unavailability").status_code == 404
    assert outsider.post(f"/api/v1/referrals/{referral.id}/unavailability", json=BODY).status_code == 404
    assert outsider.delete(f"/api/v1/unavailability/{entry['id']}").status_code == 404
    assert api(prosecutor).delete(f"/api/v1/unavailability/{entry['id']}").status_code == 403
    assert len(stored(app)) == 1


def test_the_page_records_times_in_the_chosen_zone_and_removes_them(app, factory, browser):
    """The referral links to the page; the form's Madrid times are stored in UTC; Remove forgets them."""
    _coordinator, pair, referral = setup(factory)
    client = browser(pair[1])
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f"/referrals/{referral.id}/unavailability" in detail
    page = client.get(f"/referrals/{referral.id}/unavailability")
    assert page.status_code == 200 and "None declared." in page.get_data(as_text=True)
    saved = client.post(f"/referrals/{referral.id}/unavailability", {
        "party": "responsible_party", "start": "2030-01-10T18:00", "end": "2030-01-10T21:30",
        "timezone": "Europe/Madrid"})
    assert saved.status_code == 302
    [row] = stored(app)
    assert (row.starts_at, row.ends_at) == (datetime(2030, 1, 10, 17, tzinfo=UTC),
                                             datetime(2030, 1, 10, 20, 30, tzinfo=UTC))
    html = client.get(f"/referrals/{referral.id}/unavailability").get_data(as_text=True)
    assert "Responsible party" in html
    entry_id = re.search(r"/unavailability/([0-9a-f-]+)/remove", html).group(1)
    assert client.post(f"/unavailability/{entry_id}/remove").status_code == 302
    assert stored(app) == []
    refused = client.post(f"/referrals/{referral.id}/unavailability", {
        "party": "survivor", "start": "2030-01-10T18:00", "end": "2030-01-10T17:00", "timezone": "Europe/Madrid"})
    assert refused.status_code == 400 and "later than the start" in refused.get_data(as_text=True)
    assert browser(factory.user("facilitator")).get(f"/referrals/{referral.id}/unavailability").status_code == 404
    assert browser(factory.user("prosecutor")).get(f"/referrals/{referral.id}/unavailability").status_code == 403
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(PartyUnavailability)).scalar_one() == 0
