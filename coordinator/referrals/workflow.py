"""The referral status machine (docs/design.md section 2): the allowed moves, the one function that makes them, what
entering a status brings about, and the stage the prosecution sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from blinker import Namespace
from flask_babel import gettext as _

from coordinator import clock
from coordinator.accounts.models import Actor, Role
from coordinator.audit.service import record
from coordinator.consent.queries import consent_overview
from coordinator.db import atomic, db
from coordinator.errors import Conflict, Forbidden, GateFailed, InvalidRequest
from coordinator.referrals.gates import transition_blockers
from coordinator.referrals.models import (
    ACTIVE,
    PROSECUTION_STAGE,
    CloseReason,
    PauseReason,
    Referral,
    ReferralLine,
    ReferralStatus,
    StatusChange,
)

S = ReferralStatus
STAFF = frozenset({Role.coordinator, Role.facilitator})
COORDINATORS = frozenset({Role.coordinator})
# Made by the service that owns the step (booking, holding a circle, agreements).
AUTOMATIC: frozenset[Role] = frozenset()

# What entering a status brings about, beyond the status itself (docs/design.md rules 1 and 9, docs/state-machines.md).
# `transition` announces every change on `entered`, with the new status as the sender; the domain that owns each
# consequence subscribes with `on_entering`, so the workflow imports none of them and no door can skip one:
#   paused -> sessions: every upcoming session is cancelled through the one cancel function
#   closed -> sessions: every upcoming session is cancelled through the one cancel function
#             agreements: an unfinished agreement ends, unless the agreement itself closed the referral
# tests/referrals/test_consequences.py holds this table against the subscribers actually connected.
_signals = Namespace()
entered = _signals.signal("referral-entered", doc="A referral entered a status; sender: the status; kwargs: "
                                                   "referral, actor, change (the StatusChange).")


@dataclass(frozen=True)
class Move:
    """One allowed move: who may make it by hand, and which reason codes it takes."""

    source: ReferralStatus
    target: ReferralStatus
    roles: frozenset[Role]
    reasons: tuple[str, ...] = ()
    automatic_reasons: tuple[str, ...] = ()  # only the service that owns the step gives these


HAND_CLOSE_REASONS = tuple(reason for reason in CloseReason if reason != CloseReason.agreement_not_completed)
MOVES: dict[tuple[str, str], Move] = {
    (move.source, move.target): move
    for move in [
        Move(S.received, S.screening, STAFF),
        Move(S.screening, S.preparation, STAFF),
        Move(S.preparation, S.ready, STAFF),
        Move(S.ready, S.preparation, STAFF),
        Move(S.ready, S.circle_scheduled, AUTOMATIC),
        Move(S.circle_scheduled, S.ready, AUTOMATIC),
        Move(S.circle_scheduled, S.circle_held, AUTOMATIC),
        Move(S.circle_held, S.monitoring, AUTOMATIC),
        Move(S.monitoring, S.completed, AUTOMATIC),
        *(Move(source, S.paused, STAFF, tuple(PauseReason)) for source in ACTIVE),
        # An agreement is closed as not completed from the agreement itself, which then closes the referral.
        *(Move(source, S.closed, COORDINATORS, HAND_CLOSE_REASONS, (CloseReason.agreement_not_completed,))
          for source in (*ACTIVE, S.paused)),
    ]
}
# A referral closed because consent was withdrawn can start again once consent is given afresh.
REOPEN = Move(S.closed, S.screening, COORDINATORS)
# A paused referral resumes where it stood, except that a booked or bookable circle must be re-prepared:
# pausing cancels upcoming joint sessions.
RESUME_TO = {S.ready: S.preparation, S.circle_scheduled: S.preparation}


def on_entering(*statuses: ReferralStatus) -> Callable:
    """Subscribe a consequence to entering any of `statuses`: `fn(status, *, referral, actor, change)`."""

    def subscribe(consequence: Callable) -> Callable:
        for status in statuses:
            entered.connect(consequence, sender=status, weak=False)
        return consequence

    return subscribe


def resume_target(referral: Referral | ReferralLine) -> ReferralStatus | None:
    """Where a paused referral goes back to."""
    if referral.status != S.paused or referral.paused_from is None:
        return None
    source = S(referral.paused_from)
    return RESUME_TO.get(source, source)


def allowed_move(referral: Referral, target: ReferralStatus) -> Move | None:
    """The move from the referral's status to `target`, if the machine has one."""
    if referral.status == S.paused and target != S.closed:
        return Move(S.paused, target, COORDINATORS) if target == resume_target(referral) else None
    withdrawn = referral.status == S.closed and referral.status_reason == CloseReason.consent_withdrawn
    if withdrawn and target == S.screening:
        return REOPEN
    return MOVES.get((referral.status, target))


