"""The prosecutor's pages: their cases, and each case's consent status and circle, nothing more."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.pages import role_required
from coordinator.prosecution.service import case_disclosure, my_cases

bp = Blueprint("prosecution", __name__, url_prefix="/prosecution")


@bp.get("")
@role_required(Role.prosecutor)
def index():
    """The prosecutor's own cases."""
    return render_template("prosecution/index.html", cases=my_cases(current_user))


@bp.get("/cases/<docket_number>")
@role_required(Role.prosecutor)
def case(docket_number: str):
    """One case: the same fields as the API."""
    return render_template("prosecution/case.html", case=case_disclosure(current_user, docket_number))
