"""Reading agreements: the current one, its items, progress and acceptances, and the summaries the court may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from coordinator import clock
from coordinator.agreements.models import (
    DONE,
    Acceptance,
    Agreement,
    AgreementItem,
    AgreementStatus,
    ItemProgress,
    ItemStatus,
)
from coordinator.consent.gates import outcome_shareable
from coordinator.db import db
from coordinator.referrals.models import CloseReason, Party, Referral, ReferralStatus
from coordinator.sessions.models import ScheduledSession, SessionKind, SessionStatus

A = AgreementStatus


@dataclass(frozen=True)
class Summary:
    """The compliance summary: counts only, the most the court may ever learn (docs/design.md rule 5)."""

    status: str
    items_total: int
    items_completed: int
    items_overdue: int


def agreement_of(referral: Referral) -> Agreement | None:
    """The referral's current agreement (its newest), if one was drafted."""
    return db.session.execute(
        select(Agreement).where(Agreement.referral_id == referral.id)
        .order_by(Agreement.created_at.desc(), Agreement.id).limit(1)
    ).scalar_one_or_none()


def items_of(agreement: Agreement) -> list[AgreementItem]:
    """The agreement's items in their order."""
    return list(db.session.execute(
        select(AgreementItem).where(AgreementItem.agreement_id == agreement.id).order_by(AgreementItem.position)
    ).scalars())


def acceptances_of(agreement: Agreement) -> dict[str, Acceptance]:
    """Each party's acceptance of the current version, by party role."""
    rows = db.session.execute(
        select(Acceptance).where(Acceptance.agreement_id == agreement.id, Acceptance.version == agreement.version)
    ).scalars()
    return {row.party_role: row for row in rows}


def progress_of(items: list[AgreementItem]) -> dict[uuid.UUID, list[ItemProgress]]:
    """Every item's progress entries, oldest first."""
    entries: dict[uuid.UUID, list[ItemProgress]] = {item.id: [] for item in items}
    if items:
        for entry in db.session.execute(
            select(ItemProgress).where(ItemProgress.item_id.in_(list(entries)))
            .order_by(ItemProgress.recorded_at, ItemProgress.id)
        ).scalars():
            entries[entry.item_id].append(entry)
    return entries


def is_overdue(agreement: Agreement, item: AgreementItem, today: date) -> bool:
    """Computed, never stored: an item of an agreement in force, past its due date, neither completed nor waived."""
    return (agreement.status == A.active and item.due_on is not None and item.due_on < today
            and item.status not in DONE)


def summarize(agreement: Agreement, items: list[AgreementItem], today: date | None = None) -> Summary:
    """Counts of the agreement's items; waived items count toward the total but not as completed."""
    today = today or clock.today()
    return Summary(status=agreement.status, items_total=len(items),
                   items_completed=sum(item.status == ItemStatus.completed for item in items),
                   items_overdue=sum(is_overdue(agreement, item, today) for item in items))



def disclosable(referral: Referral) -> bool:
    """Whether the referral's state lets its agreement be summarised for the court at all.

    An agreement ended because the referral closed for another reason (a withdrawal, safety) is not a broken
    agreement, and closing is never shown as an adverse mark (docs/design.md rule 5): then there is nothing to show.
    """
    if referral.status == ReferralStatus.closed:
        return referral.status_reason == CloseReason.agreement_not_completed
    return True


@dataclass(frozen=True)
class Panel:
    """Everything the referral page shows of the agreement."""

    agreement: Agreement
    items: list[AgreementItem]
    progress: dict[uuid.UUID, list[ItemProgress]]
    acceptances: dict[str, Acceptance]
    summary: Summary
    overdue: frozenset[uuid.UUID]


def agreement_panel(referral: Referral) -> Panel | None:
    """The referral's agreement with its items, progress and acceptances, or None before one is drafted."""
    agreement = agreement_of(referral)
    if agreement is None:
        return None
    items = items_of(agreement)
    today = clock.today()
    return Panel(agreement, items, progress_of(items), acceptances_of(agreement), summarize(agreement, items, today),
                 frozenset(item.id for item in items if is_overdue(agreement, item, today)))


@dataclass(frozen=True)
class PartyView:
    """What a party sees of their agreement: its items and whether they accepted this version."""

    agreement: Agreement
    items: list[AgreementItem]
    accepted: Acceptance | None


def party_agreement(party: Party) -> PartyView | None:
    """The party's agreement while it is a draft or active; None otherwise."""
    agreement = agreement_of(party.referral)
    if agreement is None or agreement.status not in (A.draft, A.active):
        return None
    return PartyView(agreement, items_of(agreement), acceptances_of(agreement).get(party.role))


def shared_summaries(referrals: list[Referral], overviews: dict, today: date | None = None) -> dict:
    """The summaries the prosecution may see, keyed by referral id, read in two queries.

    A referral is left out unless both parties agreed to share the outcome, its state allows it (`disclosable`)
    and it has an agreement.
    """
    shared = [r.id for r in referrals if outcome_shareable(overviews[r.id]) and disclosable(r)]
    if not shared:
        return {}
    current: dict[uuid.UUID, Agreement] = {}  # each referral's newest agreement
    for agreement in db.session.execute(
        select(Agreement).where(Agreement.referral_id.in_(shared)).order_by(Agreement.created_at)
    ).scalars():
        current[agreement.referral_id] = agreement
    agreements = {a.id: a for a in current.values()}
    items: dict[uuid.UUID, list[AgreementItem]] = {agreement_id: [] for agreement_id in agreements}
    if agreements:
        for item in db.session.execute(
            select(AgreementItem).where(AgreementItem.agreement_id.in_(list(agreements)))
        ).scalars():
            items[item.agreement_id].append(item)
    today = today or clock.today()
    return {a.referral_id: summarize(a, items[a.id], today) for a in agreements.values()}


def circle_was_held(referral: Referral) -> bool:
    """True once a circle of the referral was recorded as held."""
    return db.session.execute(
        select(ScheduledSession.id).where(ScheduledSession.referral_id == referral.id,
                                          ScheduledSession.kind == SessionKind.circle,
                                          ScheduledSession.status == SessionStatus.held).limit(1)
    ).first() is not None
