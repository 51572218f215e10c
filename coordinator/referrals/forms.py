"""Forms for referral intake, the list filters, status changes and facilitator assignment."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import ValidationError
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from coordinator.i18n import language_label
from coordinator.pages import select_options
from coordinator.party_i18n import offered
from coordinator.referrals.models import (
    REASON_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
    CaseStage,
    ReferralSource,
    ReferralStatus,
)
from coordinator.referrals.schemas import ReferralIn

# Languages a party may speak. The portal, the sheets and the messages exist in thirteen of them (party_i18n.py);
# for the others staff are warned and asked whether an interpreter is arranged (docs/design.md section 7).
PARTY_LANGUAGES = ("en", "es", "fr", "pt", "ro", "bg", "hu", "pl", "uk", "ru", "sq", "ar", "ti", "am", "zh", "vi",
                   "th", "tl", "yo", "ha")

ZONE_HINT = _l("An IANA time zone such as Europe/Madrid, used for sessions by video. Leave it empty to use the "
               "programme's time zone.")

# Where each field of ReferralIn is shown on the intake form.
FIELD_FOR_PATH = {
    "source": "source",
    "notes": "notes",
    "case_id": "case_id",
    **{f"case.{name}": name for name in ("jurisdiction", "court", "docket_number", "charges", "stage",
                                         "prosecutor_email")},
    **{f"{party}.{path}": f"{prefix}_{name}"
       for party, prefix in (("survivor", "survivor"), ("responsible_party", "responsible"))
       for path, name in (("alias", "alias"), ("preferred_language", "language"),
                          ("needs_interpreter", "interpreter"), ("interpreter_arranged", "interpreter_arranged"),
                          ("timezone", "timezone"), ("contact.email", "email"), ("contact.phone", "phone"))},
}


def _language_choices():
    return select_options((code, language_label(code) if offered(code) else
                           _("%(language)s (no portal: an interpreter is needed)", language=language_label(code)))
                          for code in PARTY_LANGUAGES)


class IntakeForm(FlaskForm):
    """A new referral: the case, the survivor and the responsible party."""

    source = SelectField(_l("Referred by"), choices=select_options((s.value, SOURCE_LABELS[s]) for s in ReferralSource))
    jurisdiction = StringField(_l("Jurisdiction"), validators=[DataRequired(), Length(max=120)])
    court = StringField(_l("Court"), validators=[DataRequired(), Length(max=200)])
    docket_number = StringField(_l("Docket number"), validators=[DataRequired(), Length(max=64)])
    charges = TextAreaField(_l("Charges"), validators=[Optional(), Length(max=4000)],
                            description=_l("One charge per line."))
    stage = SelectField(_l("Stage of the case"), choices=select_options((s.value, STAGE_LABELS[s]) for s in CaseStage))
    prosecutor_email = EmailField(_l("Prosecutor's email address"), validators=[Optional(), Email(), Length(max=254)],
                                  description=_l("The prosecutor who will see consent status for this case."))

    survivor_alias = StringField(_l("Survivor's alias"), validators=[DataRequired(), Length(max=80)],
                                 description=_l("An alias, not the legal name."))
    survivor_language = SelectField(_l("Preferred language"))
    survivor_interpreter = BooleanField(_l("Needs an interpreter"))
    survivor_interpreter_arranged = BooleanField(_l("An interpreter is arranged"))
    survivor_timezone = StringField(_l("Time zone for remote sessions"), validators=[Optional(), Length(max=64)],
                                     description=ZONE_HINT,
                                     render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"})
    survivor_email = EmailField(_l("Email address"), validators=[Optional(), Email(), Length(max=254)])
    survivor_phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=25)])

    responsible_alias = StringField(_l("Responsible party's alias"), validators=[DataRequired(), Length(max=80)])
    responsible_language = SelectField(_l("Preferred language"))
    responsible_interpreter = BooleanField(_l("Needs an interpreter"))
    responsible_interpreter_arranged = BooleanField(_l("An interpreter is arranged"))
    responsible_timezone = StringField(_l("Time zone for remote sessions"), validators=[Optional(), Length(max=64)],
                                     description=ZONE_HINT,
                                     render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"})
    responsible_email = EmailField(_l("Email address"), validators=[Optional(), Email(), Length(max=254)])
    responsible_phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=25)])

    notes = TextAreaField(_l("Intake notes"), validators=[Optional(), Length(max=4000)],
                          description=_l("Encrypted. Never shared with the prosecution."))
    language_gap_seen = HiddenField()  # the warning about a language without a portal was shown once
    # A coordinator's choice among the cases found for the docket number: an existing case's id, or empty for new.
    case_id = StringField(_l("Case"), validators=[Optional(), Length(max=36)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.survivor_language.choices = self.responsible_language.choices = _language_choices()

    def to_input(self) -> ReferralIn | None:
        """The API's input model built from the form, or None with the errors shown on the fields."""
        def party(prefix: str) -> dict:
            return {
                "alias": getattr(self, f"{prefix}_alias").data,
                "preferred_language": getattr(self, f"{prefix}_language").data,
                "needs_interpreter": getattr(self, f"{prefix}_interpreter").data,
                "interpreter_arranged": getattr(self, f"{prefix}_interpreter_arranged").data,
                "timezone": getattr(self, f"{prefix}_timezone").data or None,
                "contact": {"email": getattr(self, f"{prefix}_email").data or None,
                            "phone": getattr(self, f"{prefix}_phone").data or None},
            }

        data: dict = {
            "source": self.source.data,
            "case": {
                "jurisdiction": self.jurisdiction.data,
                "court": self.court.data,
                "docket_number": self.docket_number.data,
                "charges": [line.strip() for line in (self.charges.data or "").splitlines() if line.strip()],
                "stage": self.stage.data,
                "prosecutor_email": self.prosecutor_email.data or None if "prosecutor_email" in self else None,
            },
            "survivor": party("survivor"),
            "responsible_party": party("responsible"),
            "notes": self.notes.data or None,
        }
        if "case_id" in self and self.case_id.data:
            data["case_id"] = self.case_id.data
            del data["case"]
        try:
            return ReferralIn.model_validate(data)
        except ValidationError as error:
            for problem in error.errors(include_url=False, include_input=False):
                path = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
                field = self._fields.get(FIELD_FOR_PATH.get(path, ""))
                message = _l("This value is not valid.")
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    self.form_errors.append(message)
            return None


