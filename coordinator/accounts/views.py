"""Pages for signing in and out, one's own account, and account administration."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from coordinator.accounts import service
from coordinator.accounts.forms import LoginForm, PasswordChangeForm, TokenForm, UserForm
from coordinator.accounts.models import Role
from coordinator.errors import InvalidRequest
from coordinator.extensions import limiter
from coordinator.i18n import safe_next
from coordinator.pages import role_required, show_field_errors

auth = Blueprint("auth", __name__)
account = Blueprint("account", __name__, url_prefix="/account")
admin = Blueprint("admin", __name__, url_prefix="/admin")


def _account_key() -> str:
    return "login-account:" + service.sha256_hex(request.form.get("email", "").strip().lower())


@auth.get("/")
def home():
    """Send each role to where its work is."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.has_role(Role.admin):
        return redirect(url_for("admin.users"))
    return redirect(url_for("referrals.index"))


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], methods=["POST"], key_func=_account_key,
               deduct_when=lambda _response: g.get("login_failed", False))
def login():
    """Sign in; failures are counted per address and per account."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = service.sign_in(form.email.data, form.password.data)
        if user is not None:
            token = service.start_session(user)
            session.clear()
            session.permanent = True
            session["sid"] = token
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
        g.login_failed = True
        form.form_errors.append(_("The email address or the password is not right."))
        # 200, not 4xx: the failed attempt's audit entry must be committed.
        return render_template("auth/login.html", form=form)
    return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200


@auth.post("/logout")
@login_required
def logout():
    """End this browser's session; its cookie is refused from now on."""
    service.end_session(current_user, session.get("sid"))
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@account.get("")
@login_required
def index():
    """Language, password and API tokens."""
    return _account_page()


def _account_page(password_form=None, token_form=None, new_token=None, status=200):
    return render_template(
        "account/index.html",
        password_form=password_form or PasswordChangeForm(),
        token_form=token_form or TokenForm(),
        tokens=service.user_tokens(current_user),
        new_token=new_token,
    ), status


@account.post("/password")
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], key_func=lambda: f"password:{current_user.get_id()}",
               deduct_when=lambda response: response.status_code == 400)
def change_password():
    """Change the password; every other session of this account ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            session["sid"] = service.change_password(current_user, form.current_password.data, form.new_password.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(url_for("account.index"))
    return _account_page(password_form=form, status=400)


@account.post("/tokens")
@login_required
def create_token():
    """Create an API token and show it once."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _token, plaintext = service.issue_token(current_user, current_user, form.label.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return _account_page(new_token=plaintext, status=201)
    return _account_page(token_form=form, status=400)


@account.post("/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str):
    """Revoke one of one's own tokens."""
    service.revoke_token(current_user, token_id)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("account.index"))


@admin.get("/users")
@role_required(Role.admin)
def users():
    """Every staff account."""
    page = service.list_users(current_user, request.args.get("page", 1, type=int))
    return render_template("admin/users.html", page=page)


@admin.route("/users/new", methods=["GET", "POST"])
@role_required(Role.admin)
def new_user():
    """Create an account; its first password is shown once, to hand over in person."""
    form = UserForm()
    if form.validate_on_submit():
        try:
            user, password = service.create_user(current_user, email=form.email.data, role=form.role.data,
                                                 name=form.name.data, language=form.language.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return render_template("admin/user_created.html", user=user, password=password), 201
    return render_template("admin/user_new.html", form=form), 400 if form.is_submitted() else 200


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
    return redirect(url_for("admin.users"))


@admin.post("/users/<user_id>/reactivate")
@role_required(Role.admin)
def reactivate(user_id: str):
    """Let a deactivated account sign in again."""
    service.reactivate_user(current_user, service.load_user(current_user, user_id))
    flash(_("The account is active again."), "success")
    return redirect(url_for("admin.users"))
