"""The "Needs attention" page: the queue of tasks (coordinators: all; facilitators: their referrals'), and who is
on call."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from coordinator.accounts.models import Role, User
from coordinator.accounts.service import users_by_id
from coordinator.db import db
from coordinator.errors import Conflict, InvalidRequest
from coordinator.pages import messages_of, role_required
from coordinator.referrals.models import Referral
from coordinator.tasks import service
from coordinator.tasks import subscribers as subscribers  # connects what closes a task when someone acts
from coordinator.tasks.forms import DismissForm, DoneForm, OnCallForm
from coordinator.tasks.models import STATE_LABELS, TASK_LABELS, TaskState

bp = Blueprint("tasks", __name__)
PAGE_SIZE = 25  # each task carries its two forms: a shorter page reads better on a phone and renders faster


@bp.get("/tasks")
@role_required(*service.QUEUE_ROLES)
def index():
    """Open tasks, unsafe reports first and then by due time; or the closed ones with `?state=done`."""
    state = TaskState.done if request.args.get("state") == TaskState.done else TaskState.open
    page = service.list_tasks(current_user, state, request.args.get("page", 1, type=int), PAGE_SIZE)
    referral_ids = {task.referral_id for task in page.items if task.referral_id}
    references = dict(db.session.execute(
        select(Referral.id, Referral.reference).where(Referral.id.in_(referral_ids))).all()) if referral_ids else {}
    owners = users_by_id(task.owner_id for task in page.items if task.owner_id)
    return render_template("tasks/index.html", page=page, state=state, references=references, owners=owners,
                           labels={kind: str(label) for kind, label in TASK_LABELS.items()},
                           state_labels={code: str(label) for code, label in STATE_LABELS.items()})


def _back():
    return redirect(url_for("tasks.index"))


@bp.post("/tasks/<task_id>/done")
@role_required(*service.QUEUE_ROLES)
def done(task_id: str):
    """Mark a task done."""
    task = service.load_task(current_user, task_id)
    form = DoneForm()
    if not form.validate_on_submit():
        flash(_("The note is too long."), "error")
        return _back()
    try:
        service.complete_task(current_user, task, form.note.data)
    except (Conflict, InvalidRequest) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The task is done."), "success")
    return _back()


@bp.post("/tasks/<task_id>/dismiss")
@role_required(*service.QUEUE_ROLES)
def dismiss(task_id: str):
    """Dismiss a task with a reason."""
    task = service.load_task(current_user, task_id)
    form = DismissForm()
    if not form.validate_on_submit():
        flash(_("Say why it needs nothing more."), "error")
        return _back()
    try:
        service.dismiss_task(current_user, task, form.reason.data)
    except (Conflict, InvalidRequest) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The task is dismissed."), "success")
    return _back()


def _coordinator_choices() -> list[tuple[str, str]]:
    people = db.session.execute(select(User).where(User.role == Role.coordinator, User.active.is_(True))
                                .order_by(User.email)).scalars()
    return [("", _("Nobody"))] + [(str(user.id), user.name) for user in people]


@bp.route("/on-call", methods=["GET", "POST"])
@role_required(Role.admin, Role.coordinator)
def on_call():
    """Who is on call: unsafe reports reach them at once by email and text."""
    setting = service.on_call()
    form = OnCallForm(data={"coordinator": str(setting.coordinator_id or ""), "phone": setting.phone or ""})
    form.coordinator.choices = _coordinator_choices()
    if form.validate_on_submit():
        try:
            chosen = uuid.UUID(form.coordinator.data) if form.coordinator.data else None
        except ValueError:
            chosen = uuid.uuid4()  # unknown: the service refuses it as not an active coordinator
        try:
            service.set_on_call(current_user, chosen, form.phone.data)
        except InvalidRequest as error:
            for message in messages_of(error):
                flash(message, "error")
        else:
            flash(_("The on-call coordinator is saved."), "success")
            return redirect(url_for("tasks.on_call"))
    return render_template("tasks/on_call.html", form=form)
