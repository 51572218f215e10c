"""The portal's forms: each carries the CSRF token; the buttons carry the decision."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class PortalForm(FlaskForm):
    """A button-only form: the CSRF token is all it carries."""


class ContinueForm(FlaskForm):
    """The interstitial's continue button, with the PIN when the party chose one."""

    pin = PasswordField(_l("Your PIN"), validators=[Optional(), Length(max=8)])


class DecisionForm(FlaskForm):
    """Grant or withdraw, naming the sheet version and language that were shown."""

    decision = HiddenField()
    sheet_version = HiddenField(validators=[DataRequired(), Length(max=16)])
    sheet_language = HiddenField(validators=[DataRequired(), Length(max=8)])


class PinForm(FlaskForm):
    """A PIN of 4 to 8 digits."""

    pin = PasswordField(_l("Choose a PIN (4 to 8 digits)"),
                        validators=[DataRequired(), Regexp(r"^\d{4,8}$", message=_l("Use 4 to 8 digits."))])
