"""Forms of the booking pages."""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from coordinator.inputs import DayField, check_moment
from coordinator.pages import select_options
from coordinator.referrals.models import PARTY_LABELS, PartyRole
from coordinator.sessions.bookable import SlotRequest
from coordinator.sessions.models import FORMAT_LABELS, KIND_LABELS, ScheduledSession, SessionFormat, SessionKind

CANCEL_REASONS = {
    "party_request": _l("A party asked"),
    "facilitator_unavailable": _l("A facilitator cannot come"),
    "venue_unavailable": _l("The venue is not available"),
    "other": _l("Other"),
}


def instant(_form, field) -> None:
    """A time with its UTC offset, as the slot list writes it."""
    try:
        check_moment(datetime.fromisoformat(field.data or ""))
    except ValueError:
        raise ValidationError(_l("Choose a time from the list.")) from None


class SlotSearchForm(FlaskForm):
    """What to book, how long, and between which days (GET, no CSRF)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Session"), choices=select_options((k.value, KIND_LABELS[k]) for k in SessionKind))
    format = SelectField(_l("Format"), choices=select_options((f.value, FORMAT_LABELS[f]) for f in SessionFormat))
    duration = IntegerField(_l("Length in minutes"), default=90, validators=[DataRequired(), NumberRange(15, 480)])
    start_on = DayField(_l("From"), validators=[Optional()])
    end_on = DayField(_l("Until"), validators=[Optional()])
    interpreter = BooleanField(_l("An interpreter is booked"))

    def keep(self, session: ScheduledSession, asked: bool) -> None:
        """A move keeps what the session is for; its format, length and interpreter unless the person changed them."""
        self.kind.data = session.kind
        if not asked:
            self.format.data = session.format
            self.duration.data = int((session.ends_at - session.starts_at).total_seconds() // 60)
            self.interpreter.data = session.interpreter

    def slot_request(self, limit: int = 10) -> SlotRequest:
        """The search as "Find a time" runs it."""
        return SlotRequest(self.kind.data, self.format.data, timedelta(minutes=self.duration.data),
                           self.start_on.data, self.end_on.data, limit, bool(self.interpreter.data))


class BookForm(FlaskForm):
    """The chosen slot, carried by its "Book" button."""

    kind = HiddenField(validators=[DataRequired()])
    format = HiddenField(validators=[DataRequired()])
    start = HiddenField(validators=[DataRequired(), instant])
    end = HiddenField(validators=[DataRequired(), instant])
    facilitator_ids = HiddenField(validators=[DataRequired()])
    venue_id = HiddenField()
    interpreter = HiddenField()


class CancelForm(FlaskForm):
    """Why a session is cancelled (a code, shown to staff only)."""

    reason = SelectField(_l("Reason"), choices=select_options(CANCEL_REASONS.items()))


class HeldForm(FlaskForm):
    """Who came."""

    attended = SelectMultipleField(_l("Who came"),
                                   choices=select_options((r.value, PARTY_LABELS[r]) for r in PartyRole),
                                   option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
