"""Queue messages in the caller's transaction, keep the staff's in-app notices, and manage parked messages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.audit.service import record
from coordinator.crypto import seal_context, seal_value
from coordinator.db import atomic, db, execute_counted, get_row, new_id
from coordinator.errors import Conflict, Forbidden, NotFound
from coordinator.notifications.messages import MESSAGES
from coordinator.notifications.models import Channel, DeliveryStatus, OutboxMessage, StaffNotice
from coordinator.pagination import Page, paginate
from coordinator.referrals.models import Referral

# A coordinator retried or discarded a parked message; the queue (coordinator/tasks/subscribers.py) closes its task.
# The sender is the message; kwargs: actor.
parked_message_handled = Namespace().signal("parked-message-handled")


def queue_message(channel: Channel, template: str, *, recipient_kind: str, recipient_id: uuid.UUID,
                  key: str, referral_id: uuid.UUID | None = None, params: dict[str, Any] | None = None,
                  link: str | None = None) -> None:
    """Add a message to the outbox in the current transaction; a second message with the same key is ignored.

    `params` hold ids and codes only. `link` is a secret URL (a party's secure link), kept encrypted.
    """
    if template not in MESSAGES:
        raise ValueError(f"unknown message template {template!r}")
    message_id = new_id()
    values = {
        "id": message_id,
        "idempotency_key": key,
        "channel": channel,
        "template": template,
        "recipient_kind": recipient_kind,
        "recipient_id": recipient_id,
        "referral_id": referral_id,
        "params": params or {},
        "link_enc": seal_value(referral_id, link, seal_context("outbox_messages", "link_enc", message_id)) if link
        else None,
        "status": DeliveryStatus.queued,
        "attempts": 0,
        "next_attempt_at": clock.now(),
        "created_at": clock.now(),
    }
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(OutboxMessage)
    db.session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"]))


def notify_staff(users: Iterable[User], template: str, *, key: str, referral: Referral | None = None,
                 params: dict[str, Any] | None = None, email: bool = True) -> None:
    """An in-app notice for each staff member, and an email unless `email` is False, all in this transaction.

    `key` names the event: notifying about the same event again changes nothing.
    """
    params = dict(params or {})
    if referral is not None:
        params.setdefault("referral_id", str(referral.id))
        params.setdefault("reference", referral.reference)
    now = clock.now()
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(StaffNotice)
    for user in users:
        if not user.active:
            continue
        db.session.execute(insert.values(
            id=new_id(), key=f"{key}:user:{user.id}", user_id=user.id, template=template, params=params,
            referral_id=referral.id if referral else None, created_at=now,
        ).on_conflict_do_nothing(index_elements=["key"]))
        if email:
            queue_message(Channel.email, template, recipient_kind="user", recipient_id=user.id,
                          key=f"{key}:user:{user.id}:email", referral_id=referral.id if referral else None,
                          params={k: v for k, v in params.items() if k != "reference"})
    db.session.flush()


def coordinators() -> list[User]:
    """Every active coordinator."""
    return list(db.session.execute(
        select(User).where(User.role == Role.coordinator, User.active.is_(True))
    ).scalars())


def unread_count(user: User) -> int:
    """How many in-app notices the user has not opened."""
    return db.session.execute(
        select(func.count()).select_from(StaffNotice)
        .where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))
    ).scalar_one()


def list_notices(user: User, page: int | None = None) -> Page:
    """The user's notices, newest first."""
    query = (select(StaffNotice).where(StaffNotice.user_id == user.id)
             .order_by(StaffNotice.created_at.desc(), StaffNotice.id.desc()))
    return paginate(query, page, None)


def notice_text(notice: StaffNotice) -> str:
    """The notice in the reader's language."""
    kind = MESSAGES.get(notice.template)
    if kind is None or kind.notice is None:
        return notice.template
    return str(kind.notice) % dict(notice.params)


def notice_path(notice: StaffNotice) -> str:
    """Where the notice leads."""
    kind = MESSAGES.get(notice.template)
    return kind.path(notice.params) if kind else "/notifications"


@atomic
def open_notice(user: User, notice_id: uuid.UUID | str) -> StaffNotice:
    """Mark one of the user's notices read and return it."""
    notice = _owned_notice(user, notice_id)
    if notice.read_at is None:
        notice.read_at = clock.now()
    return notice


@atomic
def mark_all_read(user: User) -> int:
    """Mark every unread notice of the user read; returns how many."""
    return execute_counted(
        update(StaffNotice).where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))
        .values(read_at=clock.now()).execution_options(synchronize_session=False)
    )


def _owned_notice(user: User, notice_id: uuid.UUID | str) -> StaffNotice:
    notice = get_row(StaffNotice, notice_id)
    if notice.user_id != user.id:
        raise NotFound(_("Not found."))
    return notice


def _require_coordinator(actor: Actor) -> None:
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators manage undelivered messages."))


def list_outbox(actor: Actor, status: str = DeliveryStatus.parked, page: int | None = None) -> Page:
    """Messages in one delivery status, oldest first (coordinators)."""
    _require_coordinator(actor)
    query = (select(OutboxMessage).where(OutboxMessage.status == status)
             .order_by(OutboxMessage.created_at, OutboxMessage.id))
    return paginate(query, page, None)


def outbox_counts(actor: Actor) -> dict[str, int]:
    """How many messages are in each delivery status (coordinators)."""
    _require_coordinator(actor)
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    counts: dict[str, int] = dict.fromkeys(DeliveryStatus, 0)
    return counts | dict(rows)


def _parked(actor: Actor, message_id: uuid.UUID | str) -> OutboxMessage:
    _require_coordinator(actor)
    message = get_row(OutboxMessage, message_id)
    if message.status != DeliveryStatus.parked:
        raise Conflict(_("Only messages that could not be sent can be retried or discarded."),
                       {"code": "not_parked"})
    return message


@atomic
def retry_parked(actor: Actor, message_id: uuid.UUID | str) -> OutboxMessage:
    """Give a parked message a fresh set of attempts, starting now."""
    message = _parked(actor, message_id)
    message.status = DeliveryStatus.queued
    message.attempts = 0
    message.next_attempt_at = clock.now()
    message.last_error = None
    record(actor, "outbox.retry", message, referral_id=message.referral_id)
    parked_message_handled.send(message, actor=actor)
    return message


@atomic
def discard_parked(actor: Actor, message_id: uuid.UUID | str) -> OutboxMessage:
    """Give up on a parked message; its secret link is wiped."""
    message = _parked(actor, message_id)
    message.status = DeliveryStatus.discarded
    message.link = None
    record(actor, "outbox.discard", message, referral_id=message.referral_id)
    parked_message_handled.send(message, actor=actor)
    return message