class ListFilterForm(FlaskForm):
    """Status filter and search box of the referral list (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()], choices=select_options(
        [("", _l("All")), *((s.value, STATUS_LABELS[s]) for s in ReferralStatus)]))
    q = StringField(_l("Reference or docket number"), validators=[Optional(), Length(max=64)])


class TransitionForm(FlaskForm):
    """Move a referral on; pausing and closing take a reason code and an optional note."""

    to = HiddenField(validators=[DataRequired()])
    reason = SelectField(_l("Reason"), validators=[Optional()], validate_choice=False)
    note = TextAreaField(_l("Note (optional, encrypted)"), validators=[Optional(), Length(max=2000)])

    def with_reasons(self, reasons: tuple[str, ...]) -> TransitionForm:
        """Offer the reason codes of one move; each move's fields get their own ids, so every label finds its list."""
        self.reason.choices = select_options((code, REASON_LABELS[code]) for code in reasons)
        for name in ("to", "reason", "note"):
            field = self[name]
            field.id = field.label.field_id = f"{name}-{self.to.data}"
        return self


class AssignForm(FlaskForm):
    """Lead and co-facilitator."""

    lead = SelectField(_l("Lead facilitator"), validate_choice=False)
    co = SelectField(_l("Co-facilitator"), validate_choice=False)
    override_reason = StringField(_l("Reason to assign over the caseload cap"),
                                  validators=[Optional(), Length(max=200)],
                                  description=_l("Only when someone is at their cap. Say why, without names; it is "
                                                 "shown on the roster and audited."))


def unanswered_gaps(data: ReferralIn) -> list[tuple[str, str]]:
    """The parties (role, language) whose language has no portal and no interpreter is arranged yet."""
    return [(role, party.preferred_language) for role, party in (("survivor", data.survivor),
                                                                 ("responsible_party", data.responsible_party))
            if not offered(party.preferred_language) and not party.interpreter_arranged]
