"""Forms of the agreement pages."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from coordinator.agreements.models import (
    ACCEPTANCE_METHOD_LABELS,
    ITEM_KIND_LABELS,
    ITEM_STATUS_LABELS,
    AcceptanceMethod,
    ItemKind,
    ItemStatus,
)
from coordinator.agreements.service import MAX_DESCRIPTION, MAX_NOTE
from coordinator.inputs import DayField
from coordinator.pages import select_options
from coordinator.referrals.models import PARTY_LABELS, PartyRole

BLANK_ROWS = 3


class ItemForm(Form):
    """One row of the agreement; a row left empty is ignored."""

    kind = SelectField(_l("Kind"), validators=[Optional()], choices=select_options(
        [("", "—"), *((k.value, ITEM_KIND_LABELS[k]) for k in ItemKind)]))
    description = TextAreaField(_l("What was agreed (encrypted)"), validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    due_on = DayField(_l("Due on"), validators=[Optional()])
    amount = DecimalField(_l("Amount (restitution only)"), places=2, validators=[Optional(), NumberRange(min=0)])
    currency = StringField(_l("Currency"), validators=[Optional(), Length(max=3)], description=_l("For example EUR"))

    def is_blank(self) -> bool:
        """True when nothing was entered in this row."""
        return not (self.kind.data or (self.description.data or "").strip() or self.due_on.data
                    or self.amount.data is not None or (self.currency.data or "").strip())


class DraftForm(FlaskForm):
    """The agreement's items."""

    items = FieldList(FormField(ItemForm), min_entries=BLANK_ROWS)


class AcceptanceForm(FlaskForm):
    """A party's acceptance given in person or through an advocate."""

    party = SelectField(_l("Party"), choices=select_options((p.value, PARTY_LABELS[p]) for p in PartyRole))
    method = SelectField(_l("How they accepted"), choices=select_options(
        (m.value, ACCEPTANCE_METHOD_LABELS[m]) for m in (AcceptanceMethod.in_person, AcceptanceMethod.via_advocate)))
    version = IntegerField(widget=HiddenInput(), validators=[DataRequired()])  # the version the page showed


class ProgressForm(FlaskForm):
    """What happened to an item, or an instalment paid."""

    status = SelectField(_l("What happened"), validators=[Optional()], choices=select_options(
        [("", _l("Only a payment or a note")),
         *((s.value, ITEM_STATUS_LABELS[s]) for s in (ItemStatus.completed, ItemStatus.missed, ItemStatus.waived))]))
    amount = DecimalField(_l("Amount paid"), places=2, validators=[Optional(), NumberRange(min=Decimal("0.01"))])
    note = TextAreaField(_l("Note (optional, encrypted)"), validators=[Optional(), Length(max=MAX_NOTE)])


class CloseForm(FlaskForm):
    """Why the agreement ends unfinished, for the team only."""

    note = TextAreaField(_l("Note (optional, encrypted)"), validators=[Optional(), Length(max=MAX_NOTE)])


def cents(amount: Decimal | None) -> int | None:
    """An amount typed in units as whole cents."""
    return None if amount is None else int((amount * 100).to_integral_value())


def units(amount_cents: int | None) -> Decimal | None:
    """Whole cents as an amount in units, for a form."""
    return None if amount_cents is None else Decimal(amount_cents) / 100
