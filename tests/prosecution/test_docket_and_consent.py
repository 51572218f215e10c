"""The prosecutor's view names court and jurisdiction and picks among cases sharing a docket number; their consent
view is each party's participation status only (issue 12, item 7; docs/api.md "prosecution/cases")."""

from __future__ import annotations

from tests.factories import referral_payload


def two_courts(factory, api):
    """A prosecutor assigned two cases with one docket number in two courts, each with a referral."""
    prosecutor = factory.user("prosecutor")
    coordinator = api(factory.user("coordinator"))
    for court in ("North Court", "South Court"):
        payload = referral_payload(case={"docket_number": "CR-9", "court": court,
                                         "prosecutor_email": prosecutor.email})
        assert coordinator.post("/api/v1/referrals", json=payload).status_code == 201
    return prosecutor


def test_two_cases_with_one_docket_number_need_the_court(app, factory, api):
    """409 `conflict` naming their own courts; `?court=` picks one; the answer names court and jurisdiction."""
    client = api(two_courts(factory, api))
    clash = client.get("/api/v1/prosecution/cases/CR-9")
    assert clash.status_code == 409
    error = clash.get_json()["error"]
    assert error["code"] == "conflict"
    assert [case["court"] for case in error["details"]["cases"]] == ["North Court", "South Court"]
    chosen = client.get("/api/v1/prosecution/cases/cr-9?court=south court")
    assert chosen.status_code == 200
    body = chosen.get_json()
    assert (body["court"], body["jurisdiction"], len(body["referrals"])) == ("South Court", "Testshire", 1)
    assert client.get("/api/v1/prosecution/cases/CR-9?court=West Court").status_code == 404


def test_the_case_page_offers_the_courts_and_shows_the_chosen_one(app, factory, api, browser):
    """The pages follow the API: a choice of court, then the case with its court."""
    prosecutor = two_courts(factory, api)
    staff = browser(prosecutor)
    choice = staff.get("/prosecution/cases/CR-9")
    assert choice.status_code == 409 and "court=North+Court" in choice.get_data(as_text=True)
    page = staff.get("/prosecution/cases/CR-9?court=North+Court&jurisdiction=Testshire")
    assert page.status_code == 200 and "North Court" in page.get_data(as_text=True)
    listing = staff.get("/prosecution").get_data(as_text=True)
    assert "court=South+Court" in listing


def test_a_prosecutor_sees_participation_status_only(app, factory, api):
    """No other scope, no since, no expiry; coordinators keep the full view. The read is audited either way."""
    prosecutor = factory.user("prosecutor")
    referral = factory.referral(prosecutor=prosecutor, status="preparation")
    url = f"/api/v1/referrals/{referral.id}/consent"
    seen = api(prosecutor).get(url)
    assert seen.status_code == 200
    assert seen.get_json() == {"survivor": {"participation": {"status": "granted"}},
                               "responsible_party": {"participation": {"status": "granted"}}}
    full = api(factory.user("coordinator")).get(url).get_json()
    assert set(full["survivor"]) == {"participation", "contact_other_party", "share_outcome_with_court"}
    assert full["survivor"]["participation"]["expires_at"]
