"""The outbox dispatcher: claim due messages, send them, record each outcome (at least once, never twice at once).

It runs as a job and owns its transactions: the claim commits before anything is sent, so no lock is held while
talking to a mail server. A batch is sent over OUTBOX_CONNECTIONS parallel SMTP connections, each thread with its
own database session; each message's claim is renewed just before it is sent and its outcome committed as soon as
it has left, so a crashed dispatcher leaves at most one message sent but unrecorded, and a standby takes the rest
once their lease (OUTBOX_CLAIM_LEASE_SECONDS, under a minute) has run out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, text, update

from coordinator import clock
from coordinator.accounts.models import User
from coordinator.consent.gates import contact_allowed
from coordinator.consent.queries import consent_overview
from coordinator.db import db, execute_counted
from coordinator.notifications.messages import MESSAGE_CONTEXT, MESSAGES
from coordinator.notifications.models import Channel, DeliveryStatus, OutboxMessage
from coordinator.notifications.transports import (
    DeliveryFailed,
    Email,
    EmailTransport,
    email_transport,
    sms_provider,
)
from coordinator.party_i18n import party_language
from coordinator.referrals.models import Party, PartyRole
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import on_call_phone, raise_task

log = logging.getLogger("coordinator.notifications")
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DispatchReport:
    """What one or more batches did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    parked: int = 0

    def __iadd__(self, other: DispatchReport) -> DispatchReport:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.parked += other.parked
        return self


def claim_due(worker: str, limit: int) -> list[uuid.UUID]:
    """Mark up to `limit` due messages as being sent by `worker`, and commit.

    PostgreSQL skips rows another dispatcher has locked; SQLite's BEGIN IMMEDIATE already lets one writer in.
    Messages a crashed dispatcher left in `sending` are taken again once their lease has run out.
    """
    now = clock.now()
    lease = timedelta(seconds=current_app.config["OUTBOX_CLAIM_LEASE_SECONDS"])
    due = (
        select(OutboxMessage.id)
        .where(or_(
            and_(OutboxMessage.status == DeliveryStatus.queued, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == DeliveryStatus.sending, OutboxMessage.claimed_at < now - lease),
        ))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.execute(due).scalars())
    if ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=DeliveryStatus.sending, claimed_at=now, claimed_by=worker)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return ids


def dispatch_batch(worker: str) -> DispatchReport:
    """Claim one batch and send it over parallel connections while it is rendered, committing each outcome as it
    comes."""
    ids = claim_due(worker, current_app.config["OUTBOX_BATCH_SIZE"])
    if not ids:
        return DispatchReport()
    messages = list(db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
    ).scalars())
    recipients = _recipients(messages)
    failures: dict[uuid.UUID, DeliveryFailed | None] = {}
    senders = _Senders(worker, min(current_app.config["OUTBOX_CONNECTIONS"], len(messages)))
    try:
        for message in messages:
            try:
                senders.put(message.id, message.recipient_id,
                            _render(message, recipients.get((message.recipient_kind, message.recipient_id))))
            except DeliveryFailed as failure:
                failures[message.id] = failure
            # Rendering only reads; ending its transaction after each message (objects stay loaded) lets the
            # senders' commits in between: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE).
            db.session.commit()
    finally:
        db.session.rollback()  # nothing is locked while talking to the outside
        report = senders.finish()
    report.claimed = len(ids)
    if failures:
        report += _settle(worker, failures)
    log.info("outbox batch: %d sent, %d to retry, %d parked", report.sent, report.retrying, report.parked)
    return report


