"""Raise, close and list the queue's tasks (docs/design.md section 7a): one task per event, closed by acting on it
or dismissed with a reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.audit.service import record
from coordinator.db import atomic, db, execute_counted, new_id
from coordinator.errors import Conflict, Forbidden, InvalidRequest, NotFound
from coordinator.notifications.models import Channel
from coordinator.notifications.service import queue_message
from coordinator.pagination import Page, paginate
from coordinator.referrals.models import Referral
from coordinator.referrals.service import visible_to
from coordinator.tasks.models import ON_CALL_ID, ROUTINE, URGENT, OnCall, Task, TaskKind, TaskState

MAX_NOTE = 2000
QUEUE_ROLES = (Role.coordinator, Role.facilitator)
# How long each kind may wait when its source gives no due time of its own.
DUE_WITHIN: dict[str, timedelta] = {
    TaskKind.unsafe_report: timedelta(0),
    TaskKind.consent_withdrawn: timedelta(days=1),
    TaskKind.regrant_after_withdrawal: timedelta(days=2),
    TaskKind.circle_not_ready: timedelta(days=1),
    TaskKind.item_overdue: timedelta(days=3),
    TaskKind.message_parked: timedelta(days=1),
    TaskKind.link_expiring: timedelta(days=1),
    TaskKind.erasure_due: timedelta(days=7),
}


def on_call() -> OnCall:
    """The programme's on-call setting, as saved (an empty one before anyone set it)."""
    return db.session.get(OnCall, ON_CALL_ID) or OnCall(id=ON_CALL_ID)


def on_call_phone(user: User) -> str | None:
    """The number a text to this staff member goes to: only the on-call coordinator has one."""
    setting = db.session.get(OnCall, ON_CALL_ID)
    return setting.phone if setting is not None and setting.coordinator_id == user.id else None


@atomic
def set_on_call(actor: Actor, coordinator_id: uuid.UUID | None, phone: str | None) -> OnCall:
    """Name the on-call coordinator and the number their texts go to (admins and coordinators)."""
    if not actor.has_role(Role.admin, Role.coordinator):
        raise Forbidden(_("Only admins and coordinators set who is on call."))
    if coordinator_id is not None:
        user = db.session.get(User, coordinator_id)
        if user is None or not user.active or user.role != Role.coordinator:
            raise InvalidRequest.field(_("Check the highlighted fields."), "coordinator_id",
                                       _("Choose an active coordinator."))
    phone = (phone or "").strip() or None
    if phone is not None and not (phone.startswith("+") and phone[1:].replace(" ", "").isdigit() and
                                  8 <= len(phone.replace(" ", "")) <= 16):
        raise InvalidRequest.field(_("Check the highlighted fields."), "phone",
                                   _("Enter the number in international form, for example +34 600 000 000."))
    setting = on_call()
    db.session.add(setting)  # the first time, the row is made now
    setting.coordinator_id, setting.phone = coordinator_id, phone
    setting.updated_at, setting.updated_by_id = clock.now(), actor.id
    db.session.flush()
    record(actor, "on_call.set", setting, details={"coordinator_id": str(coordinator_id) if coordinator_id else None})
    return setting


def raise_task(kind: TaskKind, *, source: str, referral_id: uuid.UUID | None = None,
               subject_id: uuid.UUID | None = None, due_at: datetime | None = None,
               params: dict[str, Any] | None = None) -> None:
    """One task for one event, in the caller's transaction: raising the same (kind, source) again changes nothing.

    `params` hold codes and counts only; the task names no person. Its owner is the on-call coordinator, if one is
    set (otherwise every coordinator sees it unowned). An unsafe report also reaches the on-call coordinator at
    once, by email and text.
    """
    now = clock.now()
    setting = on_call()
    task_id = new_id()
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(Task)
    inserted = execute_counted(insert.values(
        id=task_id, kind=kind, source_key=source[:200], referral_id=referral_id,
        subject_id=subject_id, owner_id=setting.coordinator_id, params=params or {},
        priority=URGENT if kind == TaskKind.unsafe_report else ROUTINE,
        due_at=due_at or now + DUE_WITHIN[kind], state=TaskState.open, created_at=now,
    ).on_conflict_do_nothing(index_elements=["kind", "source_key"]))
    if inserted and kind == TaskKind.unsafe_report and setting.coordinator_id is not None:
        _alert_on_call(setting.coordinator_id, setting.phone, task_id, referral_id)
    db.session.flush()


def _alert_on_call(coordinator_id: uuid.UUID, phone: str | None, task_id: uuid.UUID,
                   referral_id: uuid.UUID | None) -> None:
    """An unsafe report cannot wait for someone to open the queue: email and text the on-call coordinator."""
    params = {"referral_id": str(referral_id)} if referral_id else {}
    for channel in (Channel.email, Channel.sms):
        if channel == Channel.sms and not phone:
            continue
        queue_message(channel, "unsafe_reported", recipient_kind="user", recipient_id=coordinator_id,
                      key=f"task:{task_id}:on_call:{channel}", referral_id=referral_id,
                      params=params)


