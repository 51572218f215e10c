"""Programme statistics for coordinators: aggregates only, with charts drawn by the server."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.validators import Optional

from coordinator.accounts.models import Role
from coordinator.agreements.models import AGREEMENT_STATUS_LABELS, AgreementStatus
from coordinator.audit.service import record
from coordinator.consent.models import PARTY_SCOPES, SCOPE_LABELS
from coordinator.inputs import EARLIEST, LATEST, DayField, out_of_range_message
from coordinator.pages import role_required
from coordinator.referrals.models import PARTY_LABELS, STATUS_LABELS, PartyRole, ReferralStatus
from coordinator.statistics import charts
from coordinator.statistics.service import (
    DAYS_BUCKET_LABELS,
    DAYS_BUCKETS,
    ProgrammeStatistics,
    programme_statistics,
)

bp = Blueprint("statistics", __name__, url_prefix="/statistics")

# How each agreement status is drawn in the stacked bar.
AGREEMENT_TONES = {
    AgreementStatus.draft: "neutral",
    AgreementStatus.active: "info",
    AgreementStatus.completed: "good",
    AgreementStatus.not_completed: "bad",
}


class PeriodForm(FlaskForm):
    """The optional period of received referrals (GET, no CSRF)."""

    class Meta:
        csrf = False

    since = DayField(_l("Received from"), validators=[Optional()])
    until = DayField(_l("Received until"), validators=[Optional()])

    def period(self) -> tuple[date | None, date | None]:
        """The valid period, or (None, None) for all time after replacing the fields' errors with ours."""
        self.validate()
        fields = (self.since, self.until)
        for field in fields:
            if field.errors:
                field.errors = [_("Enter a date, for example 2026-03-31.")]
            elif field.data and not EARLIEST <= field.data <= LATEST:
                field.errors = [out_of_range_message()]
        since, until = self.since.data, self.until.data
        if not any(field.errors for field in fields) and since and until and since > until:
            self.until.errors = [_("The end date must be on or after the start date.")]
        if any(field.errors for field in fields):
            self.form_errors.append(_("The period could not be used, so the statistics cover all time."))
            return None, None
        return since, until


@bp.get("")
@role_required(Role.coordinator)
def index():
    """Referrals by status, consent rates, time to the first circle and agreement completion, for a period."""
    form = PeriodForm(request.args)
    since, until = form.period()
    stats = programme_statistics(current_user, since, until)
    record(current_user, "statistics.view", details={"since": since and since.isoformat(),
                                                     "until": until and until.isoformat()})
    return render_template("statistics/index.html", form=form, stats=stats, figures=figures(stats),
                           format_decimal=format_decimal, format_percent=format_percent,
                           percentage_text=charts.percentage_text)


def figures(stats: ProgrammeStatistics) -> dict:
    """The four charts with the rows of their tables, labelled in the reader's language."""
    statuses = [(str(STATUS_LABELS[status]), stats.referrals_by_status[status]) for status in ReferralStatus]
    consent = [(str(PARTY_LABELS[role]), [(str(SCOPE_LABELS[scope]), *_ratio(stats.consent(role, scope)))
                                          for scope in PARTY_SCOPES[role]]) for role in PartyRole]
    days = [(str(DAYS_BUCKET_LABELS[bound]), stats.days_to_circle[bound]) for bound in DAYS_BUCKETS]
    agreements = [(str(AGREEMENT_STATUS_LABELS[status]), stats.agreements_by_status[status], AGREEMENT_TONES[status])
                  for status in AgreementStatus]
    return {
        "statuses": (charts.bar_chart(_("Referrals by status"), statuses, format_decimal), statuses),
        "consent": (charts.percentage_bars(_("Consent granted, of the parties asked"), consent), consent),
        "days": (charts.bar_chart(_("Referrals by days from referral to first circle"), days, format_decimal), days),
        "agreements": (charts.stacked_bar(_("Agreements by status"), agreements), agreements),
    }


def _ratio(ratio) -> tuple[int, int]:
    return ratio.part, ratio.whole
