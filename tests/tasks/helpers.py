"""Helpers for the queue's tests: the tasks as stored, and the on-call coordinator."""

from __future__ import annotations

from sqlalchemy import select

from coordinator.db import db
from coordinator.tasks.models import Task
from coordinator.tasks.service import set_on_call


def tasks(app, kind: str | None = None) -> list[Task]:
    """Every task (of one kind), oldest first."""
    with app.app_context():
        query = select(Task).order_by(Task.created_at, Task.id)
        if kind is not None:
            query = query.where(Task.kind == kind)
        return list(db.session.execute(query).scalars())


def put_on_call(app, actor, coordinator, phone: str | None = "+34 600 000 009") -> None:
    """Name `coordinator` on call, with a number for texts."""
    with app.app_context():
        set_on_call(db.session.merge(actor), coordinator.id, phone)
        db.session.commit()
