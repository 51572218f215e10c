"""Forms for signing in, the account page, resetting a password and account administration."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from coordinator.accounts.models import ROLE_LABELS, Role
from coordinator.i18n import LANGUAGE_NAMES
from coordinator.pages import select_options

NEW_PASSWORD_HINT = _l("At least 12 characters. A few uncommon words make a strong password; avoid your name.")


def _role_choices():
    return select_options((role.value, ROLE_LABELS[role]) for role in Role)


class LoginForm(FlaskForm):
    """Email and password (docs/api.md "Staff sign-in")."""

    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."),
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"})


class PasswordChangeForm(FlaskForm):
    """The current password, then the new one."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired()], description=NEW_PASSWORD_HINT,
                                 render_kw={"autocomplete": "new-password"})


class NewPasswordForm(FlaskForm):
    """A new password typed twice: the forced change of a first password, and the reset form."""

    new_password = PasswordField(_l("New password"), validators=[DataRequired()], description=NEW_PASSWORD_HINT,
                                 render_kw={"autocomplete": "new-password"})
    confirmation = PasswordField(_l("The new password again"), validators=[DataRequired()],
                                 render_kw={"autocomplete": "new-password"})


class ForgotPasswordForm(FlaskForm):
    """The address a reset link should go to."""

    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})


class EnrolForm(FlaskForm):
    """The first code from the app, proving it holds the secret."""

    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class TokenForm(FlaskForm):
    """A label for a new API token."""

    label = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=80)])


class UserForm(FlaskForm):
    """A new staff account; without a password one is generated. Either is changed at the first sign-in."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=_role_choices())
    language = SelectField(_l("Language"), choices=select_options(LANGUAGE_NAMES.items()))
    password = PasswordField(_l("First password (optional)"), validators=[Optional(), Length(max=1024)],
                             description=_l("Leave empty to generate one. The person must change it when they "
                                            "first sign in."),
                             render_kw={"autocomplete": "new-password"})


class UserEditForm(FlaskForm):
    """What an admin may correct: name, role and language."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices(),
                       description=_l("Changing the role signs the person out everywhere and revokes their API "
                                      "tokens."))
    language = SelectField(_l("Language"), choices=select_options(LANGUAGE_NAMES.items()))


class TemporaryPasswordForm(FlaskForm):
    """A temporary password set by an admin; generated when left empty."""

    password = PasswordField(_l("Temporary password (optional)"), validators=[Optional(), Length(max=1024)],
                             description=_l("Leave empty to generate one. The person must change it when they "
                                            "next sign in."),
                             render_kw={"autocomplete": "new-password"})
