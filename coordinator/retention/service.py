"""Legal holds and erasure (docs/design.md rule 11): one erasure path for the retention run and for a party's request.

Erasing a referral destroys its data key in the key store, so every copy of its sealed values (backups included) can
never be opened again; it empties those values here too, ends its links and portal sessions, and keeps only what the
statistics and the audit need: ids, dates, statuses and codes. Each erased referral gets one audit entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Actor, Role, User
from coordinator.audit.service import record, record_many
from coordinator.db import atomic, db, execute_counted
from coordinator.envelope import Progress, clear_values, destroy_data_keys
from coordinator.errors import Conflict, Forbidden, GateFailed, InvalidRequest
from coordinator.gates import Unmet
from coordinator.keystore import ReferralKey
from coordinator.notifications.models import OutboxMessage, StaffNotice
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.portal.models import PortalSession, SecureLink
from coordinator.referrals.models import TERMINAL, Party, PartyRole, Referral
from coordinator.retention.models import ErasureBasis, LegalHold
from coordinator.retention.schedule import (
    Candidate,
    blockers_of,
    candidates,
    ended_links,
    ended_portal_sessions,
    old_notices,
    sent_bodies,
    with_hold_facts,
)
from coordinator.sessions.models import PartyUnavailability
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import close_tasks, raise_task

MAX_REASON = 1000


def require_coordinator(actor: Actor) -> None:
    """Holds, erasure and exports are the coordinators' (docs/api.md "The coordinator's queue, retention ...")."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators manage legal holds, erasure and a person's data."))


def _require_not_erased(referral: Referral) -> None:
    if referral.erased_at is not None:
        raise Conflict(_("This referral's personal data has been erased."), {"code": "referral_erased"})


def active_hold(referral: Referral) -> LegalHold | None:
    """The referral's legal hold in force, if any."""
    return db.session.execute(select(LegalHold).where(LegalHold.referral_id == referral.id,
                                                      LegalHold.lifted_at.is_(None))).scalar_one_or_none()


def holds_of(referral: Referral) -> list[LegalHold]:
    """Every hold the referral has had, newest first."""
    return list(db.session.execute(select(LegalHold).where(LegalHold.referral_id == referral.id)
                                   .order_by(LegalHold.set_at.desc())).scalars())


@atomic
def set_legal_hold(actor: User, referral: Referral, reason: str) -> LegalHold:
    """Hold the referral's erasure, with a reason; a new reason replaces the hold in force (coordinators)."""
    require_coordinator(actor)
    _require_not_erased(referral)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidRequest.field(_("Check the highlighted fields."), "reason",
                                   _("Say why the data must be kept, in up to %(count)d characters.", count=MAX_REASON))
    now = clock.now()
    replaced = active_hold(referral)
    if replaced is not None:
        replaced.lifted_at, replaced.lifted_by_id = now, actor.id
    hold = LegalHold(referral_id=referral.id, set_by_id=actor.id, set_at=now)
    hold.reason = reason
    db.session.add(hold)
    db.session.flush()
    record(actor, "legal_hold.set", hold, referral_id=referral.id, details={"replaced": replaced is not None})
    close_tasks(actor, [TaskKind.erasure_due], referral_ids=[referral.id])  # a hold answers the warning
    return hold


@atomic
def lift_legal_hold(actor: User, referral: Referral) -> LegalHold | None:
    """End the hold in force, if there is one; the erasure then follows the schedule again (coordinators)."""
    require_coordinator(actor)
    hold = active_hold(referral)
    if hold is None:
        return None
    hold.lifted_at, hold.lifted_by_id = clock.now(), actor.id
    db.session.flush()
    record(actor, "legal_hold.lift", hold, referral_id=referral.id)
    return hold


@dataclass(frozen=True)
class Retention:
    """Where one referral stands in the schedule: when it is due (once ended), what holds it, its hold in force."""

    ended: bool
    due_at: datetime | None
    basis: ErasureBasis | None
    blockers: list[Unmet]
    hold: LegalHold | None


def retention_of(referral: Referral) -> Retention:
    """The referral's place in the retention schedule, for its page and the API."""
    hold = active_hold(referral)
    facts = db.session.execute(with_hold_facts(Referral.id).where(Referral.id == referral.id)).one()
    if referral.status not in TERMINAL:
        return Retention(False, None, None, blockers_of(facts), hold)
    # Far enough ahead for any period: the candidate query gives the due date of an ended referral.
    found = next(iter(candidates(clock.now() + timedelta(days=3660), referral.id)), None)
    return Retention(True, found.due_at if found else None, found.basis if found else None, blockers_of(facts),
                     hold)


