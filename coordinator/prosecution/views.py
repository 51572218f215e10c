"""The prosecutor's pages: their cases with exactly the API's fields (docs/api.md "prosecution/cases"), nothing more."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.errors import Conflict
from coordinator.pages import role_required
from coordinator.prosecution.service import case_disclosure, my_cases, report_ids

bp = Blueprint("prosecution", __name__, url_prefix="/prosecution")


@bp.get("")
@role_required(Role.prosecutor)
def index():
    """The prosecutor's own cases."""
    cases = my_cases(current_user, request.args.get("page", 1, type=int))
    return render_template("prosecution/index.html", cases=cases, reports=report_ids(current_user, cases.items))


@bp.get("/cases/<docket_number>")
@role_required(Role.prosecutor)
def case(docket_number: str):
    """One case: the same fields as the API; when two of theirs share the docket number, a choice of court."""
    try:
        case = case_disclosure(current_user, docket_number, request.args.get("court"),
                               request.args.get("jurisdiction"))
    except Conflict as error:
        return render_template("prosecution/choose.html", docket_number=docket_number.strip().upper(),
                               cases=error.details["cases"]), 409
    return render_template("prosecution/case.html", case=case, reports=report_ids(current_user, [case]))
