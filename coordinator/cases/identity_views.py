"""Pages for criminal cases (coordinators): find a case, see who prosecutes it, assign the prosecutor, and link the
referrals that wait for a case (docs/design.md rule 10)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import Email, Length, Optional

from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.cases import identity
from coordinator.errors import Conflict, InvalidRequest
from coordinator.pages import role_required, show_field_errors

bp = Blueprint("case_records", __name__, url_prefix="/cases")


class CaseSearchForm(FlaskForm):
    """A case's identity, to find it (GET, no CSRF)."""

    class Meta:
        csrf = False

    docket_number = StringField(_l("Docket number"), validators=[Optional(), Length(max=64)])
    court = StringField(_l("Court"), validators=[Optional(), Length(max=200)])
    jurisdiction = StringField(_l("Jurisdiction"), validators=[Optional(), Length(max=120)])


class ProsecutorForm(FlaskForm):
    """The prosecutor a coordinator assigns to a case (empty: none)."""

    prosecutor_email = EmailField(_l("Prosecutor's email address"), validators=[Optional(), Email(), Length(max=254)],
                                  description=_l("Leave empty to remove the prosecutor."))


def _people(cases) -> dict:
    return users_by_id({str(case.prosecutor_id) for case in cases if case.prosecutor_id})


@bp.get("")
@role_required(Role.coordinator)
def index():
    """Find a case by its identity; the referrals that wait to be linked to a case."""
    form = CaseSearchForm(request.args)
    found = None
    if form.validate() and form.docket_number.data:
        found = identity.find_cases(current_user, docket_number=form.docket_number.data, court=form.court.data,
                                    jurisdiction=form.jurisdiction.data)
    waiting = identity.find_cases(current_user, waiting=True, page=request.args.get("page", 1, type=int))
    cases = [*(found.items if found else []), *waiting.items]
    return render_template("cases/index.html", form=form, found=found, waiting=waiting, people=_people(cases),
                           counts=identity.referral_counts(cases))


def _case_page(case, form: ProsecutorForm | None = None, status: int = 200):
    target = identity.load_case(current_user, case.awaiting_link_to_id) if case.awaiting_link else None
    return render_template("cases/case.html", case=case, target=target, referrals=identity.referrals_of(case),
                           form=form or ProsecutorForm(prosecutor_email=case.prosecutor.email if case.prosecutor
                                                       else None),
                           people=_people([case, *([target] if target else [])])), status


@bp.get("/<case_id>")
@role_required(Role.coordinator)
def case(case_id: str):
    """One case: its identity, prosecutor and referrals."""
    return _case_page(identity.view_case(current_user, case_id))


@bp.post("/<case_id>/prosecutor")
@role_required(Role.coordinator)
def assign_prosecutor(case_id: str):
    """Assign (or remove) the case's prosecutor."""
    case = identity.load_case(current_user, case_id)
    form = ProsecutorForm()
    if form.validate_on_submit():
        try:
            identity.assign_prosecutor(current_user, case, form.prosecutor_email.data or None)
        except InvalidRequest as error:
            show_field_errors(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The case's prosecutor is saved."), "success")
            return redirect(url_for("case_records.case", case_id=case.id))
    return _case_page(case, form, 400)


@bp.post("/<case_id>/link")
@role_required(Role.coordinator)
def link(case_id: str):
    """Link a waiting referral's provisional case into the case it names."""
    provisional = identity.load_case(current_user, case_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        return _case_page(provisional, status=400)
    try:
        target = identity.link_case(current_user, provisional)
    except Conflict as error:
        flash(error.message, "error")
        return redirect(url_for("case_records.index"))
    flash(_("The referral is linked to the case."), "success")
    return redirect(url_for("case_records.case", case_id=target.id))
