"""Roster pages: facilitators, their availability week grid, conflicts of interest, venues, and the parties'
unavailable times of a referral. Each handler loads, lets the service check access, calls it, and renders."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from config import canonical_timezones
from coordinator import clock
from coordinator.accounts.models import Role
from coordinator.errors import InvalidRequest
from coordinator.inputs import day_or_none
from coordinator.pages import role_required
from coordinator.roster import availability as roster_availability
from coordinator.roster import conflicts as roster_conflicts
from coordinator.roster import profiles as roster
from coordinator.roster import ranking as roster_ranking
from coordinator.roster import venues
from coordinator.roster.forms import (
    ConflictForm,
    ExceptionForm,
    FacilitatorForm,
    ProfileForm,
    UnavailabilityForm,
    VenueForm,
    WeekGrid,
)
from coordinator.sessions import unavailability

bp = Blueprint("roster", __name__)
MANAGERS = (Role.admin, Role.coordinator)
ROSTER_USERS = (Role.admin, Role.coordinator, Role.facilitator)


@cache
def timezone_names() -> list[str]:
    """Every time zone the service accepts, for the time-zone fields' suggestions."""
    return sorted(canonical_timezones())


@bp.app_context_processor
def roster_helpers():
    """The ranked suggestions, for the assign form on the referral page."""
    return {"facilitator_suggestions": lambda referral: roster_ranking.suggestions_for(current_user, referral),
            "TRAINING_LABELS": roster.TRAINING_LABELS, "format_decimal": format_decimal}


# Facilitators ----------------------------------------------------------------------------------------------------


@bp.get("/roster")
@role_required(*MANAGERS)
def index():
    """Every facilitator: languages, training, caseload."""
    return render_template("roster/index.html", entries=roster.list_facilitators(current_user),
                           today=clock.now().date())


