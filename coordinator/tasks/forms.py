"""Forms of the queue: a task done (with an optional note) or dismissed (with a reason), and who is on call."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from coordinator.tasks.service import MAX_NOTE


class DoneForm(FlaskForm):
    """What was done, if worth saying."""

    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])


class DismissForm(FlaskForm):
    """Why the task needs nothing more."""

    reason = TextAreaField(_l("Why it needs nothing more"), validators=[DataRequired(), Length(max=MAX_NOTE)])


class OnCallForm(FlaskForm):
    """The on-call coordinator and the number their texts go to."""

    coordinator = SelectField(_l("On-call coordinator"), validate_choice=False)
    phone = StringField(_l("Mobile number for texts"), validators=[Optional(), Length(max=32)],
                        description=_l("In international form, for example +34 600 000 000. Kept encrypted."))
