"""Record consent decisions and carry out what a withdrawal means, at once and in the same transaction."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.accounts.service import users_by_id
from coordinator.audit.service import record
from coordinator.consent import gates
from coordinator.consent.models import ConsentDecision, ConsentStatus, Decision, Method, Scope
from coordinator.consent.queries import consent_overview
from coordinator.consent.sheets import current_version, find_sheet, sheet_language
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, GateFailed, InvalidRequest
from coordinator.notifications.service import notify_staff
from coordinator.referrals.models import OPEN, CloseReason, Party, PartyRole, Referral, ReferralStatus
from coordinator.referrals.workflow import transition
from coordinator.sessions.cancellation import cancel_upcoming, upcoming_sessions
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import raise_task

STAFF_METHODS = (Method.in_person, Method.via_advocate)
# A grant of these after a withdrawal means someone must talk with the party: their withdrawal cancelled things.
REOPENING_SCOPES = (Scope.participation, Scope.contact_other_party)
RECORDERS = (Role.coordinator, Role.facilitator)


def contact_gate_failure() -> GateFailed:
    """The refusal for anything that would reach the responsible party too early (docs/design.md rule 3)."""
    return GateFailed(_("The survivor has not agreed to contact with the other person."),
                      [{"code": "consent_survivor_contact_other_party",
                        "message": _("The survivor has not agreed to contact with the other person.")}])


@atomic
def record_decision(actor: Actor, referral: Referral, *, party: str, scope: str, decision: str, method: str,
                    information_version: str | None = None, information_language: str | None = None
                    ) -> ConsentDecision:
    """Append one decision. Staff record what a party decided in person; a party decides through the portal.

    A grant needs the sheet the party was shown; a withdrawal is never refused.
    """
    target = _check_decision(actor, referral, party, scope, decision, method)
    language = information_language or sheet_language(target.preferred_language)
    version = information_version or current_version(scope)
    if find_sheet(scope, version, language) is None:
        raise InvalidRequest.field(_("Check the highlighted fields."), "information_version",
                                   _("No information sheet has this version in this language."))
    overview = consent_overview(referral)
    if decision == Decision.granted and party == PartyRole.responsible_party and not gates.contact_allowed(overview):
        raise contact_gate_failure()
    regrant = decision == Decision.granted and scope in REOPENING_SCOPES and \
        overview[party][scope].status == ConsentStatus.withdrawn
    now = clock.now()
    valid_for = timedelta(days=current_app.config["CONSENT_VALID_DAYS"])
    entry = ConsentDecision(
        referral_id=referral.id,
        party_id=target.id,
        scope=scope,
        decision=decision,
        sheet_version=version,
        sheet_language=language,
        method=method,
        recorded_by_type=actor.audit_ref[0],
        recorded_by_id=actor.id,
        decided_at=now,
        expires_at=now + valid_for if decision == Decision.granted else None,
    )
    db.session.add(entry)
    db.session.flush()
    record(actor, f"consent.{'grant' if decision == Decision.granted else 'withdraw'}", entry,
           referral_id=referral.id, details={"party": party, "scope": scope, "method": method,
                                             "sheet": f"{version}.{language}"})
    if decision == Decision.withdrawn:
        cancelled = _carry_out_withdrawal(actor, referral, target, scope)
        raise_task(TaskKind.consent_withdrawn, source=f"consent:{entry.id}", referral_id=referral.id,
                   subject_id=entry.id, params={"party": party, "scope": scope, "cancelled_sessions": cancelled})
    notify_staff(_facilitators(referral), "consent_changed", key=f"consent_changed:{entry.id}", referral=referral)
    if regrant:
        _ask_for_contact(referral, entry)
    return entry


def _ask_for_contact(referral: Referral, entry: ConsentDecision) -> None:
    """A grant after a withdrawal reopens nothing by itself (docs/design.md section 7a): the coordinators and the
    facilitators are asked to contact the party: a task in their queue. The decision is its source, so one grant
    raises one task."""
    raise_task(TaskKind.regrant_after_withdrawal, source=f"consent:{entry.id}", referral_id=referral.id,
               subject_id=entry.id, params={"scope": entry.scope})


def _check_decision(actor: Actor, referral: Referral, party: str, scope: str, decision: str, method: str) -> Party:
    """Who may record what; returns the party the decision belongs to."""
    fields: dict[str, list[str]] = {}
    if party not in PartyRole.__members__:
        fields["party"] = [_("Choose the survivor or the responsible party.")]
    if scope not in Scope.__members__:
        fields["scope"] = [_("Choose what the decision is about.")]
    if decision not in Decision.__members__:
        fields["decision"] = [_("Choose to grant or to withdraw.")]
    if isinstance(actor, Party):
        if method != Method.secure_link:
            fields["method"] = [_("Choose how the decision was made.")]
    elif method not in STAFF_METHODS:
        fields["method"] = [_("Choose how the decision was made.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    target = referral.require_party(PartyRole(party))
    if isinstance(actor, Party):
        if actor.id != target.id:
            raise Forbidden(_("A party decides only for themself."))
    elif not actor.has_role(*RECORDERS):
        raise Forbidden(_("Your role cannot record consent decisions."))
    return target


def _facilitators(referral: Referral) -> list[User]:
    return list(users_by_id(referral.facilitator_ids).values())


def _carry_out_withdrawal(actor: Actor, referral: Referral, party: Party, scope: str) -> int:
    """At once (docs/design.md rule 1): the sessions the withdrawal rules out are cancelled, and a party who no longer
    takes part ends the referral (closing cancels the rest; the cancellation tells people, neutrally).

    Returns how many sessions it cancelled, for the coordinator's queue."""
    if scope == Scope.share_outcome_with_court:
        return 0  # nothing is scheduled on it; the prosecution view stops showing the agreement by itself
    # Without participation, nothing with this party; without contact, nothing with the responsible party.
    cancelled = len(cancel_upcoming(actor, referral, "consent_withdrawn", decided_by=party,
                                    involving=party.role if scope == Scope.participation
                                    else PartyRole.responsible_party))
    if scope == Scope.participation and referral.status in OPEN:
        cancelled += len(upcoming_sessions(referral))  # closing cancels these
        transition(actor, referral, ReferralStatus.closed, reason=CloseReason.consent_withdrawn, automatic=True)
    return cancelled
