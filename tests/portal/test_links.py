"""Secure links: issued only within the gates, hashed at rest, inert on GET and HEAD, one generic page for every
unusable link, exchanged for a short session by a human click, PIN-protected on request, rate limited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import redis
from sqlalchemy import select, text
from sqlmodel import SQLModel

from coordinator import clock
from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.portal.models import PortalSession, SecureLink
from tests.conftest import make_app
from tests.portal.helpers import decide, link_for


def snapshot(app) -> dict[str, list]:
    """Every row of every table, to compare before and after."""
    with app.extensions["db_engine"].connect() as connection:
        return {table.name: sorted(map(repr, connection.execute(table.select()).all()))
                for table in SQLModel.metadata.sorted_tables}


def test_the_bare_portal_address_is_a_calm_welcome(app, phone):
    """Where reminders point: no error wording, just where to find the private link."""
    page = phone().open("/p/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "open the private link we sent you" in body
    assert "cannot be used" not in body


def test_opening_a_link_changes_nothing(app, case, phone):
    """GET and HEAD, three times each: the same interstitial, and not one row changes anywhere."""
    path = link_for(app, case)
    before = snapshot(app)
    visitor = phone()
    for _ in range(3):
        page = visitor.open(path)
        assert page.status_code == 200 and 'data-action="continue"' in page.get_data(as_text=True)
        assert visitor.client.head(path).status_code == 200
    assert snapshot(app) == before


def test_tokens_are_256_bits_and_stored_only_as_sha256(app, case):
    """The token is 43 url-safe characters; the table holds its hash and nothing that contains it."""
    path = link_for(app, case)
    token = path.removeprefix("/p/")
    assert len(token) == 43
    with app.extensions["db_engine"].connect() as connection:
        rows = connection.execute(text("SELECT * FROM secure_links")).all()
        everything = " ".join(str(value) for table in SQLModel.metadata.sorted_tables
                              for row in connection.execute(table.select()).all() for value in row)
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in everything


def test_every_unusable_link_gets_the_same_page(app, case, phone):
    """Unknown, expired, revoked and locked links are indistinguishable."""
    unknown = phone().open("/p/" + "x" * 43)
    expired_path, revoked_path, locked_path = (link_for(app, case) for _ in range(3))
    with app.app_context():
        links = list(db.session.execute(select(SecureLink).order_by(SecureLink.created_at)).scalars())
        links[0].expires_at = clock.now() - timedelta(seconds=1)
        links[1].revoked_at = clock.now()
        links[2].locked_at = clock.now()
        db.session.commit()
    pages = [unknown, phone().open(expired_path), phone().open(revoked_path), phone().open(locked_path)]
    assert {page.status_code for page in pages} == {404}
    assert len({page.get_data() for page in pages}) == 1
    usable = link_for(app, case)  # its interstitial gives the phone a CSRF token to press continue with
    continued = [phone().continue_link(path, via=usable) for path in
                 ("/p/" + "x" * 43, expired_path, revoked_path, locked_path)]
    assert {page.status_code for page in continued} == {404}
    assert {page.get_data() for page in continued} == {pages[0].get_data()}


def test_continue_exchanges_the_link_for_a_session_at_a_url_without_the_token(app, case, phone):
    """The human click opens a 30-minute session; the address no longer carries the token."""
    path = link_for(app, case)
    party = phone()
    response = party.continue_link(path)
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    home = party.open("/portal")
    assert home.status_code == 200 and path.removeprefix("/p/") not in home.get_data(as_text=True)
    with app.app_context():
        opened = db.session.execute(select(PortalSession)).scalar_one()
        assert opened.expires_at - opened.started_at == timedelta(minutes=30)
        assert "portal.open" in db.session.execute(select(AuditEntry.action)).scalars().all()
        clock.set_clock(clock.now() + timedelta(minutes=31))
        db.session.commit()
    assert party.open("/portal").status_code == 401


def test_continue_needs_the_csrf_token(app, case, phone):
    """A forged continue opens nothing."""
    path = link_for(app, case)
    party = phone()
    party.open(path)
    assert party.client.post(path, data={}).status_code == 400
    with app.app_context():
        assert db.session.execute(select(PortalSession)).first() is None


def test_a_pin_protects_the_link_and_five_wrong_pins_lock_it(app, case, phone):
    """After a PIN is chosen, continue asks for it; the fifth wrong one locks the link and tells the staff."""
    path = link_for(app, case)
    party = phone()
    party.continue_link(path)
    assert party.post("/portal/pin", {"pin": "12ab"}).status_code == 400
    assert party.post("/portal/pin", {"pin": "2468"}).status_code == 302

    later = phone()
    asked = later.continue_link(path)
    assert asked.status_code == 200 and 'data-action="pin-submit"' in asked.get_data(as_text=True)
    assert later.continue_link(path, pin="2468").status_code == 302

    thief = phone()
    answers = [thief.continue_link(path, pin="0000").status_code for _ in range(4)]
    assert answers == [400] * 4
    assert thief.continue_link(path, pin="0000").status_code == 404
    other_link = link_for(app, case)  # an interstitial to take a CSRF token from, now that this link is gone
    assert thief.continue_link(path, pin="2468", via=other_link).status_code == 404  # locked, right PIN or not
    assert later.open("/portal").status_code == 401  # sessions of a locked link end
    with app.app_context():
        link = db.session.execute(select(SecureLink).where(SecureLink.locked_at.is_not(None))).scalar_one()
        assert link.pin_hash.startswith("$argon2id$")
        told = {notice.user_id for notice in db.session.execute(
            select(StaffNotice).where(StaffNotice.template == "link_locked")).scalars()}
    assert told == {case.coordinator.id, *(user.id for user in case.facilitators)}


def test_links_are_rate_limited(app, case, phone):
    """An address that keeps trying links is slowed down."""
    visitor = phone()
    statuses = [visitor.open("/p/" + f"{n:043d}").status_code for n in range(35)]
    assert statuses[:30] == [404] * 30 and 429 in statuses[30:]


def test_the_responsible_party_gets_no_link_before_the_survivor_agrees(app, case, api):
    """409 gate_failed on the API; nothing is written."""
    client = api(case.coordinator)
    url = f"/api/v1/referrals/{case.referral.id}/links"
    refused = client.post(url, json={"party": "responsible_party", "channel": "email"})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "gate_failed"
    assert error["details"][0]["code"] == "consent_survivor_contact_other_party"
    with app.app_context():
        assert db.session.execute(select(SecureLink)).first() is None
        assert db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient_kind == "party")).first() \
            is None
    decide(app, case, "survivor", "contact_other_party")
    assert client.post(url, json={"party": "responsible_party", "channel": "email"}).status_code == 201


def test_the_responsible_party_gets_no_session_once_the_survivor_withdraws_contact(app, case, phone):
    """A link issued while contact was allowed stops opening when the survivor withdraws it."""
    decide(app, case, "survivor", "contact_other_party")
    path = link_for(app, case, "responsible_party")
    assert phone().open(path).status_code == 200
    decide(app, case, "survivor", "contact_other_party", "withdrawn")
    assert phone().open(path).status_code == 404
    assert phone().continue_link(path, via=link_for(app, case)).status_code == 404


def test_links_go_out_through_the_outbox_or_are_shown_once(app, case, api, browser):
    """Email and SMS links are queued with the link sealed; a handover answers with the URL, once."""
    client = api(case.coordinator)
    url = f"/api/v1/referrals/{case.referral.id}/links"
    by_email = client.post(url, json={"party": "survivor", "channel": "email"}).get_json()
    by_sms = client.post(url, json={"party": "survivor", "channel": "sms"}).get_json()
    handover = client.post(url, json={"party": "survivor", "channel": "handover"}).get_json()
    assert "url" not in by_email and "url" not in by_sms
    assert handover["url"].startswith(app.config["COORDINATOR_BASE_URL"] + "/p/")
    assert set(handover) == {"id", "party", "channel", "expires_at", "url"}
    with app.app_context():
        queued = list(db.session.execute(
            select(OutboxMessage).where(OutboxMessage.recipient_kind == "party")).scalars())
        assert sorted(message.channel for message in queued) == ["email", "sms"]
        assert all(message.link.startswith(app.config["COORDINATOR_BASE_URL"] + "/p/") for message in queued)
        assert all(message.link_enc and "/p/" not in message.link_enc for message in queued)

    page = browser(case.coordinator).post(f"/referrals/{case.referral.id}/links",
                                          {"party": "survivor", "channel": "handover"})
    body = page.get_data(as_text=True)
    assert page.status_code == 201 and "<svg" in body and "/p/" in body
    detail = browser(case.coordinator).get(f"/referrals/{case.referral.id}").get_data(as_text=True)
    assert "/p/" not in detail  # never shown again


def test_revoking_a_link_ends_its_sessions(app, case, phone, api):
    """DELETE /links/{id}: the link stops and whoever is using it is out."""
    path = link_for(app, case)
    party = phone()
    party.continue_link(path)
    with app.app_context():
        link_id = db.session.execute(select(SecureLink.id)).scalar_one()
    response = api(case.coordinator).delete(f"/api/v1/links/{link_id}")
    assert response.status_code == 200 and response.get_json()["revoked_at"]
    assert party.open("/portal").status_code == 401
    assert phone().open(path).status_code == 404


def test_only_staff_in_scope_issue_and_revoke_links(app, case, api, factory):
    """A prosecutor is refused; an unassigned facilitator does not see the referral."""
    url = f"/api/v1/referrals/{case.referral.id}/links"
    prosecutor = factory.user("prosecutor")
    assert api(prosecutor).post(url, json={"party": "survivor", "channel": "handover"}).status_code == 404
    outsider = factory.user("facilitator")
    assert api(outsider).post(url, json={"party": "survivor", "channel": "handover"}).status_code == 404
    assert api(case.facilitators[0]).post(url, json={"party": "survivor", "channel": "handover"}).status_code == 201


def test_a_queued_link_does_not_reach_the_responsible_party_once_contact_is_withdrawn(app, case):
    """The gate is checked again when sending: the message is parked, not sent."""
    decide(app, case, "survivor", "contact_other_party")
    link_for(app, case, "responsible_party", "email")
    decide(app, case, "survivor", "contact_other_party", "withdrawn")
    with app.app_context():
        dispatch_outbox("test")
        message = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "party_update")).scalar_one()
        assert (message.status, message.last_error, message.sent_at) == ("parked", "contact_not_allowed", None)


def test_with_redis_the_link_limit_is_counted_in_redis(database_url):
    """REDIS_URL moves the rate-limit counters to Redis, where every gunicorn worker counts together."""
    store = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    store.flushdb()
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:6379/15")
    try:
        assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"
        client = app.test_client()
        statuses = [client.get("/p/" + f"{n:043d}").status_code for n in range(32)]
        assert statuses[:30] == [404] * 30 and statuses[30:] == [429, 429]
        assert any(b"LIMITER" in key.upper() or b"p/" in key for key in store.keys("*"))
    finally:
        store.flushdb()
        app.extensions["db_engine"].dispose()
