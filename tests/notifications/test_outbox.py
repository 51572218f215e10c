"""The outbox over real SMTP: delivery in the recipient's language, transactions, retries, parking, concurrency."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

from sqlalchemy import func, select, text

from coordinator import clock
from coordinator.accounts.models import SYSTEM, User
from coordinator.accounts.service import deactivate_user
from coordinator.db import db
from coordinator.notifications.dispatch import dispatch_outbox
from coordinator.notifications.models import Channel, DeliveryStatus, OutboxMessage
from coordinator.notifications.service import notify_staff, queue_message
from coordinator.referrals.schemas import ReferralIn
from coordinator.referrals.service import create_referral
from tests.conftest import make_app
from tests.factories import referral_payload

REFERRAL = {"referral_id": "5b0c2a51-0000-4000-8000-000000000001"}  # where the messages' links point


def dispatch(app, worker: str = "test"):
    """Run the dispatcher once, as the job does."""
    with app.app_context():
        return dispatch_outbox(worker)


def outbox(app) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with app.app_context():
        return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at)).scalars())


def move_clock(app, delta: timedelta) -> None:
    """Move the service's clock forward from its current reading."""
    with app.app_context():
        clock.set_clock(clock.now() + delta)
        db.session.commit()


def test_a_new_referral_reaches_the_other_coordinators_in_their_language(app, factory, api, smtp):
    """Spanish for the Spanish-speaking coordinator, with the link, and nothing of the case."""
    colleague = factory.user("coordinator", language="es", name="Marta Testera")
    referrer = factory.user("coordinator")
    payload = referral_payload(survivor={"alias": "Alias Secreto"}, responsible_party={"alias": "Otro Alias"},
                               case={"docket_number": "DOCKET-991", "charges": ["Cargo muy concreto"]},
                               notes="nota reservada")
    referral = api(referrer).post("/api/v1/referrals", json=payload).get_json()

    report = dispatch(app)

    assert report.sent == 1
    [email] = smtp.inbox.to(colleague.email)
    assert email["subject"] == "Ha llegado una nueva derivación"
    assert f"https://circles.example.org/referrals/{referral['id']}" in email["text"]
    assert f"https://circles.example.org/referrals/{referral['id']}" in email["html"]
    assert "Marta Testera" in email["text"]  # the recipient's own name is fine
    for secret in ("Alias Secreto", "Otro Alias", "DOCKET-991", "Cargo muy concreto", "nota reservada",
                   referral["reference"], referrer.email):
        for part in ("subject", "text", "html"):
            assert secret not in email[part], (secret, part)
    assert smtp.inbox.to(referrer.email) == []  # the referrer knows already


def test_newly_assigned_facilitators_are_told_once(app, factory, api, smtp):
    """Each new facilitator gets one email in French or English; keeping them assigned sends nothing more."""
    coordinator = factory.user("coordinator")
    lead, co, other = (factory.user("facilitator", language=language) for language in ("fr", "en", "en"))
    referral = factory.referral(by=coordinator)
    client = api(coordinator)
    url = f"/api/v1/referrals/{referral.id}/facilitators"
    client.put(url, json={"lead": str(lead.id), "co": str(co.id)})
    client.put(url, json={"lead": str(co.id), "co": str(lead.id)})  # same two people, swapped
    client.put(url, json={"lead": str(co.id), "co": str(other.id)})

    dispatch(app)

    assert [m["subject"] for m in smtp.inbox.to(lead.email)] == ["Vous avez été désigné·e pour une orientation"]
    assert [m["subject"] for m in smtp.inbox.to(co.email)] == ["You have been assigned to a referral"]
    assert len(smtp.inbox.to(other.email)) == 1
    assert f"/referrals/{referral.id}" in smtp.inbox.to(other.email)[0]["text"]


def test_a_rolled_back_change_sends_nothing(app, factory, smtp):
    """The notification is written in the change's transaction and goes with it."""
    factory.user("coordinator")
    referrer = factory.user("prosecutor")
    with app.app_context():
        create_referral(db.session.merge(referrer), ReferralIn.model_validate(referral_payload()))
        assert db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 1
        db.session.rollback()
    assert outbox(app) == []
    assert dispatch(app).claimed == 0 and smtp.inbox.messages == []