class _Senders:
    """Threads, each with its own SMTP connection and database session, sending what the batch's renderer hands them.

    One recipient's messages all go to the same thread, so they arrive in the order they were queued (a cancellation
    never overtakes the invitation it cancels). The threads share one handover gate (`transports._Connection`):
    messages travel in parallel, but only one at a time is between leaving and being recorded, so a crash re-sends
    at most one message.
    """

    def __init__(self, worker: str, connections: int) -> None:
        self.worker = worker
        # The proxy's target, for the threads to push their own contexts of.
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.gate, self.guard = threading.Lock(), threading.Lock()
        # Each SMTP step may wait this long; four of them fit in a lease, so a live send never outlasts its claim.
        self.timeout = min(15.0, self.app.config["OUTBOX_CLAIM_LEASE_SECONDS"] / 5)
        self.report = DispatchReport()
        self.errors: list[BaseException] = []
        self.queues: list[queue.SimpleQueue[tuple[uuid.UUID, Email | Text] | None]] = [
            queue.SimpleQueue() for _ in range(max(connections, 1))]
        self.threads = [threading.Thread(target=self._run, args=(pending,), name=f"outbox-{number}", daemon=True)
                        for number, pending in enumerate(self.queues)]
        for thread in self.threads:
            thread.start()

    def put(self, message_id: uuid.UUID, recipient_id: uuid.UUID, rendered: Email | Text) -> None:
        """Hand one rendered message to its recipient's connection."""
        self.queues[recipient_id.int % len(self.queues)].put((message_id, rendered))

    def finish(self) -> DispatchReport:
        """Wait until every handed message is sent and recorded; re-raise what broke a thread."""
        for pending in self.queues:
            pending.put(None)
        for thread in self.threads:
            thread.join()
        if self.errors:
            raise self.errors[0]  # what was not recorded stays claimed and is sent again once its lease runs out
        return self.report

    def _run(self, pending: queue.SimpleQueue[tuple[uuid.UUID, Email | Text] | None]) -> None:
        try:
            with self.app.app_context():
                mail: EmailTransport | None = None
                try:
                    while (item := pending.get()) is not None:
                        if mail is None and isinstance(item[1], Email):  # connect only when there is mail
                            mail = email_transport(self.gate, self.timeout).__enter__()
                        report = _send_one(self.worker, mail, *item)
                        with self.guard:
                            self.report += report
                finally:
                    if mail is not None:
                        mail.__exit__(None, None, None)
        except BaseException as error:  # re-raised by the dispatching thread in finish()
            self.errors.append(error)


def _send_one(worker: str, mail: EmailTransport | None, message_id: uuid.UUID, rendered: Email | Text
              ) -> DispatchReport:
    """Renew the message's claim, send it, and commit its outcome at once."""
    if not _renew_claim(worker, message_id):
        return DispatchReport()  # our lease ran out and another dispatcher has it now
    if isinstance(rendered, Text):
        # A text carries its idempotency key, with which a provider refuses a repeat: it needs no handover gate.
        try:
            sms_provider().send(rendered.to, rendered.body, rendered.key)
            failure = None
        except DeliveryFailed as refused:
            failure = refused
        return _settle(worker, {message_id: failure})
    if mail is None:
        raise RuntimeError("an email to send without an email transport")
    settled: list[DispatchReport] = []
    mail.send(rendered, lambda failure: settled.append(_settle(worker, {message_id: failure})))
    return settled[0]


