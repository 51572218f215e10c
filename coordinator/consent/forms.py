"""The staff form that records a decision a party made in person or through an advocate."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from coordinator.consent.models import METHOD_LABELS, SCOPE_LABELS, Decision, Method, Scope
from coordinator.consent.sheets import LANGUAGES
from coordinator.i18n import language_label
from coordinator.pages import select_options
from coordinator.referrals.models import PARTY_LABELS, PartyRole

DECISION_LABELS = {Decision.granted: _l("Agrees"), Decision.withdrawn: _l("Does not agree, or withdraws")}


class ConsentRecordForm(FlaskForm):
    """Party, scope, decision, how it was made, and the sheet they were shown."""

    party = SelectField(_l("Who decided"), choices=select_options((r.value, PARTY_LABELS[r]) for r in PartyRole))
    scope = SelectField(_l("About"), choices=select_options((s.value, SCOPE_LABELS[s]) for s in Scope))
    decision = SelectField(_l("Decision"), choices=select_options((d.value, DECISION_LABELS[d]) for d in Decision))
    method = SelectField(_l("How"), choices=select_options(
        (m.value, METHOD_LABELS[m]) for m in (Method.in_person, Method.via_advocate)))
    information_language = SelectField(_l("Language of the information sheet they were shown"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.information_language.choices = select_options((code, language_label(code)) for code in LANGUAGES)
