"""JSON routes of the coordinator's queue (docs/api.md "The coordinator's queue, retention, a person's data")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.inputs import MAX_PAGE, QueryModel
from coordinator.referrals.schemas import Strict
from coordinator.tasks import service
from coordinator.tasks import subscribers as subscribers  # connects what closes a task when someone acts
from coordinator.tasks.models import Task, TaskKind, TaskState

bp = api_blueprint("tasks_api", __name__, "tasks")
# Multi-line text (coordinator/inputs.py BODY_TEXT_PATTERN) with at least one visible character: a blank reason is
# no reason.
TEXT_CHARACTER = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
VISIBLE_TEXT_PATTERN = rf"^{TEXT_CHARACTER}*[^\s\x00-\x1f\x7f-\x9f]{TEXT_CHARACTER}*$"


class TaskQuery(QueryModel):
    """`GET /api/v1/tasks`: open tasks by default, or the closed ones (done or dismissed) with `state=done`."""

    state: Literal["open", "done"] = "open"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)


class TaskPath(BaseModel):
    """A task's id in the path."""

    task_id: str


class DoneIn(Strict):
    """`POST /api/v1/tasks/{id}/done`: an optional note, kept encrypted."""

    note: str | None = Field(default=None, max_length=service.MAX_NOTE)


class DismissIn(Strict):
    """`POST /api/v1/tasks/{id}/dismiss`: why the task needs nothing more, kept encrypted."""

    reason: str = Field(min_length=1, max_length=service.MAX_NOTE, pattern=VISIBLE_TEXT_PATTERN,
                        description="something visible; lines allowed")


class TaskOut(BaseModel):
    """One task: its kind and referral, never a person's name."""

    id: uuid.UUID
    kind: TaskKind
    referral_id: uuid.UUID | None = Field(description="null for a staff message that belongs to no referral")
    due_at: datetime
    owner: uuid.UUID | None = Field(description="the staff member who owns it; null when every coordinator does")
    state: TaskState


class TaskListOut(BaseModel):
    """A page of the queue: unsafe reports first, then by due time (open), or latest closed first (done)."""

    items: list[TaskOut]
    page: int
    per_page: int
    total: int


def task_json(task: Task) -> dict:
    """The task as the API shows it."""
    return TaskOut(id=task.id, kind=TaskKind(task.kind), referral_id=task.referral_id, due_at=task.due_at,
                   owner=task.owner_id, state=TaskState(task.state)).model_dump(mode="json")


@bp.get("/tasks", responses={"200": TaskListOut})
def list_tasks(query: TaskQuery):
    """The caller's queue (coordinators: every task; facilitators: their referrals' tasks)."""
    page = service.list_tasks(api_actor(), query.state, query.page)
    return {"items": [task_json(task) for task in page.items], "page": page.page, "per_page": page.per_page,
            "total": page.total}


@bp.post("/tasks/<task_id>/done", responses={"200": TaskOut})
def mark_done(path: TaskPath, body: DoneIn):
    """Mark a task done, with an optional note (409 `conflict` when it is already closed)."""
    actor = api_actor()
    return task_json(service.complete_task(actor, service.load_task(actor, path.task_id), body.note))


@bp.post("/tasks/<task_id>/dismiss", responses={"200": TaskOut})
def dismiss(path: TaskPath, body: DismissIn):
    """Dismiss a task with a reason (409 `conflict` when it is already closed)."""
    actor = api_actor()
    return task_json(service.dismiss_task(actor, service.load_task(actor, path.task_id), body.reason))
