"""In-app notices (the bell and its list) and the coordinators' page of messages that could not be sent."""

from __future__ import annotations

import html
import re

from sqlalchemy import select, text

from coordinator.audit.models import AuditEntry
from coordinator.db import db
from coordinator.notifications.models import Channel, OutboxMessage, StaffNotice
from coordinator.notifications.service import queue_message
from tests.factories import referral_payload

BELL = re.compile(r'class="bell__count">(\d+)<')


def unread_on(page) -> int:
    """The bell's count on a page (0 when it shows none)."""
    found = BELL.search(page.get_data(as_text=True))
    return int(found.group(1)) if found else 0


def test_the_bell_counts_and_the_list_opens_notices(app, factory, browser, api):
    """A new referral rings the bell; opening a notice marks it read and goes to the referral."""
    colleague = factory.user("coordinator", language="fr")
    staff = browser(colleague)
    assert unread_on(staff.get("/referrals")) == 0
    referral = api(factory.user("coordinator")).post(
        "/api/v1/referrals", json=referral_payload()).get_json()

    assert unread_on(staff.get("/referrals")) == 1
    listing = html.unescape(staff.get("/notifications").get_data(as_text=True))
    assert f"L'orientation {referral['reference']} est arrivée." in listing
    with app.app_context():
        notice = db.session.execute(select(StaffNotice)).scalar_one()
    opened = staff.post(f"/notifications/{notice.id}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/referrals/{referral['id']}"
    assert unread_on(staff.get("/referrals")) == 0


def test_mark_all_read(app, factory, browser):
    """One button clears the bell."""
    facilitator = factory.user("facilitator")
    coordinator = factory.user("coordinator")
    for _ in range(2):
        factory.referral(by=coordinator, facilitators=(facilitator, factory.user("facilitator")))
    staff = browser(facilitator)
    assert unread_on(staff.get("/notifications")) == 2
    assert staff.post("/notifications/read").status_code == 302
    assert unread_on(staff.get("/notifications")) == 0


def test_someone_elses_notice_is_not_found(app, factory, browser):
    """Opening another person's notice is 404 and leaves it unread."""
    facilitator = factory.user("facilitator")
    factory.referral(facilitators=(facilitator, factory.user("facilitator")))
    with app.app_context():
        notice = db.session.execute(select(StaffNotice).where(StaffNotice.user_id == facilitator.id)).scalar_one()
    intruder = browser(factory.user("facilitator"))
    assert intruder.post(f"/notifications/{notice.id}/open").status_code == 404
    assert intruder.post("/notifications/not-an-id/open").status_code == 404
    with app.app_context():
        assert db.session.get(StaffNotice, notice.id).read_at is None


def test_the_outbox_page_is_for_coordinators(factory, browser):
    """Facilitators, prosecutors and admins get 403; visitors the sign-in page."""
    for role in ("facilitator", "prosecutor", "admin"):
        assert browser(factory.user(role)).get("/notifications/outbox").status_code == 403
    assert browser().get("/notifications/outbox").status_code == 302


def park(app, referral, link: str) -> OutboxMessage:
    """Queue an SMS to the survivor and mark it parked, as after too many failures."""
    with app.app_context():
        survivor = db.session.get(type(referral), referral.id).survivor
        queue_message(Channel.sms, "party_update", recipient_kind="party", recipient_id=survivor.id,
                      key=f"park-{link}", referral_id=referral.id, link=link)
        db.session.execute(text("UPDATE outbox_messages SET status = 'parked', attempts = 6, "
                                "last_error = 'sms_provider_not_configured'"))
        db.session.commit()
        return db.session.execute(select(OutboxMessage)).scalar_one()


def test_discarding_a_parked_message_wipes_its_link_and_is_audited(app, factory, browser):
    """The page names no party; discarding forgets the secret link; both actions are audited."""
    coordinator = factory.user("coordinator")
    referral = factory.referral(by=coordinator, survivor={"alias": "Hidden Alias"})
    message = park(app, referral, "https://circles.example.org/l/secret")
    staff = browser(coordinator)
    page = staff.get("/notifications/outbox").get_data(as_text=True)
    assert "sms_provider_not_configured" in page and "Hidden Alias" not in page and "secret" not in page

    assert staff.post(f"/notifications/outbox/{message.id}/discard").status_code == 302
    with app.app_context():
        stored = db.session.get(OutboxMessage, message.id)
        assert stored.status == "discarded" and stored.link_enc is None
        actions = list(db.session.execute(select(AuditEntry.action)).scalars())
    assert "outbox.discard" in actions
    assert staff.post(f"/notifications/outbox/{message.id}/retry").status_code == 409  # no longer parked


def test_retrying_a_parked_message_queues_it_afresh(app, factory, browser):
    """Attempts start again from zero and the next dispatch picks it up."""
    coordinator = factory.user("coordinator")
    message = park(app, factory.referral(by=coordinator), "https://circles.example.org/l/again")
    assert browser(coordinator).post(f"/notifications/outbox/{message.id}/retry").status_code == 302
    with app.app_context():
        stored = db.session.get(OutboxMessage, message.id)
        assert (stored.status, stored.attempts, stored.last_error) == ("queued", 0, None)
        assert "outbox.retry" in list(db.session.execute(select(AuditEntry.action)).scalars())
