"""Referral pages: the list, intake, the detail page with its actions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.agreements.queries import agreement_panel
from coordinator.audit.search import actor_labels
from coordinator.audit.service import referral_trail
from coordinator.cases.identity import find_cases
from coordinator.cases.report import reports_of
from coordinator.cases.service import hearings_of
from coordinator.cases.views import case_panel
from coordinator.consent.forms import ConsentRecordForm
from coordinator.consent.queries import consent_overview, referral_decisions
from coordinator.errors import Conflict, GateFailed, InvalidRequest, NotFound
from coordinator.pages import messages_of, role_required, select_options, show_field_errors
from coordinator.portal.forms import PortalForm
from coordinator.portal.links import LinkForm
from coordinator.portal.service import links_of
from coordinator.prosecution.service import participation_only
from coordinator.referrals import service, workflow
from coordinator.referrals.forms import (
    FIELD_FOR_PATH,
    AssignForm,
    IntakeForm,
    ListFilterForm,
    TransitionForm,
    unanswered_gaps,
)
from coordinator.referrals.models import STATUS_LABELS
from coordinator.retention.views import retention_panel
from coordinator.roster.views import timezone_names
from coordinator.safety.readiness import CirclePlan, checklist, default_format
from coordinator.safety.service import assessments_of
from coordinator.sessions.booking import session_overview
from coordinator.sessions.forms import CancelForm, HeldForm

bp = Blueprint("referrals", __name__, url_prefix="/referrals")
READERS = (Role.coordinator, Role.facilitator, Role.prosecutor)


@bp.get("")
@role_required(*READERS)
def index():
    """The referrals in the reader's scope, filtered and paginated."""
    filters = ListFilterForm(request.args)
    filters.validate()
    page = service.list_referrals(current_user, status=filters.status.data or None, q=filters.q.data or None,
                                  page=request.args.get("page", 1, type=int))
    return render_template("referrals/list.html", page=page, filters=filters,
                           prosecution=current_user.has_role(Role.prosecutor))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*service.REFERRERS)
def new():
    """Take a referral in; coordinators first look the case up by its docket number and attach to it or create it."""
    form = IntakeForm()
    if current_user.has_role(Role.prosecutor):
        del form.prosecutor_email, form.case_id  # a prosecutor is never shown which cases exist (rule 10)
    elif request.method == "POST" and "lookup" in request.form:
        return _lookup_page(form)
    gaps: list[tuple[str, str]] = []
    if form.validate_on_submit() and (data := form.to_input()) is not None:
        # A language the portal does not speak: ask once whether an interpreter is arranged (docs/design.md 7).
        gaps = [] if form.language_gap_seen.data else unanswered_gaps(data)
        form.language_gap_seen.data = "1" if gaps else form.language_gap_seen.data
        try:
            referral = None if gaps else service.create_referral(current_user, data)
        except InvalidRequest as error:
            show_field_errors(form, error, FIELD_FOR_PATH)
        except (Conflict, NotFound) as error:  # a coordinator's case choice that no longer holds
            form.form_errors.append(error.message)
        else:
            if referral is not None:
                flash(_("Referral %(reference)s is received.", reference=referral.reference), "success")
                return redirect(url_for("referrals.detail", referral_id=referral.id))
    return render_template("referrals/new.html", form=form, gaps=gaps, timezones=timezone_names()), \
        400 if form.is_submitted() else 200


def _lookup_page(form: IntakeForm):
    """The intake form again (nothing saved; CSRFProtect has checked the post), with the linked cases of its docket
    number to attach to, the one with the same court and jurisdiction chosen."""
    docket = (form.docket_number.data or "").strip().upper()
    matches = [case for case in find_cases(current_user, docket_number=docket).items
               if not case.awaiting_link] if docket else []
    same = [case for case in matches if (case.jurisdiction, case.court) == (form.jurisdiction.data, form.court.data)]
    form.case_id.data = str(same[0].id) if same else ""
    return render_template("referrals/new.html", form=form, matches=matches, looked_up=True, gaps=[],
                           timezones=timezone_names())


@bp.get("/<referral_id>")
@login_required  # the scope decides: outside it, and for admins, the answer is 404 (docs/design.md rule 6)
def detail(referral_id: str):
    """One referral; prosecutors see only the prosecution view."""
    referral = service.view_referral(current_user, referral_id)
    if referral.erased_at is not None:  # its personal data is gone: the page says when, and nothing else
        return render_template("referrals/erased.html", referral=referral)
    return _detail_page(referral)


