"""The safety page of a referral: readiness checklist, risk assessments, mitigation, orders, incidents."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.audit.service import record
from coordinator.errors import Conflict, InvalidRequest
from coordinator.pages import messages_of, role_required
from coordinator.referrals.service import acknowledgements_of, load_referral, record_acknowledgement
from coordinator.safety import service
from coordinator.safety.forms import (
    AcknowledgementForm,
    AssessmentForm,
    IncidentForm,
    MitigationForm,
    ProtectiveOrderForm,
    ReadinessForm,
)
from coordinator.safety.instrument import current_instrument, in_language
from coordinator.safety.readiness import CirclePlan, checklist, default_format

bp = Blueprint("safety", __name__)
STAFF = (Role.coordinator, Role.facilitator)


def back_to_safety(referral_id) -> object:
    """Return to the safety page."""
    return redirect(url_for("safety.page", referral_id=referral_id))


@bp.get("/referrals/<referral_id>/safety")
@role_required(*STAFF)
def page(referral_id: str):
    """Everything about a referral's safety on one page."""
    referral = load_referral(current_user, referral_id)
    record(current_user, "risk.view", referral, referral_id=referral.id)
    gate = ReadinessForm(request.args)
    gate.validate()
    gate.format.data = default_format(referral, gate.format.data)
    assessments = service.assessments_of(referral)
    latest = assessments[0] if assessments else None
    people = users_by_id({a.assessor_id for a in assessments})
    return render_template(
        "safety/page.html",
        referral=referral,
        gate=gate,
        conditions=checklist(CirclePlan(referral, gate.format.data, gate.date.data or clock.now().date(),
                                         interpreter=gate.interpreter.data)),
        checklist_format=gate.format.data,
        assessments=assessments,
        latest=latest,
        comparison=service.compare(latest, assessments[1] if len(assessments) > 1 else None) if latest else None,
        plan=service.plan_of(latest) if latest else None,
        people=people,
        orders=service.orders_of(referral),
        incidents=service.incidents_of(referral),
        acknowledgements=acknowledgements_of(referral),
        mitigation_form=MitigationForm(),
        order_form=ProtectiveOrderForm(),
        incident_form=IncidentForm(),
        acknowledgement_form=AcknowledgementForm(),
        instrument_for=service.instrument_for,
        language=str(get_locale()),
        in_language=in_language,
    )


@bp.route("/referrals/<referral_id>/safety/assess", methods=["GET", "POST"])
@role_required(*STAFF)
def assess(referral_id: str):
    """A new assessment with the current instrument: every item answered."""
    referral = load_referral(current_user, referral_id)
    instrument = current_instrument()
    form = AssessmentForm()
    answers = {item.code: request.form.get(f"answer-{item.code}", "") for item in instrument.items}
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            service.record_assessment(current_user, referral, answers, form.summary.data)
        except InvalidRequest as error:
            errors = error.details
        else:
            flash(_("The assessment is recorded."), "success")
            return back_to_safety(referral.id)
    return render_template("safety/assess.html", referral=referral, instrument=instrument, form=form,
                           answers=answers, errors=errors, language=str(get_locale()),
                           in_language=in_language), 400 if form.is_submitted() else 200


@bp.post("/risk-assessments/<assessment_id>/mitigation")
@role_required(*STAFF)
def mitigation(assessment_id: str):
    """Propose the measures of a mitigation plan."""
    assessment = service.load_assessment(current_user, assessment_id)
    form = MitigationForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Choose one or more measures from the list."))
        service.propose_mitigation(current_user, assessment, form.measures.data, form.notes.data)
    except (InvalidRequest, Conflict) as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The mitigation plan is saved; a coordinator approves it."), "success")
    return back_to_safety(assessment.referral_id)


@bp.post("/risk-assessments/<assessment_id>/approve")
@role_required(Role.coordinator)
def approve(assessment_id: str):
    """Approve a mitigation plan."""
    assessment = service.load_assessment(current_user, assessment_id)
    try:
        service.approve_mitigation(current_user, assessment)
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("The mitigation plan is approved."), "success")
    return back_to_safety(assessment.referral_id)


@bp.post("/referrals/<referral_id>/protective-orders")
@role_required(*STAFF)
def protective_order(referral_id: str):
    """Record a protective order."""
    referral = load_referral(current_user, referral_id)
    form = ProtectiveOrderForm()
    if form.validate_on_submit():
        service.record_protective_order(current_user, referral, form.court_reference.data, form.no_contact.data,
                                        form.expires_on.data)
        flash(_("The protective order is recorded."), "success")
    else:
        flash(_("Enter the court's reference and the expiry date."), "error")
    return back_to_safety(referral.id)


@bp.post("/referrals/<referral_id>/safety-incidents")
@role_required(*STAFF)
def incident(referral_id: str):
    """Record a safety incident: the referral is paused at once."""
    referral = load_referral(current_user, referral_id)
    form = IncidentForm()
    if form.validate_on_submit():
        service.report_incident(current_user, referral, form.kind.data, form.description.data)
        flash(_("The incident is recorded. The referral is paused and the team is alerted."), "success")
    else:
        flash(_("Choose what happened."), "error")
    return back_to_safety(referral.id)


@bp.post("/referrals/<referral_id>/acknowledgement")
@role_required(*STAFF)
def acknowledgement(referral_id: str):
    """Record where the responsible party acknowledged the basic facts."""
    referral = load_referral(current_user, referral_id)
    form = AcknowledgementForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Enter a short reference of up to 200 characters, not the content."))
        record_acknowledgement(current_user, referral, form.basis.data, form.reference.data)
    except InvalidRequest as error:
        for message in messages_of(error):
            flash(message, "error")
    else:
        flash(_("The acknowledgement is recorded."), "success")
    return back_to_safety(referral.id)
