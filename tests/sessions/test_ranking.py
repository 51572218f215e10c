"""Ranking facilitators for a referral: language first, then caseload, then free time; the ineligible left out."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import SYSTEM, User
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.models import AvailabilityWindow, FacilitatorConflict
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.roster.ranking import rank_facilitators


def on_roster(app, factory, name: str, languages=("es",), hours: int = 8, cap: int = 6,
              trained_days: int = 365):
    """A facilitator with `hours` free every day (from 08:00 UTC), speaking `languages`."""
    user = factory.user("facilitator", name=name)
    with app.app_context():
        merged = db.session.merge(user)
        set_facilitator_profile(SYSTEM, merged, list(languages),
                                {"trafficking_specialist": clock.now().date() + timedelta(days=trained_days)},
                                max_active_referrals=cap)
        if hours:
            for weekday in range(7):
                db.session.add(AvailabilityWindow(user_id=user.id, weekday=weekday, start_time=time(8),
                                                  end_time=time(8 + hours)))
        db.session.commit()
    return user


def roster_case(app, factory):
    """A referral (survivor speaks es) and a roster with every reason to rank or to leave someone out."""
    coordinator = factory.user("coordinator")
    people = {
        "Dora": on_roster(app, factory, "Dora", hours=8),  # speaks es, no caseload, most time
        "Abel": on_roster(app, factory, "Abel", hours=2),  # speaks es, no caseload, less time
        "Cleo": on_roster(app, factory, "Cleo", hours=10, cap=2),  # speaks es, 1 of 2
        "Bram": on_roster(app, factory, "Bram", languages=("en",), hours=12),  # no Spanish
        "Edda": on_roster(app, factory, "Edda", hours=8),  # conflicted
        "Finn": on_roster(app, factory, "Finn", hours=8, trained_days=-1),  # training expired
        "Gus": on_roster(app, factory, "Gus", hours=8, cap=1),  # full: 1 of 1
        "Hana": on_roster(app, factory, "Hana", hours=0),  # no free time
    }
    factory.referral(by=coordinator, facilitators=(people["Cleo"], people["Gus"]))
    referral = factory.referral(by=coordinator, survivor={"preferred_language": "es"})
    with app.app_context():
        docket = db.session.get(Referral, referral.id).case.docket_number
        db.session.add(FacilitatorConflict(user_id=people["Edda"].id, docket_number=docket, declared_at=clock.now()))
        db.session.commit()
    return coordinator, referral, people


def test_ranking_order_and_exclusions(app, factory):
    """Spanish speakers first, lighter caseload before heavier, more free time first; the rest left out."""
    _coordinator, referral, _people = roster_case(app, factory)
    with app.app_context():
        ranked = rank_facilitators(db.session.get(Referral, referral.id))
    assert [s.name for s in ranked] == ["Dora", "Abel", "Cleo", "Bram"]
    by_name = {s.name: s for s in ranked}
    assert by_name["Cleo"].caseload_label == "1/2" and by_name["Dora"].caseload_label == "0/6"
    assert by_name["Dora"].speaks_language and not by_name["Bram"].speaks_language
    assert 30 * 2 - 2 <= by_name["Abel"].free_hours <= 30 * 2 + 2
    assert by_name["Dora"].free_hours > by_name["Abel"].free_hours


def test_the_suggestions_api_gives_the_order_and_the_reasons(app, factory, api):
    """Coordinators get the ranking with language match, "n/cap" and free hours; other roles 403; scope 404."""
    coordinator, referral, people = roster_case(app, factory)
    response = api(coordinator).get(f"/api/v1/referrals/{referral.id}/facilitator-suggestions")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["name"] for item in items] == ["Dora", "Abel", "Cleo", "Bram"]
    assert items[0]["id"] == str(people["Dora"].id)
    cleo = items[2]
    assert (cleo["language_match"], cleo["caseload"], cleo["active_referrals"], cleo["max_active_referrals"]) == \
        (True, "1/2", 1, 2)
    assert items[3]["language_match"] is False and items[0]["free_hours"] > items[1]["free_hours"] > 0
    for role in ("admin", "facilitator", "prosecutor"):
        assert api(factory.user(role)).get(
            f"/api/v1/referrals/{referral.id}/facilitator-suggestions").status_code == 403
    assert api(coordinator).get("/api/v1/referrals/00000000-0000-4000-8000-000000000000/"
                                "facilitator-suggestions").status_code == 404


def test_the_referral_page_shows_the_ranking_above_the_assign_form(app, factory, browser):
    """The coordinator sees the suggestions in order, before the selects; facilitators do not."""
    coordinator, referral, people = roster_case(app, factory)
    html = browser(coordinator).get(f"/referrals/{referral.id}").get_data(as_text=True)
    block = html[html.index("data-suggestions"):html.index('name="lead"')]
    positions = [block.index(f"<strong>{name}</strong>") for name in ("Dora", "Abel", "Cleo", "Bram")]
    assert positions == sorted(positions)
    assert "Edda" not in block and "Finn" not in block and "Gus" not in block and "Hana" not in block
    assert "caseload 1/2" in block
    assigned = factory.referral(by=coordinator, facilitators=(people["Dora"], people["Abel"]))
    page = browser(people["Dora"]).get(f"/referrals/{assigned.id}").get_data(as_text=True)
    assert "data-suggestions" not in page


def test_nobody_is_suggested_without_free_time(app, factory):
    """With every eligible facilitator fully booked or unavailable, the ranking is empty."""
    on_roster(app, factory, "Ivo", hours=0)
    referral = factory.referral()
    with app.app_context():
        assert rank_facilitators(db.session.get(Referral, referral.id)) == []
        assert db.session.execute(select(User).where(User.role == "facilitator")).scalars().all()
