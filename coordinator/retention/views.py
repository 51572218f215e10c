"""Pages of the data lifecycle: what the schedule will erase next (coordinators), and the referral page's controls
for a legal hold, erasure at a party's request, and a party's own data."""

from __future__ import annotations

import re

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.errors import Conflict, GateFailed, InvalidRequest, NotFound
from coordinator.pages import messages_of, role_required
from coordinator.referrals.models import Referral
from coordinator.referrals.service import load_referral
from coordinator.retention import service
from coordinator.retention.export import PartyExport, party_export
from coordinator.retention.export_pdf import render_export_pdf
from coordinator.retention.forms import ErasureForm, HoldForm
from coordinator.retention.models import BASIS_LABELS
from coordinator.retention.schedule import count_due_records

bp = Blueprint("retention", __name__)
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def export_filename(export: PartyExport, extension: str) -> str:
    """A download name with the reference and the party's role only."""
    return UNSAFE_FILENAME.sub("-", f"{export.reference}-{export.party.role}.{extension}")


def retention_panel(referral: Referral) -> dict:
    """What the referral page's retention panel shows (coordinators)."""
    return {"retention": service.retention_of(referral), "holds": service.holds_of(referral),
            "hold_form": HoldForm(), "erasure_form": ErasureForm(), "basis_labels": BASIS_LABELS}


@bp.get("/retention")
@role_required(Role.coordinator)
def index():
    """What the schedule will erase within the warning period, and what holds back, so a hold is set in time."""
    return render_template("retention/index.html", upcoming=service.upcoming_erasures(),
                           records=count_due_records(), basis_labels=BASIS_LABELS)


def _back(referral: Referral):
    return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="retention-heading"))


@bp.post("/referrals/<referral_id>/legal-hold")
@role_required(Role.coordinator)
def set_hold(referral_id: str):
    """Set (or replace) the legal hold."""
    referral = load_referral(current_user, referral_id)
    form = HoldForm()
    if not form.validate_on_submit():
        flash(_("Say why the data must be kept, in up to %(count)d characters.", count=service.MAX_REASON), "error")
        return _back(referral)
    try:
        service.set_legal_hold(current_user, referral, form.reason.data or "")
    except (Conflict, InvalidRequest) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The legal hold is set: this referral's data will be kept until it is lifted."), "success")
    return _back(referral)


@bp.post("/referrals/<referral_id>/legal-hold/lift")
@role_required(Role.coordinator)
def lift_hold(referral_id: str):
    """Lift the legal hold in force."""
    referral = load_referral(current_user, referral_id)
    if service.lift_legal_hold(current_user, referral) is not None:
        flash(_("The legal hold is lifted: the retention schedule applies again."), "success")
    return _back(referral)


@bp.post("/referrals/<referral_id>/erasure")
@role_required(Role.coordinator)
def erase(referral_id: str):
    """Erase the referral's personal data at a party's request, through the same path as the schedule."""
    referral = load_referral(current_user, referral_id)
    form = ErasureForm()
    if not form.validate_on_submit():
        flash(_("Choose who asked, and confirm that the erasure cannot be undone."), "error")
        return _back(referral)
    try:
        service.erase_on_request(current_user, referral, form.party.data or "")
    except (Conflict, GateFailed, InvalidRequest) as error:
        for message in messages_of(error):
            flash(message, "error")
        return _back(referral)
    flash(_("The referral's personal data is erased."), "success")
    return redirect(url_for("referrals.detail", referral_id=referral.id))


@bp.get("/referrals/<referral_id>/parties/<party>/export.<fmt>")
@role_required(Role.coordinator)
def export(referral_id: str, party: str, fmt: str):
    """Everything held about one party, as JSON or PDF, in their language."""
    referral = load_referral(current_user, referral_id)
    if fmt not in ("json", "pdf"):
        raise NotFound(_("Not found."))
    data = party_export(current_user, referral, party, fmt)
    body, mimetype = ((render_export_pdf(data), "application/pdf") if fmt == "pdf"
                      else (data.model_dump_json(indent=2), "application/json"))
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{export_filename(data, fmt)}"'})
