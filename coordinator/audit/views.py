"""The programme audit page for coordinators: search the trail, read a referral's entries, export them as CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.audit import search
from coordinator.errors import InvalidRequest
from coordinator.pages import role_required, select_options, show_field_errors
from coordinator.referrals.models import PARTY_LABELS, PartyRole

bp = Blueprint("audit", __name__, url_prefix="/audit")
FILTERS = ("user", "reference", "party", "action", "since", "until")


class AuditFilterForm(FlaskForm):
    """The search's fields (GET, no CSRF); coordinator/audit/search.py `parse_filter` checks them."""

    class Meta:
        csrf = False

    user = SelectField(_l("Staff member who acted"), validate_choice=False)
    reference = StringField(_l("Referral reference"), description=_l("For example RJ-2026-0042: its whole file, or "
                                                                       "with a party chosen, what that party did."))
    party = SelectField(_l("Party who acted"), validate_choice=False)
    action = SelectField(_l("Action"), validate_choice=False)
    since = StringField(_l("From (YYYY-MM-DD)"))
    until = StringField(_l("Until (YYYY-MM-DD)"))


def _form() -> AuditFilterForm:
    form = AuditFilterForm(request.args)
    form.user.choices = select_options([("", _("Anyone")), *search.staff_choices()])
    form.party.choices = select_options([("", _("Not a party"))]
                                        + [(role.value, PARTY_LABELS[role]) for role in PartyRole])
    form.action.choices = select_options([("", _("Any action")), *search.action_choices()])
    return form


def _query_args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


@bp.get("")
@role_required(Role.coordinator)
def index():
    """Matching entries, newest first, a page at a time; viewing is audited."""
    form = _form()
    try:
        filters = search.parse_filter(request.args, get_timezone())
        page = search.search(current_user, filters, request.args.get("page", 1, type=int))
    except InvalidRequest as error:
        show_field_errors(form, error)
        return render_template("audit/index.html", form=form, page=None, args=_query_args()), 400
    return render_template("audit/index.html", form=form, page=page, args=_query_args(),
                           actor_kind_label=search.actor_kind_label, action_label=search.action_label)


@bp.get("/export.csv")
@role_required(Role.coordinator)
def export():
    """The same entries as CSV (every page, same filters); exporting is audited."""
    filters = search.parse_filter(request.args, get_timezone())
    body = "".join(search.export_csv(current_user, filters))
    filename = f"audit-{clock.now().strftime('%Y%m%d-%H%M')}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
