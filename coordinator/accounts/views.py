"""Pages for signing in and out, resetting a forgotten password, and one's own account."""

from __future__ import annotations

import math
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from coordinator import clock
from coordinator.accounts import mfa, passwords, resets, signin, tokens
from coordinator.accounts.forms import (
    CodeForm,
    EnrolForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    TokenForm,
)
from coordinator.accounts.models import Role, User
from coordinator.accounts.sessions import end_session
from coordinator.api import is_api_request
from coordinator.db import db
from coordinator.errors import InvalidRequest, NotFound
from coordinator.extensions import limiter
from coordinator.i18n import safe_next
from coordinator.pages import show_field_errors
from coordinator.portal.links import qr_svg  # the one server-drawn QR code, as on a handed-over link

auth = Blueprint("auth", __name__)
account = Blueprint("account", __name__, url_prefix="/account")

PENDING = "pending_sign_in"  # the Flask session key holding who passed the password step, until when, and `next`
RESET = "reset_token"  # the Flask session key holding a reset link's token, so the form's URL does not carry it
# Until a first password is changed and a required second factor set up, only these pages open.
OPEN_WHILE_RESTRICTED = {"static", "auth.logout", "i18n.switch_language", "account.first_password",
                         "account.two_step", "account.confirm_two_step"}


def login_limit() -> str:
    """How often one address may post sign-in forms at all."""
    return current_app.config["LOGIN_RATE_LIMIT"]


@auth.before_app_request
def finish_account_set_up():
    """A first password must be changed, then a required second factor set up, before any other page opens.
    API tokens are not affected (docs/api.md "Staff sign-in")."""
    if is_api_request() or request.endpoint in OPEN_WHILE_RESTRICTED or not current_user.is_authenticated:
        return None
    if current_user.must_change_password:
        return redirect(url_for("account.first_password"))
    if mfa.needs_enrolment(current_user):
        return redirect(url_for("account.two_step"))
    return None


@auth.get("/")
def home():
    """Send each role to where its work is."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.has_role(Role.admin):
        return redirect(url_for("admin.users"))
    return redirect(url_for("referrals.index"))


def _signed_in(result: signin.StepResult, next_path: str | None):
    session.clear()
    session.permanent = True
    session["sid"] = result.token
    login_user(result.user)
    return redirect(safe_next(next_path, url_for("auth.home")))


def _too_many(template: str, form, result: signin.StepResult):
    form.form_errors.append(_("Too many attempts. Please wait a little and try again."))
    seconds = math.ceil(result.wait.total_seconds()) if result.wait else 60
    return render_template(template, form=form), 429, {"Retry-After": str(seconds)}


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    """The password step; failures are throttled per account, per address and per pair, and never lock anyone."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    result = signin.check_password(form.email.data, form.password.data, request.remote_addr or "")
    if result.outcome == signin.Outcome.throttled:
        return _too_many("auth/login.html", form, result)
    if result.outcome == signin.Outcome.refused:
        form.form_errors.append(_("The email address or the password is not right."))
        # 200, not 4xx: the failed attempt's audit entry and count must be committed.
        return render_template("auth/login.html", form=form)
    if result.outcome == signin.Outcome.code_needed and result.user is not None:
        session.clear()
        until = clock.now().timestamp() + signin.PENDING_CODE_MINUTES * 60
        session[PENDING] = {"user": str(result.user.id), "until": until, "next": request.args.get("next")}
        return redirect(url_for("auth.code"))
    return _signed_in(result, request.args.get("next"))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < clock.now().timestamp():
        return None
    try:
        return db.session.get(User, uuid.UUID(str(pending.get("user"))))
    except ValueError:
        return None