@bp.route("/roster/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def new():
    """Add a facilitator; the first password is shown once, to hand over in person."""
    form = FacilitatorForm().offer_languages()
    if request.method == "GET":
        form.timezone.data, form.max_active_referrals.data = "UTC", 6
    if form.validate_on_submit():
        try:
            user, password = roster.create_facilitator(
                current_user, email=form.email.data, name=form.name.data, languages=form.languages.data,
                trainings=form.trainings(), timezone=form.timezone.data.strip(),
                max_active_referrals=form.max_active_referrals.data)
        except InvalidRequest as error:
            form.show_errors(error)
        else:
            return render_template("roster/created.html", user=user, password=password), 201
    return render_template("roster/new.html", form=form, timezones=timezone_names()), \
        400 if form.is_submitted() else 200


@bp.get("/roster/<user_id>")
@role_required(*ROSTER_USERS)
def profile(user_id: str):
    """One facilitator: profile, availability grid, conflicts of interest."""
    user = roster.load_facilitator(current_user, user_id)
    return _profile_page(user)


def _profile_page(user, status: int = 200, profile_form=None, grid=None, exception_form=None, conflict_form=None):
    entry = roster.facilitator_entry(user)
    availability = roster_availability.availability_of(user)
    if profile_form is None and current_user.has_role(*MANAGERS):
        profile_form = ProfileForm(formdata=None).offer_languages(entry.languages).fill(entry)
    return render_template(
        "roster/profile.html",
        entry=entry,
        availability=availability,
        profile_form=profile_form,
        grid=grid or WeekGrid.of("weekly", roster_availability.week_json(availability.weekly)),
        exception_form=exception_form or ExceptionForm(formdata=None),
        conflicts=roster_conflicts.conflicts_of(current_user, user),
        conflict_form=conflict_form or ConflictForm(formdata=None),
        timezones=timezone_names(),
        today=clock.now().date(),
    ), status


def _back(user, anchor: str = ""):
    return redirect(url_for("roster.profile", user_id=user.id) + anchor)


@bp.post("/roster/<user_id>/profile")
@role_required(*MANAGERS)
def update_profile(user_id: str):
    """Save languages, trainings, time zone and caseload cap."""
    user = roster.load_facilitator(current_user, user_id)
    form = ProfileForm().offer_languages(roster.facilitator_entry(user).languages)
    if form.validate_on_submit():
        try:
            roster.update_facilitator(current_user, user, languages=form.languages.data, trainings=form.trainings(),
                                      timezone=form.timezone.data.strip(),
                                      max_active_referrals=form.max_active_referrals.data)
        except InvalidRequest as error:
            form.show_errors(error)
        else:
            flash(_("The profile is saved."), "success")
            return _back(user)
    return _profile_page(user, 400, profile_form=form)


@bp.post("/roster/<user_id>/availability")
@role_required(*ROSTER_USERS)
def save_availability(user_id: str):
    """Save the week grid; dated exceptions stay as they are."""
    user = roster.load_facilitator(current_user, user_id)
    grid = WeekGrid.read("weekly", request.form)  # CSRFProtect has checked the token already
    current = roster_availability.availability_of(user)
    try:
        roster_availability.set_availability(current_user, user, grid.entries,
                                [{"date": day, "unavailable": flag} for day, flag in current.exceptions])
    except InvalidRequest as error:
        grid.show_errors(error, "weekly")
        return _profile_page(user, 400, grid=grid)
    flash(_("Your availability is saved.") if user.id == current_user.id else _("The availability is saved."),
          "success")
    return _back(user, "#availability")


@bp.post("/roster/<user_id>/exceptions")
@role_required(*ROSTER_USERS)
def add_exception(user_id: str):
    """Add a date the facilitator is not available."""
    user = roster.load_facilitator(current_user, user_id)
    form = ExceptionForm()
    if form.validate_on_submit():
        try:
            roster_availability.add_unavailable_date(current_user, user, form.date.data)
        except InvalidRequest as error:
            form.date.errors = [*form.date.errors, *[m for ms in error.details.values() for m in ms]]
        else:
            flash(_("The date is added."), "success")
            return _back(user, "#exceptions")
    return _profile_page(user, 400, exception_form=form)


@bp.post("/roster/<user_id>/exceptions/<day>/remove")
@role_required(*ROSTER_USERS)
def remove_exception(user_id: str, day: str):
    """Remove a date from the exceptions."""
    user = roster.load_facilitator(current_user, user_id)
    day_removed = day_or_none(day)
    if day_removed is None:
        return _back(user, "#exceptions")
    roster_availability.remove_exception(current_user, user, day_removed)
    flash(_("The date is removed."), "success")
    return _back(user, "#exceptions")


@bp.post("/roster/<user_id>/conflicts")
@role_required(*ROSTER_USERS)
def declare_conflict(user_id: str):
    """Declare a conflict of interest with a case."""
    user = roster.load_facilitator(current_user, user_id)
    form = ConflictForm()
    if form.validate_on_submit():
        try:
            roster_conflicts.declare_conflict(current_user, user, form.docket_number.data)
        except InvalidRequest as error:
            form.docket_number.errors = [*form.docket_number.errors,
                                         *[m for ms in error.details.values() for m in ms]]
        else:
            flash(_("The conflict of interest is declared."), "success")
            return _back(user, "#conflicts")
    return _profile_page(user, 400, conflict_form=form)


@bp.post("/roster/<user_id>/conflicts/<conflict_id>/remove")
@role_required(*ROSTER_USERS)
def remove_conflict(user_id: str, conflict_id: str):
    """Withdraw a declared conflict."""
    user = roster.load_facilitator(current_user, user_id)
    roster_conflicts.remove_conflict(current_user, roster_conflicts.load_conflict(current_user, user, conflict_id))
    flash(_("The conflict of interest is removed."), "success")
    return _back(user, "#conflicts")


# Venues ----------------------------------------------------------------------------------------------------------


@bp.get("/venues")
@role_required(*MANAGERS)
def venue_list():
    """Every venue, active first."""
    return render_template("venues/index.html", venues=venues.list_venues(current_user))


@bp.route("/venues/new", methods=["GET", "POST"])
@role_required(*MANAGERS)
def venue_new():
    """Add a venue with its opening hours."""
    form = VenueForm()
    grid = WeekGrid.read("hours", request.form) if form.is_submitted() else WeekGrid.of("hours", [])
    if request.method == "GET":
        form.timezone.data, form.capacity.data = "UTC", 8
    if form.validate_on_submit():
        try:
            venue = venues.create_venue(current_user, **form.values(), opening_hours=grid.entries)
        except InvalidRequest as error:
            show_venue_errors(form, grid, error)
        else:
            flash(_("The venue is added."), "success")
            return redirect(url_for("roster.venue_edit", venue_id=venue.id))
    return render_template("venues/edit.html", form=form, grid=grid, venue=None, timezones=timezone_names()), \
        400 if form.is_submitted() else 200


@bp.route("/venues/<venue_id>", methods=["GET", "POST"])
@role_required(*MANAGERS)
def venue_edit(venue_id: str):
    """Change a venue and its opening hours."""
    venue = venues.load_venue(current_user, venue_id)
    if request.method == "GET":
        form = VenueForm(formdata=None, obj=venue)
        form.address.data = venues.read_address(current_user, venue)
        form.entrance.data = venues.read_entrance(current_user, venue)
        grid = WeekGrid.of("hours", venue.opening_hours)
    else:
        form, grid = VenueForm(), WeekGrid.read("hours", request.form)
    if form.validate_on_submit():
        try:
            venues.update_venue(current_user, venue, **form.values(), opening_hours=grid.entries)
        except InvalidRequest as error:
            show_venue_errors(form, grid, error)
        else:
            flash(_("The venue is saved."), "success")
            return redirect(url_for("roster.venue_edit", venue_id=venue.id))
    return render_template("venues/edit.html", form=form, grid=grid, venue=venue, timezones=timezone_names()), \
        400 if form.is_submitted() else 200


def show_venue_errors(form: VenueForm, grid: WeekGrid, error: InvalidRequest) -> None:
    """The service's errors on the venue form and on the grid."""
    grid.show_errors(error, "opening_hours")
    for path, messages in error.details.items():
        if path.split(".")[0] == "opening_hours":
            continue
        target = form._fields.get(path)
        if target is not None:
            target.errors = [*target.errors, *messages]
        else:
            form.form_errors.extend(messages)


@bp.post("/venues/<venue_id>/active")
@role_required(*MANAGERS)
def venue_active(venue_id: str):
    """Deactivate a venue (it is never deleted), or make it active again."""
    venue = venues.load_venue(current_user, venue_id)
    active = request.form.get("active") == "true"
    venues.update_venue(current_user, venue, active=active)
    flash(_("The venue is active.") if active else _("The venue is deactivated."), "success")
    return redirect(url_for("roster.venue_list"))


# The parties' unavailable times ----------------------------------------------------------------------------------


@bp.route("/referrals/<referral_id>/unavailability", methods=["GET", "POST"])
@role_required(Role.coordinator, Role.facilitator)
def unavailable_times(referral_id: str):
    """When the parties cannot attend, with a form to add a time."""
    referral = unavailability.referral_for(current_user, referral_id)
    form = UnavailabilityForm()
    if request.method == "GET":
        form.timezone.data = roster.facilitator_entry(current_user).timezone \
            if current_user.has_role(Role.facilitator) else "UTC"
    if form.validate_on_submit():
        start, end = form.moments()
        if start is not None:
            try:
                unavailability.add_unavailability(current_user, referral, form.party.data, start, end)
            except InvalidRequest as error:
                for path, messages in error.details.items():
                    target = form._fields.get(path)
                    (target.errors if target is not None else form.form_errors).extend(messages)
            else:
                flash(_("The time is recorded; sessions will not be proposed then."), "success")
                return redirect(url_for("roster.unavailable_times", referral_id=referral.id))
    return render_template("roster/unavailability.html", referral=referral, form=form,
                           items=unavailability.unavailability_of(current_user, referral),
                           timezones=timezone_names()), 400 if form.is_submitted() else 200


@bp.post("/unavailability/<entry_id>/remove")
@role_required(Role.coordinator, Role.facilitator)
def remove_unavailable_time(entry_id: str):
    """Forget a declared time."""
    entry, referral = unavailability.load_unavailability(current_user, entry_id)
    unavailability.remove_unavailability(current_user, entry, referral)
    flash(_("The time is removed."), "success")
    return redirect(url_for("roster.unavailable_times", referral_id=referral.id))
