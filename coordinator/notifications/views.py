"""The staff's notifications page, and the coordinators' page of messages that could not be sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.notifications import service
from coordinator.notifications.models import DeliveryStatus
from coordinator.pages import role_required

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index():
    """The signed-in staff member's notices, newest first."""
    page = service.list_notices(current_user, request.args.get("page", 1, type=int))
    return render_template("notifications/index.html", page=page, text_of=service.notice_text)


@bp.post("/<notice_id>/open")
@login_required
def open_notice(notice_id: str):
    """Mark a notice read and go where it points."""
    notice = service.open_notice(current_user, notice_id)
    return redirect(service.notice_path(notice))


@bp.post("/read")
@login_required
def read_all():
    """Mark every notice read."""
    service.mark_all_read(current_user)
    return redirect(url_for("notifications.index"))


@bp.get("/outbox")
@role_required(Role.coordinator)
def outbox():
    """Counts per delivery status, and the messages that could not be sent, to retry or discard."""
    page = service.list_outbox(current_user, DeliveryStatus.parked, request.args.get("page", 1, type=int))
    staff = users_by_id(message.recipient_id for message in page.items if message.recipient_kind == "user")
    return render_template("notifications/outbox.html", page=page, counts=service.outbox_counts(current_user),
                           staff=staff)


@bp.post("/outbox/<message_id>/retry")
@role_required(Role.coordinator)
def retry(message_id: str):
    """Queue a parked message again."""
    service.retry_parked(current_user, message_id)
    flash(_("The message will be sent again."), "success")
    return redirect(url_for("notifications.outbox"))


@bp.post("/outbox/<message_id>/discard")
@role_required(Role.coordinator)
def discard(message_id: str):
    """Give up on a parked message."""
    service.discard_parked(current_user, message_id)
    flash(_("The message is discarded."), "success")
    return redirect(url_for("notifications.outbox"))