@auth.route("/login/code", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def code():
    """The second step: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form), 400 if form.is_submitted() else 200
    result = signin.check_code(user, form.code.data, request.remote_addr or "")
    if result.outcome == signin.Outcome.throttled:
        return _too_many("auth/code.html", form, result)
    if result.outcome == signin.Outcome.refused:
        form.code.errors = [_("This code is not right, or it was already used. Try the next code your app shows.")]
        return render_template("auth/code.html", form=form)
    return _signed_in(result, session[PENDING].get("next"))


@auth.post("/logout")
@login_required
def logout():
    """End this browser's session; its cookie is refused from now on."""
    end_session(current_user, session.get("sid"))
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@auth.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_REQUEST_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        resets.request_reset(form.email.data)
        return render_template("auth/forgot_sent.html")
    return render_template("auth/forgot.html", form=form), 400 if form.is_submitted() else 200


@auth.get(resets.RESET_PATH + "<token>")
def open_reset_link(token: str):
    """Opening the emailed link changes nothing: the token moves into the session and the URL loses it."""
    if resets.find_reset(token) is None:
        return render_template("auth/reset_unusable.html"), 404
    session[RESET] = token
    return redirect(url_for("auth.reset_password"))


@auth.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_password():
    """Choose a new password through a working link; it ends every session, this browser's too."""
    token = session.get(RESET)
    if resets.find_reset(token) is None:
        session.pop(RESET, None)
        return render_template("auth/reset_unusable.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            resets.complete_reset(token, form.new_password.data, form.confirmation.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        except NotFound:
            return render_template("auth/reset_unusable.html"), 404
        else:
            logout_user()
            session.clear()
            flash(_("Your password is changed and you are signed out everywhere. Sign in with the new password."),
                  "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 400 if form.is_submitted() else 200


@account.get("")
@login_required
def index():
    """Language, password, second factor and API tokens."""
    return _account_page()


def _account_page(password_form=None, token_form=None, new_token=None, status=200):
    return render_template(
        "account/index.html",
        password_form=password_form or PasswordChangeForm(),
        token_form=token_form or TokenForm(),
        tokens=tokens.user_tokens(current_user),
        new_token=new_token,
        mfa_required=mfa.mfa_required(current_user),
        recovery_codes_left=mfa.recovery_codes_left(current_user) if current_user.mfa_enabled else 0,
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
            session["sid"] = passwords.change_password(current_user, form.current_password.data,
                                                       form.new_password.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(url_for("account.index"))
    return _account_page(password_form=form, status=400)


@account.route("/first-password", methods=["GET", "POST"])
@login_required
def first_password():
    """The forced change of a password an admin set: nothing else opens until it is done."""
    if not current_user.must_change_password:
        return redirect(url_for("auth.home"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            session["sid"] = passwords.replace_first_password(current_user, form.new_password.data,
                                                              form.confirmation.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.home"))
    return render_template("account/first_password.html", form=form), 400 if form.is_submitted() else 200


@account.get("/two-step")
@login_required
def two_step():
    """Set up the second factor (QR code and secret), or see its state and renew recovery codes."""
    form = EnrolForm()
    if current_user.mfa_enabled:
        return render_template("account/two_step.html", form=form,
                               codes_left=mfa.recovery_codes_left(current_user))
    return _enrolment_page(form)


def _enrolment_page(form, status=200):
    secret = mfa.pending_secret(current_user)
    uri = mfa.provisioning_uri(current_user, secret)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("account/two_step_enrol.html", form=form, secret=grouped, qr=qr_svg(uri),
                           required=mfa.mfa_required(current_user)), status


@account.post("/two-step")
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], key_func=lambda: f"mfa:{current_user.get_id()}",
               deduct_when=lambda response: response.status_code == 400)
def confirm_two_step():
    """Confirm the app with its first code; the recovery codes are shown once."""
    form = EnrolForm()
    if current_user.mfa_enabled:
        return redirect(url_for("account.two_step"))
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(current_user, form.code.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return render_template("account/recovery_codes.html", codes=codes), 201
    return _enrolment_page(form, status=400)


@account.post("/two-step/recovery-codes")
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_FAILURE_LIMIT"], key_func=lambda: f"mfa:{current_user.get_id()}",
               deduct_when=lambda response: response.status_code == 400)
def renew_recovery_codes():
    """Ten new recovery codes against a current code from the app; the old ones stop working."""
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = mfa.new_recovery_codes(current_user, form.code.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return render_template("account/recovery_codes.html", codes=codes), 201
    return render_template("account/two_step.html", form=form,
                           codes_left=mfa.recovery_codes_left(current_user)), 400


@account.post("/tokens")
@login_required
def create_token():
    """Create an API token and show it once."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _token, plaintext = tokens.issue_token(current_user, current_user, form.label.data)
        except InvalidRequest as error:
            show_field_errors(form, error)
        else:
            return _account_page(new_token=plaintext, status=201)
    return _account_page(token_form=form, status=400)


@account.post("/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str):
    """Revoke one of one's own tokens."""
    tokens.revoke_token(current_user, token_id)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("account.index"))