def erase(actor: Actor, referrals: list[Referral], basis: ErasureBasis) -> None:
    """The one erasure: destroy the referrals' data keys, empty their personal data, keep ids, dates and codes.

    The caller has checked the schedule or the request, and the holds. Every step can run again on a referral
    erased before (a run that crashed halfway is completed by the next one).
    """
    ids = [referral.id for referral in referrals]
    if not ids:
        return
    now = clock.now()
    clear_values(ids)
    parties = select(Party.id).where(Party.referral_id.in_(ids))
    db.session.execute(delete(PortalSession).where(PortalSession.party_id.in_(parties)))
    db.session.execute(delete(PartyUnavailability).where(PartyUnavailability.party_id.in_(parties)))
    db.session.execute(update(SecureLink).where(SecureLink.referral_id.in_(ids))
                       .values(pin_hash=None, pin_failures=0, last_used_at=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(SecureLink).where(SecureLink.referral_id.in_(ids), SecureLink.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.referral_id.in_(ids)).values(params={})
                       .execution_options(synchronize_session=False))
    destroy_data_keys(ids)
    close_tasks(actor, TaskKind, referral_ids=ids)  # nothing is left to act on
    for referral in referrals:
        referral.erased_at = now
    db.session.flush()
    record_many(actor, "referral.erase", [(referral, referral.id) for referral in referrals],
                details={"basis": basis})


@atomic
def erase_on_request(actor: Actor, referral: Referral, party: str) -> Referral:
    """Erase a referral's personal data because a party asked: the same path as retention, under the same holds."""
    require_coordinator(actor)
    _require_not_erased(referral)
    if party not in PartyRole.__members__:
        raise InvalidRequest.field(_("Check the highlighted fields."), "party", _("Choose who asked."))
    if referral.status not in TERMINAL:
        raise Conflict(_("Close the referral before erasing its data."), {"code": "referral_open"})
    if blockers := retention_of(referral).blockers:
        raise GateFailed(_("The data must be kept for now."), [condition.as_dict() for condition in blockers])
    erase(actor, [referral], ErasureBasis.request)
    record(actor, "erasure.request", referral, referral_id=referral.id, details={"party": party})
    return referral


def erase_due(batch_size: int | None = None) -> Iterator[Progress]:
    """Erase every referral due now and not held, in batches; yields after each batch is flushed.

    The caller commits at each yield, so a crash loses at most the batch in hand and the next run carries on.
    """
    due = [candidate for candidate in candidates(clock.now()) if not candidate.held]
    size = batch_size or int(current_app.config["RETENTION_BATCH_SIZE"])
    for start in range(0, len(due), size):
        batch = due[start:start + size]
        referrals = {referral.id: referral for referral in db.session.execute(
            select(Referral).where(Referral.id.in_([c.referral_id for c in batch]), Referral.erased_at.is_(None))
        ).scalars()}
        for basis in ErasureBasis:
            erase(SYSTEM, [referrals[c.referral_id] for c in batch if c.basis == basis and c.referral_id in referrals],
                  basis)
        yield Progress("referrals", min(start + size, len(due)), len(due))


def destroy_keys_left_behind() -> int:
    """Destroy any key whose referral is marked erased (SQLite commits its two files one by one: a host crash
    between them could leave a key behind); returns how many."""
    left = list(db.session.execute(
        select(ReferralKey.referral_id).join(Referral, Referral.id == ReferralKey.referral_id)
        .where(Referral.erased_at.is_not(None), ReferralKey.destroyed_at.is_(None))).scalars())
    if left:
        destroy_data_keys(left)
    return len(left)


def sweep_records() -> dict[str, int]:
    """Apply the schedule to what is not a referral: links, portal sessions, outbox bodies, notices."""
    return {
        "secure links": execute_counted(update(SecureLink).where(ended_links())
                                        .values(pin_hash=None, pin_failures=0, last_used_at=None)
                                        .execution_options(synchronize_session=False)),
        "portal sessions": execute_counted(delete(PortalSession).where(ended_portal_sessions())
                                           .execution_options(synchronize_session=False)),
        "outbox bodies": execute_counted(update(OutboxMessage).where(sent_bodies()).values(params={}, link_enc=None)
                                         .execution_options(synchronize_session=False)),
        "notices": execute_counted(delete(StaffNotice).where(old_notices())
                                   .execution_options(synchronize_session=False)),
    }


def upcoming_erasures() -> list[Candidate]:
    """What the schedule will erase within the warning period (30 days), held or not, soonest first."""
    return candidates(clock.now() + timedelta(days=int(current_app.config["RETENTION_WARNING_DAYS"])))


def notify_upcoming_erasures() -> int:
    """Tell the coordinators, once per referral and due date, of each erasure ahead that nothing holds back, so a
    hold can be set in time (notice `erasure_due`; the coordinators' queue routes it as task kind `erasure_due`).

    What is already due goes in this very run: a notice could no longer change anything.
    """
    staff = None
    told = 0
    now = clock.now()
    for candidate in upcoming_erasures():
        if candidate.held or candidate.due_at <= now:
            continue
        referral = db.session.get(Referral, candidate.referral_id)
        staff = coordinators() if staff is None else staff
        notify_staff(staff, "erasure_due", key=f"erasure_due:{candidate.referral_id}:{candidate.due_at.date()}",
                     referral=referral, params={"due": candidate.due_at.date().isoformat()})
        raise_task(TaskKind.erasure_due, source=f"erasure:{candidate.referral_id}:{candidate.due_at.date()}",
                   referral_id=candidate.referral_id, due_at=candidate.due_at - timedelta(days=1))
        told += 1
    return told
