"""Account administration: list, create, edit, deactivate and reactivate accounts, reset a password or a second
factor. Admins see no case content (docs/design.md, "The product")."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts import mfa, passwords, resets, service
from coordinator.accounts.forms import TemporaryPasswordForm, UserEditForm, UserForm
from coordinator.accounts.models import Role
from coordinator.errors import InvalidRequest
from coordinator.pages import role_required, show_field_errors

admin = Blueprint("admin", __name__, url_prefix="/admin")


@admin.get("/users")
@role_required(Role.admin)
def users():
    """Every staff account."""
    page = service.list_users(current_user, request.args.get("page", 1, type=int))
    return render_template("admin/users.html", page=page)


@admin.route("/users/new", methods=["GET", "POST"])
@role_required(Role.admin)
def new_user():
    """Create an account; its first password, typed or generated, must be changed at the first sign-in."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user, password = service.create_user(current_user, email=form.email.data, role=form.role.data,
                                                 name=form.name.data, language=form.language.data,
                                                 password=form.password.data or None, must_change=True)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return render_template("admin/user_created.html", user=user, password=password), 201
    return render_template("admin/user_new.html", form=form), 400 if form.is_submitted() else 200


def _edit_page(user, form=None, password_form=None, status=200):
    form = form or UserEditForm(data={"name": user.name, "role": user.role, "language": user.language})
    return render_template("admin/user_edit.html", user=user, form=form,
                           password_form=password_form or TemporaryPasswordForm(),
                           mfa_required=mfa.mfa_required(user)), status


@admin.route("/users/<user_id>", methods=["GET", "POST"])
@role_required(Role.admin)
def edit_user(user_id: str):
    """Correct a name, a language or a role; a new role signs the person out and revokes their tokens."""
    user = service.load_user(current_user, user_id)
    if request.method == "GET":
        return _edit_page(user)
    form = UserEditForm()
    if form.validate_on_submit():
        try:
            service.update_user(current_user, user, name=form.name.data, role=form.role.data,
                                language=form.language.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            flash(_("The account is saved."), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _edit_page(user, form=form, status=400)


@admin.post("/users/<user_id>/temporary-password")
@role_required(Role.admin)
def temporary_password(user_id: str):
    """Give a temporary password, typed or generated, which the person must change at their next sign-in."""
    user = service.load_user(current_user, user_id)
    form = TemporaryPasswordForm()
    if form.validate_on_submit():
        try:
            generated = passwords.set_temporary_password(current_user, user, form.password.data or None)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            if generated:
                return render_template("admin/user_created.html", user=user, password=generated, reset=True), 201
            flash(_("The temporary password is set. The person must change it when they next sign in."),
                  "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _edit_page(user, password_form=form, status=400)


@admin.post("/users/<user_id>/reset-link")
@role_required(Role.admin)
def reset_link(user_id: str):
    """Email the person a link to choose a new password themselves."""
    user = service.load_user(current_user, user_id)
    try:
        resets.send_reset_link(current_user, user)
    except InvalidRequest as error:
        flash(error.message, "error")
    else:
        flash(_("A link to choose a new password is on its way to the person's email address."), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@admin.post("/users/<user_id>/second-factor/reset")
@role_required(Role.admin)
def reset_second_factor(user_id: str):
    """Remove the person's second factor (a lost phone); they set it up again at their next sign-in."""
    user = service.load_user(current_user, user_id)
    mfa.reset_second_factor(current_user, user)
    flash(_("The second factor is removed. The person sets it up again when they next sign in."), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@admin.post("/users/<user_id>/deactivate")
@role_required(Role.admin)
def deactivate(user_id: str):
    """Deactivate an account: its sessions end and its tokens stop at once."""
    user = service.load_user(current_user, user_id)
    try:
        service.deactivate_user(current_user, user)
    except InvalidRequest as error:
        flash(error.message, "error")
    else:
        flash(_("The account is deactivated."), "success")
    return redirect(_back(user_id))


@admin.post("/users/<user_id>/reactivate")
@role_required(Role.admin)
def reactivate(user_id: str):
    """Let a deactivated account sign in again."""
    service.reactivate_user(current_user, service.load_user(current_user, user_id))
    flash(_("The account is active again."), "success")
    return redirect(_back(user_id))


def _back(user_id: str) -> str:
    # Back to the edit page when the button was pressed there, else to the list; the referrer is only compared,
    # never followed.
    edit_page = url_for("admin.edit_user", user_id=user_id)
    return edit_page if (request.referrer or "").endswith(edit_page) else url_for("admin.users")
