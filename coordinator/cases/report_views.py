"""The printable court report and its PDF.

Both come from the same rows (`report_rows`), so the PDF can never show more than the page. Labels are in the
reader's language. fpdf2's core fonts are Latin-1 only: a Unicode TTF (DejaVu Sans, where the system has it) is
used when present, otherwise the text is brought safely down to Latin-1.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Blueprint, Response, render_template
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coordinator.agreements.models import AGREEMENT_STATUS_LABELS
from coordinator.cases.report import CourtReportData, court_report
from coordinator.sessions.models import CIRCLE_STATUS_LABELS

if TYPE_CHECKING:
    from fpdf import FPDF

bp = Blueprint("court_reports", __name__)

# Unicode fonts tried in order (regular, bold); without one, the PDF uses Helvetica and Latin-1 text.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
# Typography outside Latin-1 with a plain equivalent, for the Helvetica fallback.
LATIN1_SUBSTITUTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...",
                                    "•": "·", "\u2009": " ", "\u202f": " ", "€": "EUR", "Ł": "L", "ł": "l",
                                    "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE", "œ": "oe"})
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


@bp.get("/referrals/<referral_id>/court-report")
@login_required  # the scope decides: outside it, or without both consents, the answer is 404
def page(referral_id: str):
    """The printable court report."""
    report = court_report(current_user, referral_id, "html")
    return render_template("cases/court_report.html", report=report, rows=report_rows(report),
                           prepared=prepared_rows(report), referral_id=referral_id)


@bp.get("/referrals/<referral_id>/court-report.pdf")
@login_required
def pdf(referral_id: str):
    """The court report as a PDF download."""
    report = court_report(current_user, referral_id, "pdf")
    filename = UNSAFE_FILENAME.sub("-", f"court-report-{report.reference}.pdf")
    return Response(render_pdf(report), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def report_rows(report: CourtReportData) -> list[tuple[str, str]]:
    """The report's facts as (label, value) pairs in the reader's language."""
    circle = str(CIRCLE_STATUS_LABELS.get(report.circle_status, report.circle_status))
    if report.circle_date:
        circle = _("%(status)s on %(date)s", status=circle, date=_date(report.circle_date))
    return [
        (_("Docket number"), report.docket_number),
        (_("Court"), report.court),
        (_("Referral reference"), report.reference),
        (_("Circle"), circle),
        (_("Agreement status"), _status(report.agreement_status)),
        (_("Items agreed"), str(report.items_total)),
        (_("Items completed"), str(report.items_completed)),
        (_("Items overdue"), str(report.items_overdue)),
        (_("Agreement in force since"), _date(report.activated_on) or "—"),
        (_("Agreement ended on"), _date(report.ended_on) or "—"),
        (_("Report generated"), format_datetime(report.generated_at, "medium")),
    ]


def prepared_rows(report: CourtReportData) -> list[tuple[str, str, str, str, str]]:
    """The snapshots prepared for sentencing hearings: hearing date, prepared, status, completed of total, overdue."""
    return [(_date(item.hearing_on), format_datetime(item.prepared_at, "medium"), _status(item.agreement_status),
             _("%(completed)d of %(total)d", completed=item.items_completed, total=item.items_total),
             str(item.items_overdue)) for item in report.prepared]


def prepared_headings() -> tuple[str, str, str, str, str]:
    """The column headings of the prepared reports."""
    return (_("Sentencing hearing"), _("Prepared"), _("Agreement status"), _("Items completed"),
            _("Items overdue"))


def confidentiality_note() -> str:
    """What the report is, and what it never contains."""
    return _("Both parties agreed to share this compliance summary with the court. It contains no part of what "
             "was said in preparation or in the circle, and no details of the agreement.")


def _status(status: str) -> str:
    return str(AGREEMENT_STATUS_LABELS.get(status, status))


def _date(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value, "long")


def render_pdf(report: CourtReportData) -> bytes:
    """The report on A4, from the same rows as the page."""
    from fpdf import FPDF  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    family, text = pdf_font(pdf)
    title = _("Court report")
    pdf.set_title(text(f"{title} {report.reference}"))
    pdf.set_creator("Circlekeeper")
    pdf.add_page()
    pdf.set_font(family, "B", 18)
    pdf.cell(0, 10, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 11)
    pdf.multi_cell(0, 6, text(_("Compliance summary of a restorative justice agreement")), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 9)
    pdf.multi_cell(0, 5, text(confidentiality_note()), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(family, "", 11)
    with pdf.table(col_widths=(2, 3), text_align="LEFT", first_row_as_headings=False) as table:
        for label, value in report_rows(report):
            row = table.row()
            row.cell(text(label))
            row.cell(text(value))
    pdf.ln(6)
    pdf.set_font(family, "B", 13)
    pdf.cell(0, 8, text(_("Reports prepared for sentencing hearings")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    prepared = prepared_rows(report)
    if prepared:
        with pdf.table(text_align="LEFT") as table:
            for values in (prepared_headings(), *prepared):
                row = table.row()
                for value in values:
                    row.cell(text(value))
    else:
        pdf.multi_cell(0, 6, text(_("No report has been prepared for a sentencing hearing yet.")),
                       new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pdf_font(pdf: FPDF):
    """A Unicode TTF when the system has one, else Helvetica with Latin-1 text: (family, text function)."""
    for folder in FONT_DIRS:
        regular, bold = (folder / name for name in FONT_FILES)
        if regular.is_file() and bold.is_file():
            pdf.add_font("Unicode", "", str(regular))
            pdf.add_font("Unicode", "B", str(bold))
            return "Unicode", str
    return "Helvetica", latin1


def latin1(value: str) -> str:
    """Text Helvetica can show: Latin-1 kept, typography replaced, accents stripped where needed, else '?'."""
    out = []
    for char in str(value).translate(LATIN1_SUBSTITUTES):
        if ord(char) < 256:
            out.append(char)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256
                        and not unicodedata.combining(c))
        out.append(plain or "?")
    return "".join(out)