def next_moves(referral: Referral, actor: Actor) -> list[Move]:
    """The moves this actor may offer by hand on the referral page."""
    candidates = [move for (source, _target), move in MOVES.items() if source == referral.status]
    if referral.status == S.paused and (target := resume_target(referral)):
        candidates.insert(0, Move(S.paused, target, COORDINATORS))
    if allowed_move(referral, S.screening) is REOPEN:
        candidates.insert(0, REOPEN)
    return [move for move in candidates if actor.has_role(*move.roles)]


@atomic
def transition(actor: Actor, referral: Referral, to: str, *, reason: str | None = None, note: str | None = None,
               automatic: bool = False) -> StatusChange:
    """Move a referral to `to`; pages, the API and jobs all come through here.

    `automatic` is for the services that own a step (booking a circle, recording an agreement); they have
    already checked who may act.
    """
    try:
        target = S(to)
    except ValueError:
        raise InvalidRequest.field(_("Check the highlighted fields."), "to", _("Choose a status.")) from None
    move = allowed_move(referral, target)
    if move is None:
        raise Conflict(_("A referral cannot move from this status to that one."),
                       {"code": "transition_not_allowed", "from": referral.status, "to": target})
    if not automatic:
        if not move.roles:
            raise Conflict(_("This step happens by itself when the circle is booked, held or its agreement is "
                             "recorded."), {"code": "automatic_only", "from": referral.status, "to": target})
        if not actor.has_role(*move.roles):
            raise Forbidden(_("Your role cannot make this change."))
    reasons = move.reasons + (move.automatic_reasons if automatic else ())
    if reasons and reason not in reasons:
        raise InvalidRequest.field(_("Check the highlighted fields."), "reason", _("Choose a reason."))
    if not reasons:
        reason = None
    if unmet := transition_blockers(referral, target, consent_overview(referral)):
        raise GateFailed(_("The referral cannot move on yet."), [condition.as_dict() for condition in unmet])

    now = clock.now()
    change = StatusChange(
        referral_id=referral.id,
        from_status=referral.status,
        to_status=target,
        reason=reason,
        actor_type=actor.audit_ref[0],
        actor_id=actor.id if actor.audit_ref[0] == "user" else None,
        at=now,
    )
    change.note = (note or "").strip() or None
    referral.paused_from = referral.status if target == S.paused else None
    referral.status = target
    referral.status_reason = reason
    referral.updated_at = now
    db.session.add(change)
    db.session.flush()
    record(actor, "referral.transition", referral, referral_id=referral.id,
           details={"from": change.from_status, "to": target.value, "reason": reason})
    entered.send(target, referral=referral, actor=actor, change=change)
    return change


def prosecution_stage(referral: Referral | ReferralLine) -> str:
    """The coarse stage every prosecutor surface shows (docs/design.md rule 5, docs/api.md "prosecution/cases").

    A pause never shows: a paused referral shows the stage of the status it will resume at (pausing cancelled any
    booked circle, so that is where it would stand), and `completed` shows as `closed`, like every closing.
    """
    status = referral.status
    if status == S.paused:
        status = resume_target(referral) or S.preparation
    return PROSECUTION_STAGE[status]