def test_a_refused_request_queues_nothing(app, factory, api, smtp):
    """An intake that fails validation leaves no message behind."""
    factory.user("coordinator")
    response = api(factory.user("prosecutor")).post("/api/v1/referrals",
                                                    json=referral_payload(case={"stage": "unknown"}))
    assert response.status_code == 400
    assert outbox(app) == []


def test_with_the_server_down_messages_are_retried_then_parked_and_none_is_lost(app, factory, browser, smtp):
    """Backoff doubles, a parked message waits for a coordinator, and it goes out once the server is back."""
    coordinator = factory.user("coordinator")
    recipients = [factory.user("facilitator") for _ in range(3)]
    with app.app_context():
        notify_staff([db.session.merge(user) for user in recipients], "referral_assigned", key="down-test",
                     params=REFERRAL)
        db.session.commit()
    smtp.stop()

    delays = []
    for attempt in range(1, 5):
        report = dispatch(app)
        assert report.claimed == 3 and report.sent == 0
        rows = outbox(app)
        assert {row.attempts for row in rows} == {attempt}
        if attempt < 4:
            assert {row.status for row in rows} == {"queued"}
            delays.append(rows[0].next_attempt_at)
            assert dispatch(app).claimed == 0  # not due yet
            move_clock(app, timedelta(seconds=60 * 2 ** (attempt - 1) + 1))
    assert {row.status for row in outbox(app)} == {"parked"}
    assert all(row.last_error.startswith("smtp_unavailable") for row in outbox(app))
    assert (delays[1] - delays[0]) > (delays[0] - rows[0].created_at)  # the pause grows

    smtp.start()
    page = browser(coordinator).get("/notifications/outbox")
    assert page.status_code == 200 and page.get_data(as_text=True).count("Send again") == 3
    staff = browser(coordinator)
    for row in outbox(app):
        assert staff.post(f"/notifications/outbox/{row.id}/retry").status_code == 302
    assert dispatch(app).sent == 3
    assert sorted(m["to"][0] for m in smtp.inbox.messages) == sorted(user.email for user in recipients)
    assert {row.status for row in outbox(app)} == {"sent"}


def test_queued_messages_go_out_when_the_server_is_back(app, factory, smtp):
    """A message that failed once is sent at its next attempt."""
    user = factory.user("facilitator")
    with app.app_context():
        notify_staff([db.session.merge(user)], "referral_assigned", key="back-test", params=REFERRAL)
        db.session.commit()
    smtp.stop()
    dispatch(app)
    smtp.start()
    move_clock(app, timedelta(minutes=2))
    assert dispatch(app).sent == 1
    assert len(smtp.inbox.to(user.email)) == 1


def test_a_refused_recipient_is_parked_at_once(app, factory, smtp):
    """A permanent refusal is not retried."""
    user = factory.user("facilitator", email="please-refuse@staff.example")
    with app.app_context():
        notify_staff([db.session.merge(user)], "referral_assigned", key="refuse-test", params=REFERRAL)
        db.session.commit()
    report = dispatch(app)
    [row] = outbox(app)
    assert report.parked == 1 and row.status == "parked" and row.attempts == 1
    assert row.last_error == "recipient_refused:550"
    assert "please-refuse" not in row.last_error


def test_a_message_left_sending_by_a_crashed_dispatcher_is_sent_after_its_lease(app, factory, smtp):
    """At least once: a claim that was never finished is taken again."""
    user = factory.user("facilitator")
    with app.app_context():
        notify_staff([db.session.merge(user)], "referral_assigned", key="crash-test", params=REFERRAL)
        db.session.commit()
        db.session.execute(text("UPDATE outbox_messages SET status = 'sending', claimed_by = 'dead', "
                                "claimed_at = next_attempt_at"))
        db.session.commit()
    assert dispatch(app).claimed == 0
    move_clock(app, timedelta(minutes=6))
    assert dispatch(app).sent == 1
    assert len(smtp.inbox.to(user.email)) == 1


def _dispatch_in_a_process(database_url: str, settings: dict, worker: str, queue) -> None:
    app = make_app(database_url, **settings)
    with app.app_context():
        report = dispatch_outbox(worker)
    queue.put(report.sent)


