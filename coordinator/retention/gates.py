"""May a referral's personal data be erased now? One pure function, used by the retention run, erasure on request,
the coordinators' page and the referral page alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _

from coordinator.gates import Unmet
from coordinator.referrals.models import CaseStage
from coordinator.retention.models import HoldReason


@dataclass(frozen=True)
class HoldFacts:
    """What decides whether an erasure must wait."""

    legal_hold: bool
    case_stage: str
    next_hearing: date | None  # the case's first hearing on or after today


def erasure_blockers(facts: HoldFacts) -> list[Unmet]:
    """Every reason the erasure must wait (docs/design.md rule 11): a legal hold, or a criminal case still pending.

    A pending case may still need the file: it is pending until its stage is `closed` and while a hearing is ahead.
    """
    unmet = []
    if facts.legal_hold:
        unmet.append(Unmet(HoldReason.legal_hold, _("A coordinator has set a legal hold.")))
    if facts.case_stage != CaseStage.closed:
        unmet.append(Unmet(HoldReason.case_open, _("The criminal case has not closed.")))
    if facts.next_hearing is not None:
        unmet.append(Unmet(HoldReason.hearing_ahead, _("The criminal case has a hearing on %(date)s.",
                                                       date=format_date(facts.next_hearing, "long"))))
    return unmet
