"""Agreement pages: drafting, acceptances given in person, progress on each item, and closing unfinished."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.agreements import queries, service
from coordinator.agreements.forms import AcceptanceForm, CloseForm, DraftForm, ProgressForm, cents, units
from coordinator.errors import Conflict, InvalidRequest
from coordinator.pages import messages_of, role_required

bp = Blueprint("agreements", __name__)
STAFF = service.DRAFTERS


def back_to_referral(referral_id):
    """Return to the referral page, at its agreement."""
    return redirect(url_for("referrals.detail", referral_id=referral_id, _anchor="agreement-heading"))


@bp.route("/referrals/<referral_id>/agreement", methods=["GET", "POST"])
@role_required(*STAFF)
def draft(referral_id: str):
    """Write the agreement's items, or rewrite a draft (both parties then accept the new version)."""
    referral = service.load_followed_referral(current_user, referral_id)
    agreement = queries.agreement_of(referral)
    form = DraftForm()
    if not form.is_submitted() and agreement is not None:
        _fill(form, queries.items_of(agreement))
    if form.validate_on_submit():
        rows = [row.form for row in form.items if not row.form.is_blank()]
        drafts = [service.ItemDraft(row.kind.data or None, row.description.data, row.due_on.data,
                                    cents(row.amount.data), row.currency.data) for row in rows]
        try:
            service.draft_agreement(current_user, referral, drafts)
        except InvalidRequest as error:
            _show_item_errors(form, rows, error)
        except Conflict as error:
            flash(error.message, "error")
            return back_to_referral(referral.id)
        else:
            flash(_("The agreement is saved as a draft. Both parties now accept it."), "success")
            return back_to_referral(referral.id)
    return render_template("agreements/draft.html", referral=referral, agreement=agreement, form=form), \
        400 if form.is_submitted() else 200


def _fill(form: DraftForm, items) -> None:
    while len(form.items) < len(items) + 1:
        form.items.append_entry()
    for row, item in zip(form.items, items, strict=False):
        row.form.kind.data, row.form.description.data, row.form.due_on.data = item.kind, item.description, item.due_on
        row.form.amount.data, row.form.currency.data = units(item.amount_cents), item.currency


def _show_item_errors(form: DraftForm, rows, error: InvalidRequest) -> None:
    """Put `items.N.field` errors on the Nth non-blank row's field."""
    names = {"amount_cents": "amount"}
    for path, messages in error.details.items():
        parts = path.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            field = rows[int(parts[1])][names.get(parts[2], parts[2])]
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


@bp.post("/agreements/<agreement_id>/acceptances")
@role_required(*STAFF)
def accept(agreement_id: str):
    """Record a party's acceptance given in person or through an advocate."""
    agreement = service.load_agreement(current_user, agreement_id)
    form = AcceptanceForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Choose the party and how they accepted."))
        service.accept(current_user, agreement, form.party.data, form.method.data, form.version.data)
    except (InvalidRequest, Conflict) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The acceptance is recorded."), "success")
    return back_to_referral(agreement.referral_id)


@bp.post("/agreement-items/<item_id>/progress")
@role_required(*STAFF)
def progress(item_id: str):
    """Record what happened to an item, or an instalment paid."""
    item = service.load_item(current_user, item_id)
    agreement = service.load_agreement(current_user, item.agreement_id)
    form = ProgressForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Check the highlighted fields."),
                                 {name: list(errors) for name, errors in form.errors.items()})
        service.record_progress(current_user, item, form.status.data or None, form.note.data, cents(form.amount.data))
    except (InvalidRequest, Conflict) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The progress is recorded."), "success")
    return back_to_referral(agreement.referral_id)


@bp.post("/agreements/<agreement_id>/not-completed")
@role_required(Role.coordinator)
def not_completed(agreement_id: str):
    """Close the agreement as not completed; the referral closes with that reason."""
    agreement = service.load_agreement(current_user, agreement_id)
    form = CloseForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Keep the note under %(count)d characters.", count=service.MAX_NOTE))
        service.close_not_completed(current_user, agreement, form.note.data)
    except (InvalidRequest, Conflict) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The agreement is closed as not completed, and so is the referral."), "success")
    return back_to_referral(agreement.referral_id)
