"""Times a party has said they cannot attend (docs/design.md section 4): slot search keeps sessions out of them.

Staff record them for a referral in their scope: coordinators, and the facilitators assigned to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from coordinator.accounts.models import Actor, Role
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.referrals.models import Party, PartyRole, Referral
from coordinator.referrals.service import load_referral
from coordinator.roster.profiles import check_fields
from coordinator.sessions.models import PartyUnavailability

STAFF = (Role.coordinator, Role.facilitator)
LONGEST = timedelta(days=366)


@dataclass(frozen=True)
class Unavailable:
    """One declared time, with the party's role (never their alias)."""

    row: PartyUnavailability
    party: str

    @property
    def id(self) -> uuid.UUID:
        """The entry's id."""
        return self.row.id


def _require_staff(actor: Actor) -> None:
    if not actor.has_role(*STAFF):
        raise Forbidden(_("Your role cannot record when parties are unavailable."))


def referral_for(actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """The referral to read or record unavailable times of: staff roles only (403), in scope only (404)."""
    _require_staff(actor)
    return load_referral(actor, referral_id)


def unavailability_of(actor: Actor, referral: Referral) -> list[Unavailable]:
    """The parties' declared unavailable times, soonest first."""
    _require_staff(actor)
    roles = {party.id: party.role for party in referral.parties}
    rows = db.session.execute(
        select(PartyUnavailability).where(PartyUnavailability.party_id.in_(list(roles)))
        .order_by(PartyUnavailability.starts_at)
    ).scalars()
    return [Unavailable(row, roles[row.party_id]) for row in rows]


def _aware(value: object) -> datetime | None:
    """The value when it is a datetime with its offset; None otherwise."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        return None
    return value


@atomic
def add_unavailability(actor: Actor, referral: Referral, party: str | None, start: datetime | None,
                       end: datetime | None) -> Unavailable:
    """Record that a party cannot attend between `start` and `end` (aware times)."""
    _require_staff(actor)
    party = str(party) if party is not None else ""
    fields: dict[str, list[str]] = {}
    if party not in PartyRole.__members__:
        fields["party"] = [_("Choose the survivor or the responsible party.")]
    starts_at, ends_at = _aware(start), _aware(end)
    for name, value in (("start", starts_at), ("end", ends_at)):
        if value is None:
            fields[name] = [_("Enter a date and time with its time zone offset.")]
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            fields["end"] = [_("The end must be later than the start.")]
        elif ends_at - starts_at > LONGEST:
            fields["end"] = [_("Enter a period of at most a year.")]
    if fields or starts_at is None or ends_at is None:
        raise InvalidRequest(check_fields(), fields)
    who = referral.require_party(PartyRole(party))
    row = PartyUnavailability(party_id=who.id, starts_at=starts_at, ends_at=ends_at)
    db.session.add(row)
    db.session.flush()
    record(actor, "party.unavailability.add", row, referral_id=referral.id, details={"party": party})
    return Unavailable(row, party)


def load_unavailability(actor: Actor, entry_id: uuid.UUID | str) -> tuple[Unavailable, Referral]:
    """One declared time and its referral, if the referral is in the actor's scope; 404 otherwise."""
    _require_staff(actor)
    try:
        key = entry_id if isinstance(entry_id, uuid.UUID) else uuid.UUID(str(entry_id))
    except ValueError:
        raise NotFound(_("Not found.")) from None
    row = db.session.get(PartyUnavailability, key)
    party = db.session.get(Party, row.party_id) if row is not None else None
    if row is None or party is None:
        raise NotFound(_("Not found."))
    referral = load_referral(actor, party.referral_id)
    return Unavailable(row, party.role), referral


@atomic
def remove_unavailability(actor: Actor, entry: Unavailable, referral: Referral) -> None:
    """Forget a declared time."""
    _require_staff(actor)
    record(actor, "party.unavailability.remove", entry.row, referral_id=referral.id, details={"party": entry.party})
    db.session.delete(entry.row)
    db.session.flush()
