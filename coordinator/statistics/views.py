"""Programme statistics for coordinators: aggregates only, with charts drawn by the server."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, format_decimal, format_percent
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
from coordinator.statistics.disclosure import MINIMUM, count_text, enough, rate, rate_text
from coordinator.statistics.service import (
    DAYS_BUCKET_LABELS,
    DAYS_BUCKETS,
    ProgrammeStatistics,
    programme_statistics,
    request_recount,
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
    record(current_user, "statistics.view", details=_period_details(since, until))
    return render_template("statistics/index.html", form=form, stats=stats, figures=figures(stats),
                           count_text=count_text, rate_text=rate_text, enough=enough, minimum=MINIMUM,
                           format_decimal=format_decimal, format_percent=format_percent)


@bp.get("/export.csv")
@role_required(Role.coordinator)
def export():
    """The page's figures as CSV, with the same suppression; exporting is audited like viewing."""
    since, until = PeriodForm(request.args).period()
    stats = programme_statistics(current_user, since, until)
    record(current_user, "statistics.export", details=_period_details(since, until))
    name = f"statistics-{since or 'start'}-{until or 'now'}.csv"
    return Response(export_csv(stats), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/refresh")
@role_required(Role.coordinator)
def refresh():
    """Ask for a new count now, instead of waiting for the next regular one."""
    request_recount(current_user)
    flash(_("The statistics will be counted again within a minute. Reload this page to see the new figures."),
          "success")
    return redirect(url_for("statistics.index", since=request.args.get("since") or None,
                            until=request.args.get("until") or None))


def _period_details(since: date | None, until: date | None) -> dict:
    return {"since": since and since.isoformat(), "until": until and until.isoformat()}


def export_csv(stats: ProgrammeStatistics) -> str:
    """One line per figure: section, item, count, of how many, rate; small counts and rates suppressed."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Section"), _("Item"), _("Count"), _("Of"), _("Rate")])
    writer.writerow([_("Period"), stats.since or "", stats.until or "", "", ""])
    writer.writerow([_("Counted at"), format_datetime(stats.as_of), "", "", ""])
    data = figures(stats)
    writer.writerow([_("Referrals received"), "", count_text(stats.referrals_total), "", ""])
    for label, value in data["statuses"][1]:
        writer.writerow([_("Referrals by status"), label, count_text(value), "", ""])
    for party, scopes in data["consent"][1]:
        for label, part, whole in scopes:
            writer.writerow([_("Consent granted, of the parties asked"), f"{party}: {label}", count_text(part),
                             count_text(whole), _rate_cell(part, whole)])
    median = stats.median_days_to_circle if enough(stats.circles_counted) else None
    writer.writerow([_("Median days from referral to first circle"), "", "" if median is None else median,
                     count_text(stats.circles_counted), ""])
    for label, value in data["days"][1]:
        writer.writerow([_("Referrals by days from referral to first circle"), label, count_text(value), "", ""])
    for label, value, _tone in data["agreements"][1]:
        writer.writerow([_("Agreements by status"), label, count_text(value), count_text(stats.agreements_total),
                         _rate_cell(value, stats.agreements_total)])
    writer.writerow([_("Agreements completed"), "", count_text(stats.completion.part),
                     count_text(stats.completion.whole), _rate_cell(stats.completion.part, stats.completion.whole)])
    return out.getvalue()


def _rate_cell(part: int, whole: int) -> str:
    fraction = rate(part, whole)
    return "" if fraction is None else format_percent(fraction)


def figures(stats: ProgrammeStatistics) -> dict:
    """The four charts with the rows of their tables, labelled in the reader's language."""
    statuses = [(str(STATUS_LABELS[status]), stats.referrals_by_status[status]) for status in ReferralStatus]
    consent = [(str(PARTY_LABELS[role]), [(str(SCOPE_LABELS[scope]), *_ratio(stats.consent(role, scope)))
                                          for scope in PARTY_SCOPES[role]]) for role in PartyRole]
    days = [(str(DAYS_BUCKET_LABELS[bound]), stats.days_to_circle[bound]) for bound in DAYS_BUCKETS]
    agreements = [(str(AGREEMENT_STATUS_LABELS[status]), stats.agreements_by_status[status], AGREEMENT_TONES[status])
                  for status in AgreementStatus]
    return {
        "statuses": (charts.bar_chart(_("Referrals by status"), statuses), statuses),
        "consent": (charts.percentage_bars(_("Consent granted, of the parties asked"), consent), consent),
        "days": (charts.bar_chart(_("Referrals by days from referral to first circle"), days), days),
        "agreements": (charts.stacked_bar(_("Agreements by status"), agreements), agreements),
    }


def _ratio(ratio) -> tuple[int, int]:
    return ratio.part, ratio.whole
