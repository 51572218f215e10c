"""Agreements (docs/design.md section 2): drafted after a circle, accepted by both parties, then monitored to the end.

The agreement's status moves only through `_move`, which also moves the referral: both acceptances make the
agreement active and the referral `monitoring`; every item completed or waived completes both; a coordinator
may close an agreement as not completed, which closes the referral with `agreement_not_completed`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import users_by_id
from coordinator.agreements.models import (
    DONE,
    Acceptance,
    AcceptanceMethod,
    Agreement,
    AgreementItem,
    AgreementStatus,
    ItemKind,
    ItemProgress,
    ItemStatus,
)
from coordinator.agreements.queries import (
    acceptances_of,
    agreement_of,
    circle_was_held,
    items_of,
)
from coordinator.audit.service import record
from coordinator.db import atomic, db, get_row
from coordinator.errors import Conflict, Forbidden, InvalidRequest, NotFound
from coordinator.notifications.service import notify_staff
from coordinator.referrals.models import CloseReason, Party, PartyRole, Referral, ReferralStatus, StatusChange
from coordinator.referrals.service import load_referral
from coordinator.referrals.workflow import on_entering, transition
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import close_tasks, raise_task

A = AgreementStatus
DRAFTERS = (Role.coordinator, Role.facilitator)
MAX_ITEMS = 20
MAX_DESCRIPTION = 2000
MAX_NOTE = 4000
MAX_AMOUNT_CENTS = 100_000_000_00
CURRENCY = re.compile(r"^[A-Z]{3}$")

# The agreement's state machine, and the referral status each move brings (docs/design.md section 2).
MOVES: dict[tuple[str, str], tuple[str, str | None]] = {
    (A.draft, A.active): (ReferralStatus.monitoring, None),
    (A.active, A.completed): (ReferralStatus.completed, None),
    (A.draft, A.not_completed): (ReferralStatus.closed, CloseReason.agreement_not_completed),
    (A.active, A.not_completed): (ReferralStatus.closed, CloseReason.agreement_not_completed),
}
# What progress may record for an item in each status; a missed item can still be completed or waived.
ITEM_MOVES: dict[str, tuple[str, ...]] = {
    ItemStatus.open: (ItemStatus.completed, ItemStatus.missed, ItemStatus.waived),
    ItemStatus.missed: (ItemStatus.completed, ItemStatus.waived),
}


@dataclass(frozen=True)
class ItemDraft:
    """One item as a page or the API gives it, before validation."""

    kind: str | None
    description: str | None
    due_on: date | None = None
    amount_cents: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class CheckedItem:
    """An item that passed `_check_items`: a known kind and a description, ready to be written."""

    kind: str
    description: str
    due_on: date | None
    amount_cents: int | None
    currency: str | None



def require_drafter(actor: Actor) -> None:
    """Coordinators and facilitators draft agreements and record their progress."""
    if not actor.has_role(*DRAFTERS):
        raise Forbidden(_("Your role cannot record agreements."))















def load_followed_referral(actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """A referral whose agreement the actor follows (coordinators, its facilitators); NotFound for anyone else.

    Prosecutors see the referral's coarse stage, never its agreement (docs/design.md rule 5).
    """
    referral = load_referral(actor, referral_id)
    if not actor.has_role(*DRAFTERS):
        raise NotFound(_("Not found."))
    return referral


def load_agreement(actor: Actor, agreement_id: uuid.UUID | str) -> Agreement:
    """An agreement the actor follows; NotFound otherwise."""
    agreement = get_row(Agreement, agreement_id)
    load_followed_referral(actor, agreement.referral_id)
    return agreement


def load_item(actor: Actor, item_id: uuid.UUID | str) -> AgreementItem:
    """An item of an agreement in the actor's scope; NotFound otherwise."""
    item = get_row(AgreementItem, item_id)
    load_agreement(actor, item.agreement_id)
    return item



