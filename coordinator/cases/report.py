"""The court report: the compliance summary of an agreement, only with both parties' consent.

docs/design.md rule 5 (the confidentiality wall): the court may learn that an agreement was reached and how far it was
kept, and only when both parties granted `share_outcome_with_court`; never what was said, who said it, or why.
So a report holds counts, statuses and dates, nothing else. UN Basic Principles on RJ (ECOSOC 2002/12) para 14:
what happens in a restorative process is confidential and is disclosed only with the parties' agreement. Every
view is audited as a disclosure (rule 7).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Actor
from coordinator.agreements.queries import (
    agreement_of,
    disclosable,
    items_of,
    shared_summaries,
    summarize,
)
from coordinator.audit.service import record
from coordinator.cases.models import CourtReport, Hearing, HearingKind
from coordinator.cases.service import programme_date
from coordinator.consent.gates import outcome_shareable
from coordinator.consent.queries import consent_overview, consent_overviews
from coordinator.db import db
from coordinator.errors import NotFound
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.prosecution.service import circle_summary
from coordinator.referrals.models import Referral
from coordinator.referrals.service import load_referral
from coordinator.sessions.models import ScheduledSession, SessionKind

# How long before a sentencing hearing its report is prepared.
NOTICE = timedelta(days=14)
FORMATS = ("html", "pdf")


@dataclass(frozen=True)
class PreparedReport:
    """A snapshot prepared for one sentencing hearing."""

    hearing_on: date
    prepared_at: datetime
    agreement_status: str
    items_total: int
    items_completed: int
    items_overdue: int


@dataclass(frozen=True)
class CourtReportData:
    """Everything a court report shows, and nothing more (docs/design.md rule 5)."""

    docket_number: str
    court: str
    reference: str
    circle_status: str
    circle_date: str | None
    agreement_status: str
    items_total: int
    items_completed: int
    items_overdue: int
    activated_on: date | None
    ended_on: date | None
    generated_at: datetime
    prepared: list[PreparedReport]


def reports_of(referral: Referral) -> list[CourtReport]:
    """The reports prepared for the referral's sentencing hearings, newest first."""
    return list(db.session.execute(
        select(CourtReport).where(CourtReport.referral_id == referral.id).order_by(CourtReport.prepared_at.desc())
    ).scalars())


def court_report(actor: Actor, referral_id: uuid.UUID | str, output: str = "html") -> CourtReportData:
    """The court report of a referral in the actor's scope, audited as a disclosure in the `output` format.

    Coordinators, the referral's facilitators and the case's prosecutor (the scope of `load_referral`); NotFound,
    exactly like a missing referral, unless both parties agreed to share the outcome and an agreement exists.
    """
    referral = load_referral(actor, referral_id)
    shareable = outcome_shareable(consent_overview(referral)) and disclosable(referral)
    agreement = agreement_of(referral) if shareable else None
    if agreement is None:
        raise NotFound(_("Not found."))
    summary = summarize(agreement, items_of(agreement))
    circles = list(db.session.execute(
        select(ScheduledSession).where(ScheduledSession.referral_id == referral.id,
                                       ScheduledSession.kind == SessionKind.circle)
    ).scalars())
    circle = circle_summary(circles)
    prepared = [
        PreparedReport(on_date, report.prepared_at, report.agreement_status, report.items_total,
                       report.items_completed, report.items_overdue)
        for report, on_date in db.session.execute(
            select(CourtReport, Hearing.on_date).join(Hearing, Hearing.id == CourtReport.hearing_id)
            .where(CourtReport.referral_id == referral.id)
            .order_by(Hearing.on_date.desc(), CourtReport.prepared_at.desc())
        ).all()
    ]
    record(actor, "court_report.view", referral, referral_id=referral.id,
           details={"format": output if output in FORMATS else "html"})
    return CourtReportData(
        docket_number=referral.case.docket_number,
        court=referral.case.court,
        reference=referral.reference,
        circle_status=circle["status"],
        circle_date=circle["date"],
        agreement_status=summary.status,
        items_total=summary.items_total,
        items_completed=summary.items_completed,
        items_overdue=summary.items_overdue,
        activated_on=programme_date(agreement.activated_at) if agreement.activated_at else None,
        ended_on=programme_date(agreement.ended_at) if agreement.ended_at else None,
        generated_at=clock.now(),
        prepared=prepared,
    )


def prepare_court_reports(today: date | None = None) -> int:
    """Prepare the reports due for sentencing hearings fourteen days away; returns how many were prepared.

    Every sentencing hearing from today to fourteen days ahead is covered, so a missed run catches up; past
    hearings are not. A referral gets a report only while both parties share the outcome and an agreement exists,
    and at most one per hearing. The queries are a fixed number per run, whatever the number of items.
    """
    today = today or clock.today()
    hearings = list(db.session.execute(
        select(Hearing).where(Hearing.kind == HearingKind.sentencing, Hearing.on_date >= today,
                              Hearing.on_date <= today + NOTICE)
        .order_by(Hearing.on_date, Hearing.id)
    ).scalars())
    if not hearings:
        return 0
    referrals = list(db.session.execute(
        select(Referral).where(Referral.case_id.in_({hearing.case_id for hearing in hearings}))
        .options(selectinload(Referral.parties)).order_by(Referral.reference)
    ).scalars())
    if not referrals:
        return 0
    done = {(referral_id, hearing_id) for referral_id, hearing_id in db.session.execute(
        select(CourtReport.referral_id, CourtReport.hearing_id)
        .where(CourtReport.referral_id.in_([referral.id for referral in referrals]))
    )}
    summaries = shared_summaries(referrals, consent_overviews(referrals), today)
    staff = None
    prepared = 0
    for hearing in hearings:
        for referral in referrals:
            summary = summaries.get(referral.id)
            if referral.case_id != hearing.case_id or summary is None or (referral.id, hearing.id) in done:
                continue
            report = CourtReport(referral_id=referral.id, hearing_id=hearing.id, agreement_status=summary.status,
                                 items_total=summary.items_total, items_completed=summary.items_completed,
                                 items_overdue=summary.items_overdue, prepared_at=clock.now())
            db.session.add(report)
            db.session.flush()
            record(SYSTEM, "court_report.prepare", report, referral_id=referral.id,
                   details={"hearing_id": str(hearing.id)})
            staff = coordinators() if staff is None else staff
            notify_staff(staff, "court_report_prepared", key=f"court_report_prepared:{referral.id}:{hearing.id}",
                         referral=referral)
            prepared += 1
    return prepared
