"""Forms for signing in, the account page and account administration."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from coordinator.accounts.models import ROLE_LABELS, Role
from coordinator.i18n import LANGUAGE_NAMES
from coordinator.pages import select_options


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PasswordChangeForm(FlaskForm):
    """The current password, then the new one."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()],
                                 description=_l("At least 12 characters. A short sentence works well."))


class TokenForm(FlaskForm):
    """A label for a new API token."""

    label = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=80)])


class UserForm(FlaskForm):
    """A new staff account; the password is generated and shown once."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=select_options((role.value, ROLE_LABELS[role]) for role in Role))
    language = SelectField(_l("Language"), choices=select_options(LANGUAGE_NAMES.items()))
