"""Staff record a decision a party made in person; the consent panel itself is part of the referral page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.consent.forms import ConsentRecordForm
from coordinator.consent.service import record_decision
from coordinator.errors import GateFailed, InvalidRequest
from coordinator.pages import messages_of, role_required
from coordinator.referrals.service import load_referral

bp = Blueprint("consent", __name__)


@bp.post("/referrals/<referral_id>/consent")
@role_required(Role.coordinator, Role.facilitator)
def record(referral_id: str):
    """Record a decision; a withdrawal takes effect at once."""
    referral = load_referral(current_user, referral_id)
    form = ConsentRecordForm()
    if not form.validate_on_submit():
        flash(_("Check the decision form and try again."), "error")
        return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="consent-heading"))
    try:
        record_decision(current_user, referral, party=form.party.data, scope=form.scope.data,
                        decision=form.decision.data, method=form.method.data,
                        information_language=form.information_language.data)
    except (GateFailed, InvalidRequest) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The decision is recorded."), "success")
    return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="consent-heading"))