def _check_items(drafts: list[ItemDraft], today: date) -> list[CheckedItem]:
    """Every item valid, or one InvalidRequest naming each bad field as `items.N.field`."""
    fields: dict[str, list[str]] = {}
    if not drafts:
        fields["items"] = [_("Add at least one item.")]
    if len(drafts) > MAX_ITEMS:
        fields["items"] = [_("An agreement has at most %(count)d items.", count=MAX_ITEMS)]
    clean: list[CheckedItem] = []

    def bad(index: int, name: str, message: str) -> None:
        fields.setdefault(f"items.{index}.{name}", []).append(message)

    for index, draft in enumerate(drafts):
        kind = draft.kind if draft.kind in ItemKind.__members__ else None
        description = (draft.description or "").strip()
        currency = (draft.currency or "").strip().upper() or None
        if kind is None:
            bad(index, "kind", _("Choose what this item is."))
        if not description:
            bad(index, "description", _("Describe what was agreed."))
        elif len(description) > MAX_DESCRIPTION:
            bad(index, "description", _("Keep it under %(count)d characters.", count=MAX_DESCRIPTION))
        if draft.due_on is not None and draft.due_on < today:
            bad(index, "due_on", _("Choose a date from today on."))
        if draft.kind == ItemKind.restitution:
            if draft.amount_cents is None or not 0 < draft.amount_cents <= MAX_AMOUNT_CENTS:
                bad(index, "amount_cents", _("Enter the amount to be paid."))
            if currency is None or not CURRENCY.match(currency):
                bad(index, "currency", _("Enter a three-letter currency code, such as EUR."))
            if draft.due_on is None:
                bad(index, "due_on", _("Choose when the last payment is due."))
        elif draft.amount_cents is not None or currency is not None:
            bad(index, "amount_cents", _("Only restitution has an amount."))
        if kind is not None:  # with any field wrong, nothing is written: the errors are raised below
            clean.append(CheckedItem(kind, description, draft.due_on, draft.amount_cents, currency))
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    return clean


@atomic
def draft_agreement(actor: User, referral: Referral, drafts: list[ItemDraft]) -> tuple[Agreement, bool]:
    """Write the agreement's items once a circle was held; rewriting a draft raises its version.

    Returns the agreement and whether it is new. Acceptances belong to a version, so a rewritten draft must be
    accepted again by both parties.
    """
    require_drafter(actor)
    if referral.status != ReferralStatus.circle_held or not circle_was_held(referral):
        raise Conflict(_("An agreement is drafted after a circle was held."), {"code": "circle_not_held"})
    agreement = agreement_of(referral)
    if agreement is not None and agreement.status in (A.active, A.completed):
        raise Conflict(_("This agreement is no longer a draft."), {"code": "agreement_not_draft"})
    if agreement is not None and agreement.status == A.not_completed:
        agreement = None  # it ended with an earlier round; a reopened referral held a new circle
    items = _check_items(drafts, clock.today())
    now = clock.now()
    created = agreement is None
    if agreement is None:
        agreement = Agreement(referral_id=referral.id, drafted_by_id=actor.id, created_at=now, updated_at=now)
        db.session.add(agreement)
    else:
        for old in items_of(agreement):
            db.session.delete(old)
        agreement.version += 1
        agreement.drafted_by_id, agreement.updated_at = actor.id, now
    db.session.flush()
    for position, draft in enumerate(items):
        item = AgreementItem(agreement_id=agreement.id, position=position, kind=draft.kind, due_on=draft.due_on,
                             amount_cents=draft.amount_cents, currency=draft.currency)
        item.description = draft.description
        db.session.add(item)
    db.session.flush()
    record(actor, "agreement.draft", agreement, referral_id=referral.id,
           details={"version": agreement.version, "items": len(items)})
    return agreement, created


