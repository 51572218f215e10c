"""Forms of the safety page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from coordinator.inputs import DayField
from coordinator.pages import select_options
from coordinator.referrals.models import BASIS_LABELS, AcknowledgementBasis
from coordinator.safety.models import INCIDENT_LABELS, MEASURE_LABELS, IncidentKind, Measure
from coordinator.sessions.models import FORMAT_LABELS, SessionFormat


class AssessmentForm(FlaskForm):
    """The CSRF token and the summary; the answers are one radio group per item of the instrument."""

    summary = TextAreaField(_l("Summary (optional, encrypted)"), validators=[Optional(), Length(max=4000)])


class MitigationForm(FlaskForm):
    """Measures from the fixed list, and notes."""

    measures = SelectMultipleField(_l("Measures"),
                                   choices=select_options((m.value, MEASURE_LABELS[m]) for m in Measure),
                                   option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    notes = TextAreaField(_l("Notes (optional, encrypted)"), validators=[Optional(), Length(max=4000)])


class ProtectiveOrderForm(FlaskForm):
    """A court's protective order."""

    court_reference = StringField(_l("Court reference"), validators=[DataRequired(), Length(max=200)])
    no_contact = BooleanField(_l("It forbids contact between the parties"), default=True)
    expires_on = DayField(_l("Expires on"), validators=[DataRequired()])


class IncidentForm(FlaskForm):
    """What happened."""

    kind = SelectField(_l("What happened"), choices=select_options((k.value, INCIDENT_LABELS[k]) for k in IncidentKind))
    description = TextAreaField(_l("Description (encrypted)"), validators=[Optional(), Length(max=4000)])


class AcknowledgementForm(FlaskForm):
    """Where the responsible party acknowledged the basic facts."""

    basis = SelectField(_l("Acknowledged through"),
                        choices=select_options((b.value, BASIS_LABELS[b]) for b in AcknowledgementBasis))
    reference = StringField(_l("Reference (not the content)"), validators=[DataRequired(), Length(max=200)],
                            description=_l("For example the plea hearing's date, or the date of the statement."))


class ReadinessForm(FlaskForm):
    """The circle to check the gate for (GET, no CSRF)."""

    class Meta:
        csrf = False

    format = SelectField(_l("Format"), choices=select_options((f.value, FORMAT_LABELS[f]) for f in SessionFormat),
                         validators=[Optional()])
    date = DayField(_l("Date"), validators=[Optional()])
    interpreter = BooleanField(_l("An interpreter is booked"))