def test_two_dispatchers_at_once_send_each_message_once(app, factory, smtp, database_url, app_settings):
    """Two processes draining the same outbox: every message arrives exactly once."""
    users = [factory.user("facilitator") for _ in range(5)]
    with app.app_context():
        merged = [db.session.merge(user) for user in users]
        for number in range(60):
            notify_staff(merged, "referral_assigned", key=f"race-{number}", params=REFERRAL)
        db.session.commit()
    settings = {**app_settings, "OUTBOX_BATCH_SIZE": "20",
                "COORDINATOR_ENCRYPTION_KEYS": app.config["COORDINATOR_ENCRYPTION_KEYS"]}
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_dispatch_in_a_process, args=(database_url, settings, f"w{n}", results))
               for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    sent = [results.get(timeout=5) for _ in workers]

    assert sum(sent) == 300
    assert len(smtp.inbox.messages) == 300
    assert len({m["message_id"] for m in smtp.inbox.messages}) == 300
    assert {row.status for row in outbox(app)} == {"sent"}


def test_the_same_notification_is_queued_once(app, factory, smtp):
    """The idempotency key makes a repeated queueing a no-op."""
    user = factory.user("facilitator")
    with app.app_context():
        for _ in range(3):
            queue_message(Channel.email, "referral_assigned", recipient_kind="user", recipient_id=user.id,
                          key="same-key", params=REFERRAL)
        db.session.commit()
    assert len(outbox(app)) == 1
    dispatch(app)
    assert len(smtp.inbox.messages) == 1


def test_texts_to_parties_are_neutral_and_carry_only_their_link(app, factory, smtp):
    """An SMS through the provider interface: the neutral sentence and the link, in the party's language."""
    referral = factory.referral(survivor={"alias": "Nadie", "preferred_language": "es",
                                          "contact": {"phone": "+34 600 111 222"}})
    with app.app_context():
        survivor_id = db.session.get(type(referral), referral.id).survivor.id
        queue_message(Channel.sms, "party_update", recipient_kind="party", recipient_id=survivor_id,
                      key="sms-test", link="https://circles.example.org/l/secret-token-123")
        db.session.commit()
    dispatch(app)
    [sent] = app.extensions["sms_provider"].sent
    assert sent["to"] == "+34 600 111 222"
    assert sent["body"] == "Tiene un nuevo mensaje sobre su cita: https://circles.example.org/l/secret-token-123"
    [row] = outbox(app)
    assert row.status == "sent" and row.link_enc is None  # the secret link is not kept once sent


def test_a_party_email_is_neutral(app, factory, smtp):
    """No name, not even the party's own alias, and no case detail."""
    referral = factory.referral(survivor={"alias": "Alias Privado", "preferred_language": "fr",
                                          "contact": {"email": "party@example.org"}},
                                case={"docket_number": "SECRET-DOCKET"})
    with app.app_context():
        survivor_id = db.session.get(type(referral), referral.id).survivor.id
        queue_message(Channel.email, "party_update", recipient_kind="party", recipient_id=survivor_id,
                      key="party-mail", link="https://circles.example.org/l/another-secret")
        db.session.commit()
    dispatch(app)
    [email] = smtp.inbox.to("party@example.org")
    assert email["subject"] == "Vous avez un nouveau message au sujet de votre rendez-vous"
    assert "https://circles.example.org/l/another-secret" in email["text"]
    for secret in ("Alias Privado", "SECRET-DOCKET", "Human trafficking", referral.reference):
        assert secret not in email["subject"] + email["text"] + email["html"]


def test_outbox_rows_hold_no_address_or_text(app, factory, smtp):
    """Addresses are looked up when sending; the row keeps ids and codes only."""
    user = factory.user("facilitator", email="findable-address@staff.example")
    with app.app_context():
        notify_staff([db.session.merge(user)], "referral_assigned", key="privacy-test", params=REFERRAL)
        db.session.commit()
    with app.extensions["db_engine"].connect() as connection:
        rows = [" ".join(str(value) for value in row) for row in connection.execute(
            text("SELECT * FROM outbox_messages"))]
    assert rows and all("findable-address" not in row and "assigned" not in row.replace("referral_assigned", "")
                        for row in rows)


def test_deactivated_staff_get_nothing(app, factory, smtp):
    """A message to someone deactivated meanwhile is parked, not sent."""
    user = factory.user("facilitator")
    with app.app_context():
        notify_staff([db.session.merge(user)], "referral_assigned", key="gone-test", params=REFERRAL)
        db.session.commit()
        deactivate_user(SYSTEM, db.session.get(User, user.id))
        db.session.commit()
    assert dispatch(app).parked == 1 and smtp.inbox.messages == []
    assert outbox(app)[0].status == DeliveryStatus.parked