def _relaxed_commit() -> None:
    """Let this transaction's commit return before PostgreSQL has flushed it to disk.

    The outcome is still committed, visible and safe from a dispatcher's crash, which is what the outbox guards
    against; only a crash of the database server itself could forget the last fraction of a second of outcomes (and
    re-send those messages). Waiting for the disk inside the handover gate would make every message wait for it.
    """
    if db.dialect == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _renew_claim(worker: str, message_id: uuid.UUID) -> bool:
    """Start the message's lease again just before it is sent (the lease is per message); False if it is not ours."""
    _relaxed_commit()
    renewed = execute_counted(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker,
               OutboxMessage.status == DeliveryStatus.sending)
        .values(claimed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return renewed == 1


@dataclass(frozen=True)
class Text:
    """One rendered SMS: the number, the body and the message's idempotency key."""

    to: str
    body: str
    key: str


def _recipients(messages: list[OutboxMessage]) -> dict[tuple[str, uuid.UUID], User | Party]:
    """Load every recipient of a batch in two statements."""
    found: dict[tuple[str, uuid.UUID], User | Party] = {}
    if user_ids := {message.recipient_id for message in messages if message.recipient_kind == "user"}:
        for user in db.session.execute(select(User).where(User.id.in_(user_ids))).scalars():
            found[("user", user.id)] = user
    if party_ids := {message.recipient_id for message in messages if message.recipient_kind == "party"}:
        for party in db.session.execute(select(Party).where(Party.id.in_(party_ids))).scalars():
            found[("party", party.id)] = party
    return found


def _language(recipient: User | Party) -> str:
    """Staff read one of the staff languages; a party one of the thirteen party languages (English otherwise)."""
    if isinstance(recipient, Party):
        return party_language(recipient.preferred_language).locale
    languages = current_app.config["LANGUAGES"]
    return recipient.language if recipient.language in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _message_id(key: str) -> str:
    # Stable per idempotency key, so a message sent twice after a crash can be recognised as one.
    host = urlsplit(current_app.config["COORDINATOR_BASE_URL"]).hostname or "circlekeeper.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}>"


def may_reach(party: Party, template: str) -> bool:
    """Checked again when sending: the survivor may have withdrawn contact since the message was queued.

    Only the notice that an appointment will not take place still reaches a responsible party then.
    """
    if party.role != PartyRole.responsible_party or template == "appointment_cancelled":
        return True
    return contact_allowed(consent_overview(party.referral))


def _render(message: OutboxMessage, recipient: User | Party | None) -> Email | Text:
    """The message as it will leave, in the recipient's language; its address is read only now."""
    kind = MESSAGES[message.template]
    if recipient is None or (isinstance(recipient, User) and not recipient.active):
        raise DeliveryFailed("recipient_gone", permanent=True)
    if isinstance(recipient, Party) and not may_reach(recipient, kind.code):
        raise DeliveryFailed("contact_not_allowed", permanent=True)
    try:
        link = message.link or current_app.config["COORDINATOR_BASE_URL"] + kind.path(message.params)
    except KeyError:
        raise DeliveryFailed("incomplete_params", permanent=True) from None
    party = isinstance(recipient, Party)
    with force_locale(_language(recipient)):
        if message.channel == Channel.sms:
            phone = recipient.phone if isinstance(recipient, Party) else on_call_phone(recipient)
            if not phone or kind.sms is None:
                raise DeliveryFailed("no_phone_number", permanent=True)
            return Text(phone, str(kind.sms) % {"link": link}, message.idempotency_key)
        if not recipient.email:
            raise DeliveryFailed("no_email_address", permanent=True)
        subject = kind.party_subject if party else kind.subject
        if subject is None:
            raise DeliveryFailed("no_template_for_recipient", permanent=True)
        context = {"link": link, "recipient_name": recipient.name if isinstance(recipient, User) else None,
                   "params": message.params}
        if party and (builder := MESSAGE_CONTEXT.get(kind.code)):
            context |= builder(dict(message.params), recipient)
        folder = "emails/party" if party else "emails"
        return Email(
            to=recipient.email,
            subject=str(subject),
            text=render_template(f"{folder}/{kind.code}.txt", **context),
            html=render_template(f"{folder}/{kind.code}.html", **context),
            message_id=_message_id(message.idempotency_key),
        )


def _settle(worker: str, outcomes: dict[uuid.UUID, DeliveryFailed | None]) -> DispatchReport:
    """Record outcomes of messages this worker still holds, and commit."""
    config = current_app.config
    now = clock.now()
    report = DispatchReport()
    _relaxed_commit()
    if len(outcomes) == 1 and None in outcomes.values():  # one message that left: one statement, no loading
        report.sent = execute_counted(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(outcomes)), OutboxMessage.claimed_by == worker,
                   OutboxMessage.status == DeliveryStatus.sending)
            # a secret link is not kept once it has left
            .values(status=DeliveryStatus.sent, sent_at=now, last_error=None, link_enc=None, claimed_at=None,
                    claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return report
    rows = db.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(list(outcomes)), OutboxMessage.claimed_by == worker,
               OutboxMessage.status == DeliveryStatus.sending)
        .with_for_update()
    ).scalars()
    for message in rows:
        failure = outcomes[message.id]
        message.claimed_at = message.claimed_by = None
        if failure is None:
            message.status, message.sent_at, message.last_error = DeliveryStatus.sent, now, None
            message.link = None  # a secret link is not kept once it has left
            report.sent += 1
            continue
        message.attempts += 1
        message.last_error = failure.reason[:200]
        if failure.permanent or message.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
            message.status = DeliveryStatus.parked
            raise_task(TaskKind.message_parked, source=f"message:{message.id}", referral_id=message.referral_id,
                       subject_id=message.id, params={"channel": message.channel, "template": message.template})
            report.parked += 1
        else:
            backoff = timedelta(seconds=config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** (message.attempts - 1))
            message.status, message.next_attempt_at = DeliveryStatus.queued, now + min(backoff, MAX_BACKOFF)
            report.retrying += 1
    db.session.commit()
    return report


def dispatch_outbox(worker: str, max_batches: int = 50) -> DispatchReport:
    """Send every due message, batch after batch (bounded, so one run never hogs the scheduler)."""
    total = DispatchReport()
    for _ in range(max_batches):
        report = dispatch_batch(worker)
        total += report
        if report.claimed < current_app.config["OUTBOX_BATCH_SIZE"]:
            break
    return total


def worker_name() -> str:
    """This process and thread, as claims name them."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"
