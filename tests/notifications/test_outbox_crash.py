"""The outbox under crashes and in parallel: a killed dispatcher re-sends at most one message, a standby takes the
rest within a minute, and parallel SMTP connections still send each message once (issue 12 finding 4, issue 15)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import timedelta

from sqlalchemy import func, select

from coordinator.db import db
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import Channel, DeliveryStatus, OutboxMessage
from coordinator.notifications.service import notify_staff, queue_message
from coordinator.referrals.models import Referral
from tests.conftest import make_app
from tests.notifications.test_outbox import REFERRAL, dispatch, move_clock, outbox

MESSAGES = 120


def _queue(app, factory, count: int) -> None:
    users = [factory.user("facilitator") for _ in range(10)]
    with app.app_context():
        merged = [db.session.merge(user) for user in users]
        for number in range(count // len(users)):
            notify_staff(merged, "referral_assigned", key=f"crash-{number}", params=REFERRAL)
        db.session.commit()


def _dispatch_until_killed(database_url: str, settings: dict) -> None:
    app = make_app(database_url, **settings)
    with app.app_context():
        dispatch_outbox("doomed")


def _sent_rows(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status == DeliveryStatus.sent)).scalar_one()


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_a_standby_sends_at_most_one_twice(
        app, factory, smtp, database_url, app_settings):
    """SIGKILL while one batch is half sent over four connections: every outcome that left was already committed
    (but the one in flight), the standby waits for the lease and then sends the rest: 0 lost, at most 1 twice."""
    _queue(app, factory, MESSAGES)
    smtp.controller.delay = 0.02  # a relay 20 ms away: the batch takes seconds, so the kill lands inside it
    settings = {**app_settings, "OUTBOX_BATCH_SIZE": "500", "OUTBOX_CONNECTIONS": "4",
                "COORDINATOR_ENCRYPTION_KEYS": app.config["COORDINATOR_ENCRYPTION_KEYS"]}
    context = multiprocessing.get_context("spawn")
    doomed = context.Process(target=_dispatch_until_killed, args=(database_url, settings))
    doomed.start()
    deadline = time.monotonic() + 180
    while len(smtp.inbox.messages) < 30 and doomed.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(30)
    time.sleep(0.5)  # let the server finish whatever it was receiving
    delivered = len(smtp.inbox.messages)
    assert 30 <= delivered < MESSAGES, "the kill must land mid-batch"
    assert delivered - _sent_rows(app) in (0, 1)  # each outcome was committed as soon as its message left

    assert dispatch(app, "standby").claimed == 0  # the doomed dispatcher's claims still hold
    move_clock(app, timedelta(seconds=50))  # past the 45 s lease: a standby picks up within a minute
    dispatch(app, "standby")

    ids = [message["message_id"] for message in smtp.inbox.messages]
    assert len(set(ids)) == MESSAGES  # none lost
    assert len(ids) - MESSAGES <= 1  # at most the one in flight, twice
    assert {row.status for row in outbox(app)} == {"sent"}


def test_a_batch_goes_out_over_parallel_connections_each_message_once(app, factory, smtp, app_settings):
    """Parallel SMTP connections, texts through the SMS provider beside them, every message exactly once."""
    _queue(app, factory, 60)
    referral = factory.referral(survivor={"preferred_language": "es", "contact": {"phone": "+34 600 111 222"}})
    with app.app_context():
        survivor_id = db.session.get(Referral, referral.id).survivor.id
        for number in range(3):
            queue_message(Channel.sms, "party_update", recipient_kind="party", recipient_id=survivor_id,
                          key=f"sms-{number}", link=f"https://circles.example.org/p/token-{number}")
        db.session.commit()
    emails = sum(row.channel == Channel.email for row in outbox(app))
    smtp.controller.delay = 0.01

    report = dispatch(app)

    assert report.sent == emails + 3
    # A recipient's messages keep to one connection (in order); each connection the recipients map to was used.
    recipients = {row.recipient_id.int % 4 for row in outbox(app) if row.channel == Channel.email}
    assert len({message["peer"] for message in smtp.inbox.messages}) == len(recipients) > 1
    assert len(smtp.inbox.messages) == len({message["message_id"] for message in smtp.inbox.messages}) == emails
    assert len(app.extensions["sms_provider"].sent) == 3
    assert {row.status for row in outbox(app)} == {"sent"}
