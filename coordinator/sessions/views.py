"""Booking pages: find a slot, book it or move a session there, and cancel or close sessions."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.accounts.service import users_by_id
from coordinator.cases.service import booking_warnings, hearings_of
from coordinator.errors import Conflict, GateFailed, InvalidRequest
from coordinator.pages import messages_of, role_required
from coordinator.referrals.service import load_referral
from coordinator.roster.venues import venues_by_id
from coordinator.safety.readiness import CirclePlan, checklist
from coordinator.sessions import booking, cancellation
from coordinator.sessions.explain import Answer, find_a_time, search_page
from coordinator.sessions.forms import BookForm, CancelForm, HeldForm, SlotSearchForm
from coordinator.sessions.models import SessionKind

bp = Blueprint("sessions", __name__)
STAFF = (Role.coordinator, Role.facilitator)


def back_to_sessions(referral_id):
    """The referral page, at its sessions."""
    return redirect(url_for("referrals.detail", referral_id=referral_id, _anchor="sessions-heading"))


@bp.get("/referrals/<referral_id>/sessions/new")
@role_required(*STAFF)
def search(referral_id: str):
    """The slot picker: choose what and how, see the first times booking would accept, book one (or move a session
    there); an empty answer says why and what change would give times."""
    referral = load_referral(current_user, referral_id)
    form = SlotSearchForm(request.args)
    moving = booking.load_session(current_user, request.args["move"]) if request.args.get("move") else None
    if moving is not None:
        form.keep(moving, asked="duration" in request.args)
    asked = bool(set(request.args) - {"move"}) or moving is not None
    answer = Answer([])
    if asked and form.validate():
        answer = find_a_time(referral, form.slot_request(), search_page(referral.id, moving.id if moving else None))
    slots = answer.slots
    shown = slots + [slot for suggestion in answer.suggestions for slot in suggestion.slots[:1]]
    people = users_by_id({i for slot in shown for i in slot.facilitator_ids})
    venues = venues_by_id({slot.venue_id for slot in shown})
    hearings = hearings_of(referral.case)
    warnings = {slot.start: booking_warnings(referral, form.kind.data, slot.start, hearings) for slot in slots}
    today = clock.today()
    return render_template("sessions/search.html", referral=referral, form=form, slots=slots, answer=answer,
                           people=people, venues=venues, moving=moving, searched=asked and not form.errors,
                           book_form=BookForm(), warnings=warnings,
                           hearings=[hearing for hearing in hearings if hearing.on_date >= today],
                           conditions=_circle_checklist(referral, form) if asked and not form.errors else None)


def _circle_checklist(referral, form: SlotSearchForm):
    """The readiness checklist for the circle searched for, in the chosen format (None for other sessions)."""
    if form.kind.data != SessionKind.circle:
        return None
    return checklist(CirclePlan(referral, form.format.data, form.start_on.data or clock.now().date(),
                                interpreter=bool(form.interpreter.data)))


@bp.post("/referrals/<referral_id>/sessions")
@role_required(*STAFF)
def book(referral_id: str):
    """Book the chosen slot."""
    referral = load_referral(current_user, referral_id)
    form = BookForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Something in the booking was not right. Search again."))
        session = booking.book_session(
            current_user, referral, kind=form.kind.data, fmt=form.format.data,
            start=datetime.fromisoformat(form.start.data), end=datetime.fromisoformat(form.end.data),
            facilitator_ids=form.facilitator_ids.data.split(","), venue_id=form.venue_id.data or None,
            interpreter=form.interpreter.data == "1")
    except (InvalidRequest, Conflict, GateFailed) as error:
        for message in messages_of(error):
            flash(message, "error")
        return redirect(url_for("sessions.search", referral_id=referral.id, kind=form.kind.data,
                                format=form.format.data))
    flash(_("The session is booked. The parties are invited to confirm."), "success")
    for warning in booking_warnings(referral, session.kind, session.starts_at):  # a warning, never a block
        flash(warning.message, "warning")
    return back_to_sessions(referral.id)


@bp.post("/sessions/<session_id>/reschedule")
@role_required(*STAFF)
def reschedule(session_id: str):
    """Move a session to the chosen slot."""
    session = booking.load_session(current_user, session_id)
    form = BookForm()
    try:
        if not form.validate_on_submit():
            raise InvalidRequest(_("Something in the booking was not right. Search again."))
        booking.reschedule_session(current_user, session, datetime.fromisoformat(form.start.data),
                                   datetime.fromisoformat(form.end.data), form.format.data,
                                   form.venue_id.data or None)
    except (InvalidRequest, Conflict, GateFailed) as error:
        for message in messages_of(error):
            flash(message, "error")
        return redirect(url_for("sessions.search", referral_id=session.referral_id, move=session.id))
    flash(_("The session is moved. The parties are asked to confirm again."), "success")
    for warning in booking_warnings(load_referral(current_user, session.referral_id), session.kind, session.starts_at):
        flash(warning.message, "warning")
    return back_to_sessions(session.referral_id)


@bp.post("/sessions/<session_id>/cancel")
@role_required(*STAFF)
def cancel(session_id: str):
    """Cancel a session."""
    session = booking.load_session(current_user, session_id)
    form = CancelForm()
    try:
        cancellation.cancel_session(current_user, session, form.reason.data if form.validate_on_submit() else "other")
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("The session is cancelled. Everyone concerned is told."), "success")
    return back_to_sessions(session.referral_id)


@bp.post("/sessions/<session_id>/held")
@role_required(*STAFF)
def held(session_id: str):
    """Record that a session took place and who came."""
    session = booking.load_session(current_user, session_id)
    form = HeldForm()
    try:
        booking.mark_held(current_user, session, form.attended.data if form.validate_on_submit() else [])
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_("The session is recorded as held."), "success")
    return back_to_sessions(session.referral_id)
