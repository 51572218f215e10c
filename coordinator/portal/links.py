"""Staff pages for secure links: issue one (sent, or handed over with a QR code shown once) and revoke it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from coordinator.accounts.models import Role
from coordinator.errors import GateFailed, InvalidRequest
from coordinator.pages import messages_of, role_required, select_options
from coordinator.portal import service
from coordinator.portal.models import CHANNEL_LABELS, LinkChannel
from coordinator.referrals.models import PARTY_LABELS, PartyRole
from coordinator.referrals.service import language_gap, load_referral, set_interpreter_arranged

bp = Blueprint("links", __name__)


class LinkForm(FlaskForm):
    """Which party, and how the link reaches them; `interpreter` answers the language question when one was asked."""

    party = SelectField(_l("For"), choices=select_options((r.value, PARTY_LABELS[r]) for r in PartyRole))
    channel = SelectField(_l("How"), choices=select_options((c.value, CHANNEL_LABELS[c]) for c in LinkChannel))
    interpreter = HiddenField()  # "arranged" or "not_arranged", from the language question


def qr_svg(url: str) -> str:
    """The link as an SVG QR code, drawn by the server (no script, no external service)."""
    import qrcode.image.svg  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    return image.to_string(encoding="unicode")


@bp.post("/referrals/<referral_id>/links")
@role_required(Role.coordinator, Role.facilitator)
def issue(referral_id: str):
    """Issue a link; a handed-over link is shown once, with its QR code, and never again."""
    referral = load_referral(current_user, referral_id)
    form = LinkForm()
    if form.validate_on_submit():
        gap = language_gap(referral.require_party(PartyRole(form.party.data)))
        if gap is not None and not gap.party.interpreter_arranged and not form.interpreter.data:
            # The portal would speak English to this party: ask first (docs/design.md section 7).
            return render_template("referrals/link_language.html", referral=referral, form=form, gap=gap), 200
        if gap is not None and form.interpreter.data == "arranged":
            set_interpreter_arranged(current_user, referral, gap.party.role, True)
        try:
            link, url = service.issue_link(current_user, referral, form.party.data, form.channel.data)
        except (GateFailed, InvalidRequest) as error:
            for message in messages_of(error):
                flash(message, "error")
        else:
            if link.channel == LinkChannel.handover:
                return render_template("referrals/link_handover.html", referral=referral, link=link, url=url,
                                       qr=qr_svg(url)), 201
            flash(_("The link is on its way."), "success")
    return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="links-heading"))


@bp.post("/links/<link_id>/revoke")
@role_required(Role.coordinator, Role.facilitator)
def revoke(link_id: str):
    """Revoke a link; anyone using it is signed out of the portal at once."""
    link = service.load_link(current_user, link_id)
    service.revoke_link(current_user, link)
    flash(_("The link no longer works."), "success")
    return redirect(url_for("referrals.detail", referral_id=link.referral_id, _anchor="links-heading"))
