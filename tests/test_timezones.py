"""Times on pages: facilitators in their own zone, everyone else and every party in the programme's."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time

from config import ConfigError
from coordinator.accounts.models import SYSTEM
from coordinator.db import db
from coordinator.roster.profiles import set_facilitator_profile
from tests.conftest import make_app
from tests.portal.helpers import Case, add_session, decide

PROGRAMME = "America/Mexico_City"


@pytest.fixture
def app_settings():
    """The programme runs in Mexico City."""
    return {"COORDINATOR_TIMEZONE": PROGRAMME}


def shown(value, zone: str) -> str:
    """How the referral page writes a session's date and start in that zone: no seconds."""
    place = ZoneInfo(zone)
    local = value.astimezone(place)
    return f"{format_date(local, 'full', locale='en')}, {format_time(local, 'short', tzinfo=place, locale='en')}"


def test_each_reader_sees_the_session_in_their_zone(app, factory, browser):
    """The coordinator reads Mexico City time, a facilitator in Tokyo reads Tokyo time, and each page says so."""
    coordinator = factory.user("coordinator")
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    with app.app_context():
        set_facilitator_profile(SYSTEM, db.session.merge(lead), ["en", "es", "fr"], {}, timezone="Asia/Tokyo")
        db.session.commit()
    referral = factory.referral(by=coordinator, facilitators=(lead, co))
    case = Case(referral, coordinator, (lead, co))
    decide(app, case, "survivor", "participation")
    session = add_session(app, case, kind="pre_conference_survivor")
    for reader, zone in ((coordinator, PROGRAMME), (lead, "Asia/Tokyo")):
        page = browser(reader).get(f"/referrals/{referral.id}").get_data(as_text=True)
        assert shown(session.starts_at, zone) in page, zone
        assert f"({zone})." in page and "Times are shown in" in page
    assert shown(session.starts_at, "Asia/Tokyo") != shown(session.starts_at, PROGRAMME)


def test_an_unknown_programme_zone_refuses_to_start(database_url):
    """A typo in COORDINATOR_TIMEZONE stops the service instead of showing wrong times."""
    with pytest.raises(ConfigError, match="COORDINATOR_TIMEZONE"):
        make_app(database_url, COORDINATOR_TIMEZONE="Europe/Atlantis")