@atomic
def accept(actor: Actor, agreement: Agreement, party_role: str, method: str,
           version: int | None = None) -> Acceptance:
    """Record one party's acceptance of the current version; the second acceptance makes it active.

    Staff record acceptances given in person or through an advocate; a party accepts for themself through
    the portal (`secure_link`). `version` is the version the party was shown: a draft rewritten since then is
    not accepted unseen.
    """
    fields: dict[str, list[str]] = {}
    if party_role not in PartyRole.__members__:
        fields["party"] = [_("Choose the survivor or the responsible party.")]
    if method not in AcceptanceMethod.__members__:
        fields["method"] = [_("Choose how the party accepted.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    if isinstance(actor, Party):
        if actor.role != party_role or method != AcceptanceMethod.secure_link:
            raise Forbidden(_("A party accepts only for themself."))
    else:
        require_drafter(actor)
        if method == AcceptanceMethod.secure_link:
            raise InvalidRequest.field(_("Check the highlighted fields."), "method",
                                       _("Only the party can accept through their link."))
    if agreement.status != A.draft:
        raise Conflict(_("This agreement is no longer waiting for acceptance."), {"code": "agreement_not_draft"})
    # A party accepts only the version their page showed them; staff and API clients say so when they can.
    if (version is not None or isinstance(actor, Party)) and version != agreement.version:
        raise Conflict(_("The agreement was changed since it was shown. Please read it again before accepting."),
                       {"code": "agreement_changed", "version": agreement.version})
    referral = get_row(Referral, agreement.referral_id)
    _require_referral_in(referral, ReferralStatus.circle_held)
    accepted = acceptances_of(agreement)
    if party_role in accepted:
        return accepted[party_role]
    acceptance = Acceptance(agreement_id=agreement.id, version=agreement.version, party_role=party_role,
                            method=method, recorded_by_id=None if isinstance(actor, Party) else actor.id,
                            accepted_at=clock.now())
    db.session.add(acceptance)
    db.session.flush()
    record(actor, "agreement.accept", acceptance, referral_id=referral.id,
           details={"party": party_role, "method": method, "version": agreement.version})
    if set(acceptances_of(agreement)) == set(PartyRole):
        _move(actor, agreement, referral, A.active)
    return acceptance


@atomic
def record_progress(actor: User, item: AgreementItem, status: str | None, note: str | None,
                    paid_cents: int | None = None) -> ItemProgress:
    """Record a status change, an instalment paid, or both; the last item done completes the agreement.

    Restitution is paid in instalments: reaching the amount due completes it, and it cannot be marked
    completed before then (what is left can be waived instead).
    """
    require_drafter(actor)
    agreement = get_row(Agreement, item.agreement_id)
    if agreement.status != A.active:
        raise Conflict(_("Progress is recorded on an active agreement."), {"code": "agreement_not_active"})
    referral = get_row(Referral, agreement.referral_id)
    _require_referral_in(referral, ReferralStatus.monitoring)
    note = (note or "").strip() or None
    fields: dict[str, list[str]] = {}
    if status is None and paid_cents is None and note is None:
        fields["status"] = [_("Choose what happened, or write a note.")]
    if status is not None and status not in ITEM_MOVES.get(item.status, ()):
        fields["status"] = [_("This item cannot move to that status.")] if status in ItemStatus.__members__ \
            else [_("Choose what happened.")]
    if paid_cents is not None:
        if item.kind != ItemKind.restitution or item.amount_cents is None:  # restitution always has an amount
            fields["amount_cents"] = [_("Only restitution has payments.")]
        elif item.status in DONE:
            fields["amount_cents"] = [_("This item is already settled.")]
        elif not 0 < paid_cents <= item.amount_cents - item.paid_cents:
            fields["amount_cents"] = [_("Enter an amount up to what is still due.")]
    if note is not None and len(note) > MAX_NOTE:
        fields["note"] = [_("Keep it under %(count)d characters.", count=MAX_NOTE)]
    if not fields and status == ItemStatus.completed and item.kind == ItemKind.restitution \
            and item.amount_cents is not None and item.paid_cents + (paid_cents or 0) < item.amount_cents:
        fields["status"] = [_("Restitution is completed when the full amount is paid; waive what is left instead.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)

    if paid_cents is not None:
        item.paid_cents += paid_cents
        if item.amount_cents is not None and item.paid_cents >= item.amount_cents:
            status = ItemStatus.completed
    if status is not None:
        item.status = status
    entry = ItemProgress(item_id=item.id, status=item.status, paid_cents=paid_cents, recorded_by_id=actor.id,
                         recorded_at=clock.now())
    entry.note = note
    db.session.add(entry)
    db.session.flush()
    record(actor, "agreement.progress", entry, referral_id=referral.id,
           details={"item_id": str(item.id), "status": item.status, "paid_cents": paid_cents})
    close_tasks(actor, [TaskKind.item_overdue], subject_id=item.id)  # progress recorded is the overdue item acted on
    if all(other.status in DONE for other in items_of(agreement)):
        _move(actor, agreement, referral, A.completed)
    return entry


def _require_referral_in(referral: Referral, status: ReferralStatus) -> None:
    """The agreement moves only while its referral is where the agreement expects it; a pause stops it too."""
    if referral.status == status:
        return
    if referral.status == ReferralStatus.paused:
        raise Conflict(_("The referral is paused. The agreement waits until it resumes."),
                       {"code": "referral_paused"})
    raise Conflict(_("The referral is no longer at this step."), {"code": "referral_state"})


@atomic
def close_not_completed(actor: Actor, agreement: Agreement, note: str | None = None) -> Agreement:
    """A coordinator ends an agreement that will not be completed; the referral closes with that reason."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators close an agreement as not completed."))
    if agreement.status not in (A.draft, A.active):
        raise Conflict(_("This agreement has already ended."), {"code": "agreement_ended"})
    _move(actor, agreement, get_row(Referral, agreement.referral_id), A.not_completed, note=note)
    return agreement


@on_entering(ReferralStatus.closed)
def end_with_referral(status: ReferralStatus, *, referral: Referral, actor: Actor, change: StatusChange) -> None:
    """A referral closing for another reason (a withdrawal, safety) ends its unfinished agreement with it; an
    agreement closed as not completed has already moved, and closed the referral itself."""
    if change.reason == CloseReason.agreement_not_completed:
        return
    agreement = agreement_of(referral)
    if agreement is not None and agreement.status in (A.draft, A.active):
        _move(actor, agreement, referral, A.not_completed, move_referral=False)


def _move(actor: Actor, agreement: Agreement, referral: Referral, to: AgreementStatus, note: str | None = None,
          move_referral: bool = True) -> None:
    """The one transition function of the agreement, moving the referral with it."""
    referral_status, reason = MOVES[(agreement.status, to)]
    source = agreement.status
    now = clock.now()
    agreement.status, agreement.updated_at = to, now
    if to == A.active:
        agreement.activated_at = now
    if to in (A.completed, A.not_completed):
        agreement.ended_at = now
    db.session.flush()
    record(actor, "agreement.transition", agreement, referral_id=referral.id,
           details={"from": source, "to": to.value})
    if move_referral:
        transition(actor, referral, referral_status, reason=reason, note=note, automatic=True)


def notify_overdue_items(today: date | None = None) -> int:
    """Tell the facilitators once about each item that became overdue (per due date); returns how many."""
    today = today or clock.today()
    rows = db.session.execute(
        select(AgreementItem, Agreement)
        .join(Agreement, Agreement.id == AgreementItem.agreement_id)
        .where(Agreement.status == A.active, AgreementItem.status.in_((ItemStatus.open, ItemStatus.missed)),
               AgreementItem.due_on < today)
    ).all()
    fresh = [(item, agreement) for item, agreement in rows if item.overdue_notified_on != item.due_on]
    referrals = {r.id: r for r in db.session.execute(
        select(Referral).where(Referral.id.in_({agreement.referral_id for _item, agreement in fresh}))).scalars()}
    staff = users_by_id({user_id for r in referrals.values() for user_id in r.facilitator_ids})
    for item, agreement in fresh:
        referral = referrals[agreement.referral_id]
        notify_staff([staff[str(user_id)] for user_id in referral.facilitator_ids if str(user_id) in staff],
                     "agreement_item_overdue", key=f"agreement_item_overdue:{item.id}:{item.due_on}",
                     referral=referral)
        raise_task(TaskKind.item_overdue, source=f"item:{item.id}:{item.due_on}", referral_id=referral.id,
                   subject_id=item.id, params={"kind": item.kind})
        item.overdue_notified_on = item.due_on
    db.session.flush()
    return len(fresh)