def _detail_page(referral, status: int = 200, transition_errors: list[str] | None = None, assign_form=None):
    if current_user.has_role(Role.prosecutor):
        return render_template("referrals/detail_prosecution.html", referral=referral,
                               consent=participation_only(consent_overview(referral))), status
    # Never the posted data: after a refused move, each form must still carry its own target.
    moves = [(move, TransitionForm(formdata=None, to=move.target).with_reasons(move.reasons))
             for move in workflow.next_moves(referral, current_user)]
    trail = referral_trail(referral.id) if current_user.has_role(Role.coordinator) else []
    history = service.status_history(referral)
    decisions = referral_decisions(referral)
    consent_form = ConsentRecordForm()
    overview = session_overview(referral)
    checklist_format = default_format(referral)
    actors = users_by_id({entry.actor_id for entry in trail} | {str(change.actor_id) for change in history}
                         | {str(user_id) for _s, _p, ids in overview for user_id in ids})
    if assign_form is None and current_user.has_role(Role.coordinator):
        assign_form = _assign_form(referral)
    return render_template(
        "referrals/detail.html",
        referral=referral,
        moves=moves,
        transition_errors=transition_errors or [],
        assign_form=assign_form,
        history=history,
        trail=trail,
        trail_actors=actor_labels(trail),
        actors=actors,
        consents=consent_overview(referral, decisions),
        decisions=decisions,
        consent_form=consent_form,
        links=links_of(referral),
        link_form=LinkForm(),
        sessions=overview,
        cancel_form=CancelForm(),
        held_form=HeldForm(),
        conditions=checklist(CirclePlan(referral, checklist_format, clock.now().date())),
        checklist_format=checklist_format,
        assessments=assessments_of(referral),
        hearings=hearings_of(referral.case),
        case_view=case_panel(referral),
        agreement=agreement_panel(referral),
        language_gaps={gap.party.role: gap for gap in service.language_gaps(referral)},
        court_reports=reports_of(referral),
        retention_panel=retention_panel(referral) if current_user.has_role(Role.coordinator) else None,
        now=clock.now(),
    ), status


def _assign_form(referral, formdata=None) -> AssignForm:
    form = AssignForm(formdata=formdata, lead=referral.lead_facilitator_id, co=referral.co_facilitator_id)
    people = [("", _("Choose…"))] + [(user.id, user.name) for user in service.active_facilitators()]
    form.lead.choices = form.co.choices = select_options(people)
    if formdata is None:
        form.lead.data = str(referral.lead_facilitator_id or "")
        form.co.data = str(referral.co_facilitator_id or "")
    return form


@bp.post("/<referral_id>/transitions")
@role_required(Role.coordinator, Role.facilitator)
def transition(referral_id: str):
    """Move the referral on, pause it or close it."""
    referral = service.load_referral(current_user, referral_id)
    form = TransitionForm()
    form.reason.choices = []
    if not form.validate_on_submit():
        return _detail_page(referral, 400, [_("Choose what should happen.")])
    try:
        workflow.transition(current_user, referral, form.to.data, reason=form.reason.data or None,
                            note=form.note.data)
    except (Conflict, GateFailed, InvalidRequest) as error:
        return _detail_page(referral, error.status, messages_of(error))
    flash(_("The referral is now: %(status)s.", status=STATUS_LABELS[referral.status]), "success")
    return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="status-heading"))


@bp.post("/<referral_id>/facilitators")
@role_required(Role.coordinator)
def assign(referral_id: str):
    """Assign the lead and the co-facilitator."""
    referral = service.load_referral(current_user, referral_id)
    form = _assign_form(referral, request.form)
    if form.validate_on_submit():
        try:
            service.assign_facilitators(current_user, referral, form.lead.data, form.co.data,
                                        form.override_reason.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
            form.over_cap = (error.details or {}).get("code") == "caseload_cap"
        else:
            flash(_("Facilitators are assigned."), "success")
            return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="facilitators-heading"))
    return _detail_page(referral, 400, assign_form=form)


@bp.post("/<referral_id>/parties/<role>/interpreter")
@role_required(Role.coordinator, Role.facilitator)
def interpreter(referral_id: str, role: str):
    """Record whether an interpreter is arranged for a party whose language the portal does not speak."""
    referral = service.load_referral(current_user, referral_id)
    if not PortalForm().validate_on_submit():
        return _detail_page(referral, 400, [_("Something went wrong. Nothing was changed. Please try again.")])
    try:
        service.set_interpreter_arranged(current_user, referral, role, request.form.get("arranged") == "1")
    except InvalidRequest as error:
        return _detail_page(referral, 400, messages_of(error))
    flash(_("Saved."), "success")
    return redirect(url_for("referrals.detail", referral_id=referral.id, _anchor="parties-heading"))
