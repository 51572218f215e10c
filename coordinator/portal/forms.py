"""The portal's forms: each carries the CSRF token; the buttons carry the decision. Labels in the party domain."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from coordinator.party_i18n import _lp


class PortalForm(FlaskForm):
    """A button-only form: the CSRF token is all it carries."""


class ContinueForm(FlaskForm):
    """The interstitial's continue button, with the PIN when the party chose one."""

    pin = PasswordField(_lp("Your PIN"), validators=[Optional(), Length(max=8, message=_lp("Use 4 to 8 digits."))])


class DecisionForm(FlaskForm):
    """Grant or withdraw, naming the sheet version and language that were shown."""

    decision = HiddenField()
    sheet_version = HiddenField(validators=[DataRequired(), Length(max=16)])
    sheet_language = HiddenField(validators=[DataRequired(), Length(max=8)])


class PinForm(FlaskForm):
    """A PIN of 4 to 8 digits."""

    pin = PasswordField(_lp("Choose a PIN (4 to 8 digits)"),
                        validators=[DataRequired(message=_lp("Use 4 to 8 digits.")),
                                    Regexp(r"^\d{4,8}$", message=_lp("Use 4 to 8 digits."))])
