"""Pages for the criminal case's hearings and stage: a panel on the referral page and its forms' handlers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.cases import service
from coordinator.cases.forms import HearingForm, StageForm
from coordinator.errors import Conflict, InvalidRequest
from coordinator.pages import messages_of, role_required
from coordinator.referrals.models import STAGE_LABELS
from coordinator.referrals.service import load_referral

bp = Blueprint("cases", __name__)
# Prosecutors write through the API only: their pages show exactly the prosecution fields (docs/api.md).
WRITERS = (Role.coordinator,)
HEARING_PREFIX, STAGE_PREFIX = "hearing", "case"


def back_to_case(referral_id):
    """The referral page, at its criminal case."""
    return redirect(url_for("referrals.detail", referral_id=referral_id, _anchor="hearings-heading"))


def case_panel(referral) -> dict:
    """What the criminal case's panel on the referral page shows the current reader."""
    may_write = current_user.has_role(*WRITERS)
    history = service.stage_history(referral.case) if may_write else []
    return {
        "may_write": may_write,
        "hearing_form": HearingForm(formdata=None, prefix=HEARING_PREFIX) if may_write else None,
        "stage_form": StageForm(formdata=None, prefix=STAGE_PREFIX, stage=referral.case.stage) if may_write else None,
        "history": history,
        "people": users_by_id({change.changed_by_id for change in history if change.changed_by_id}),
    }


def _invalid(form, messages: dict[str, str]) -> InvalidRequest:
    """The form's problems as the service would name them, one clear message per field."""
    return InvalidRequest(_("Nothing was saved."),
                          {name: [message] for name, message in messages.items() if form[name].errors})


@bp.post("/referrals/<referral_id>/hearings")
@role_required(*WRITERS)
def add_hearing(referral_id: str):
    """Record a hearing of the referral's criminal case."""
    referral = load_referral(current_user, referral_id)
    form = HearingForm(prefix=HEARING_PREFIX)
    try:
        if not form.validate_on_submit():
            raise _invalid(form, {"kind": _("Choose the kind of hearing."), "on_date": _("Enter the hearing's date.")})
        service.add_hearing(current_user, referral, form.kind.data, form.on_date.data)
    except (InvalidRequest, Conflict) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The hearing is recorded."), "success")
    return back_to_case(referral.id)


@bp.post("/referrals/<referral_id>/hearings/<hearing_id>/remove")
@role_required(*WRITERS)
def remove_hearing(referral_id: str, hearing_id: str):
    """Remove a hearing of the referral's criminal case."""
    referral = load_referral(current_user, referral_id)
    hearing = service.load_hearing(current_user, hearing_id)
    try:
        service.remove_hearing(current_user, hearing, referral)  # 404 unless the hearing is this referral's case's
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("The hearing is removed."), "success")
    return back_to_case(referral.id)


@bp.post("/referrals/<referral_id>/case-stage")
@role_required(*WRITERS)
def change_stage(referral_id: str):
    """Move the criminal case to another stage."""
    referral = load_referral(current_user, referral_id)
    form = StageForm(prefix=STAGE_PREFIX)
    try:
        if not form.validate_on_submit():
            raise _invalid(form, {"stage": _("Choose the case's stage.")})
        changed = service.change_stage(current_user, referral, form.stage.data)
    except InvalidRequest as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        if changed is None:
            flash(_("The case is already at this stage."), "info")
        else:
            flash(_("The case's stage is now: %(stage)s.", stage=STAGE_LABELS[referral.case.stage]), "success")
    return back_to_case(referral.id)
