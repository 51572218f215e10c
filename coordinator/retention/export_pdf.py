"""A person's own data as a PDF, in their language, from the same export the JSON answer gives (so it can never
show more). The Unicode font and the Latin-1 fallback are the court report's (coordinator/cases/report_views.py)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _

from coordinator.cases.report_views import pdf_font
from coordinator.retention.export import PartyExport


def render_export_pdf(export: PartyExport) -> bytes:
    """The export on A4, every heading and label in the party's language."""
    with force_locale(export.language):
        return _render(export)


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    return format_datetime(value, "medium") if isinstance(value, datetime) else format_date(value, "medium")


def _render(export: PartyExport) -> bytes:
    from fpdf import FPDF  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    family, text = pdf_font(pdf)
    title = _("The information we hold about you")
    pdf.set_title(text(f"{title} {export.reference}"))
    pdf.set_creator("Circlekeeper")
    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 9, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    pdf.multi_cell(0, 5, text(_("Reference %(reference)s. Prepared on %(date)s.", reference=export.reference,
                                date=_when(export.generated_at))), new_x="LMARGIN", new_y="NEXT")

    def section(heading: str, rows: list[tuple[str, ...]], headings: tuple[str, ...] | None = None) -> None:
        pdf.ln(4)
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(0, 7, text(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)
        if not rows:
            pdf.multi_cell(0, 5, text(_("Nothing is held.")), new_x="LMARGIN", new_y="NEXT")
            return
        with pdf.table(text_align="LEFT", first_row_as_headings=headings is not None) as table:
            for values in ((headings,) if headings else ()) + tuple(rows):
                row = table.row()
                for value in values:
                    row.cell(text(value))

    party = export.party
    section(_("Your record"), [
        (_("Role"), party.role_label), (_("Name we use"), party.alias or "—"),
        (_("Preferred language"), party.preferred_language),
        (_("Interpreter"), _("Yes") if party.needs_interpreter else _("No")),
        (_("Email address"), party.email or "—"), (_("Phone number"), party.phone or "—"),
        (_("Status of the process"), export.referral_status_label)])
    section(_("Your consent decisions"),
            [(_when(d.decided_at), d.scope_label, _("Agreed") if d.decision == "granted" else _("Withdrawn"),
              _("sheet %(version)s, %(language)s", version=d.sheet_version, language=d.sheet_language),
              d.method_label, _when(d.expires_at)) for d in export.consent_decisions],
            (_("Date"), _("About"), _("Decision"), _("Information sheet shown"), _("How"), _("Valid until")))
    section(_("Your appointments"),
            [(s.kind_label, s.format_label, _when(s.arrive_at), _when(s.leave_at), s.status_label,
              s.response_label, s.place or "—") for s in export.sessions],
            (_("Meeting"), _("Format"), _("From"), _("To"), _("Status"), _("Your answer"), _("Place")))
    section(_("The agreement"),
            [(i.kind_label, i.description or "—", _when(i.due_on), i.status_label, i.agreement_status_label)
             for i in export.agreement_items],
            (_("Item"), _("What was agreed"), _("Due"), _("Status"), _("Agreement")))
    section(_("Your acceptances of the agreement"),
            [(_("version %(version)d", version=a.agreement_version), a.method_label, _when(a.accepted_at))
             for a in export.acceptances], (_("Agreement"), _("How"), _("Date")))
    section(_("Messages we sent you"),
            [(_when(m.sent_at or m.queued_at), m.subject, m.channel, m.status_label) for m in export.messages],
            (_("Date"), _("Subject"), _("Channel"), _("Status")))
    section(_("Who opened your file"),
            [(_when(a.at), a.by_name or "—", a.by_role_label or "—", a.action_label) for a in export.access],
            (_("Date"), _("Who"), _("Role"), _("What")))
    return bytes(pdf.output())
