"""Forms of the criminal case's panel on the referral page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired, InputRequired

from coordinator.cases.models import HEARING_KIND_LABELS, HearingKind
from coordinator.inputs import DayField
from coordinator.pages import select_options
from coordinator.referrals.models import STAGE_LABELS, CaseStage


class HearingForm(FlaskForm):
    """A hearing of the case: its kind and its date."""

    kind = SelectField(_l("Kind of hearing"),
                       choices=select_options((k.value, HEARING_KIND_LABELS[k]) for k in HearingKind),
                       validators=[InputRequired(message=_l("Choose the kind of hearing."))])
    on_date = DayField(_l("Date of the hearing"),
                        validators=[DataRequired(message=_l("Enter the hearing's date."))])


class StageForm(FlaskForm):
    """The stage the criminal case has reached."""

    stage = SelectField(_l("Stage of the case"),
                        choices=select_options((s.value, STAGE_LABELS[s]) for s in CaseStage),
                        validators=[InputRequired(message=_l("Choose the case's stage."))])
