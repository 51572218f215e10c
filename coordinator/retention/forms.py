"""Forms of the data lifecycle's page controls: a legal hold's reason, and erasure at a party's request."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from coordinator.pages import select_options
from coordinator.referrals.models import PARTY_LABELS
from coordinator.retention.service import MAX_REASON


class HoldForm(FlaskForm):
    """Why the data must be kept past its retention period."""

    reason = TextAreaField(_l("Reason for the legal hold"), validators=[DataRequired(), Length(max=MAX_REASON)],
                           description=_l("For example, an appeal or a related case. It is kept encrypted."))


class ErasureForm(FlaskForm):
    """Erase the referral's personal data because a party asked."""

    party = SelectField(_l("Who asked"), choices=select_options(PARTY_LABELS.items()),
                        validators=[DataRequired()])
    confirm = BooleanField(_l("I understand that this cannot be undone"), validators=[DataRequired()])