def close_tasks(actor: Actor, kinds: Iterable[str], *, subject_id: uuid.UUID | None = None,
                referral_ids: Iterable[uuid.UUID] | None = None) -> int:
    """Acting on what a task is about closes it as done: the open tasks of these kinds about this subject (or, with
    no subject, about these referrals), in the caller's transaction. Returns how many closed."""
    if subject_id is None and referral_ids is None:
        raise ValueError("close_tasks needs a subject or referrals")
    about = Task.subject_id == subject_id if subject_id is not None else Task.referral_id.in_(list(referral_ids or []))
    return execute_counted(
        update(Task).where(about, Task.kind.in_(list(kinds)), Task.state == TaskState.open)
        .values(state=TaskState.done, closed_at=clock.now(), closed_by_id=_user_id(actor))
        .execution_options(synchronize_session=False)
    )


def _user_id(actor: Actor) -> uuid.UUID | None:
    return actor.id if isinstance(actor, User) else None


def require_queue_reader(actor: Actor) -> None:
    """Coordinators and facilitators have a queue; nobody else does."""
    if not actor.has_role(*QUEUE_ROLES):
        raise Forbidden(_("Only coordinators and facilitators have a queue."))


def _in_scope(actor: Actor) -> ColumnElement[bool]:
    """Coordinators see every task; a facilitator the tasks of their own referrals (docs/design.md rule 6)."""
    if actor.has_role(Role.coordinator):
        return true()
    return Task.referral_id.in_(select(Referral.id).where(visible_to(actor)))


def _queue(actor: Actor, state: str) -> Select:
    states = [TaskState.open] if state == TaskState.open else [TaskState.done, TaskState.dismissed]
    query = select(Task).where(Task.state.in_(states), _in_scope(actor))
    if state == TaskState.open:
        return query.order_by(Task.priority, Task.due_at, Task.id)
    return query.order_by(Task.closed_at.desc(), Task.id)


def list_tasks(actor: Actor, state: str = TaskState.open, page: int | None = None,
               per_page: int | None = None) -> Page:
    """The actor's queue: open tasks unsafe reports first, then by due time; or the closed ones, latest first."""
    require_queue_reader(actor)
    return paginate(_queue(actor, state), page, per_page)


def open_counts(actor: Actor) -> tuple[int, int]:
    """How many open tasks the actor's queue holds, and how many of them are unsafe reports (for the header)."""
    if not actor.has_role(*QUEUE_ROLES):
        return 0, 0
    rows = db.session.execute(
        select(Task.priority, func.count()).where(Task.state == TaskState.open, _in_scope(actor))
        .group_by(Task.priority)
    ).all()
    counts: dict[int, int] = {int(row[0]): int(row[1]) for row in rows}
    return sum(counts.values()), counts.get(URGENT, 0)


def load_task(actor: Actor, task_id: uuid.UUID | str) -> Task:
    """A task in the actor's scope; NotFound otherwise, as if it did not exist."""
    require_queue_reader(actor)
    try:
        key = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except ValueError:
        raise NotFound(_("Not found.")) from None
    task = db.session.execute(select(Task).where(Task.id == key, _in_scope(actor))).scalar_one_or_none()
    if task is None:
        raise NotFound(_("Not found."))
    return task


def _close(actor: Actor, task: Task, state: TaskState, note: str | None) -> Task:
    if task.state != TaskState.open:
        raise Conflict(_("This task is already closed."), {"code": "task_closed"})
    task.state, task.closed_at, task.closed_by_id = state, clock.now(), _user_id(actor)
    task.note = note
    record(actor, f"task.{state}", task, referral_id=task.referral_id, details={"kind": task.kind})
    return task


def _text(value: str | None, field: str, *, required: bool) -> str | None:
    value = (value or "").strip() or None
    if required and value is None:
        raise InvalidRequest.field(_("Check the highlighted fields."), field, _("Say why it needs nothing more."))
    if value is not None and len(value) > MAX_NOTE:
        raise InvalidRequest.field(_("Check the highlighted fields."), field,
                                   _("Keep it under %(max)d characters.", max=MAX_NOTE))
    return value


@atomic
def complete_task(actor: Actor, task: Task, note: str | None = None) -> Task:
    """Mark a task done by hand, with an optional note (audited)."""
    return _close(actor, task, TaskState.done, _text(note, "note", required=False))


@atomic
def dismiss_task(actor: Actor, task: Task, reason: str | None) -> Task:
    """Dismiss a task: it needs nothing more, and the reason says why (audited)."""
    return _close(actor, task, TaskState.dismissed, _text(reason, "reason", required=True))
