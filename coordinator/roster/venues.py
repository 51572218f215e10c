"""Venues for in-person sessions (docs/design.md section 2): opening hours in the venue's time zone, an encrypted
address only admins and coordinators read, deactivated rather than deleted (past sessions keep pointing at them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import select

from coordinator.accounts.models import Actor, Role
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.roster.availability import check_week, week_json
from coordinator.roster.models import Venue, venue_suits
from coordinator.roster.profiles import MANAGERS, check_fields, valid_timezone

READERS = (*MANAGERS, Role.facilitator)
MAX_CAPACITY = 500
FIELDS = ("name", "address", "entrance", "timezone", "separate_waiting_rooms", "accessible", "capacity",
          "opening_hours", "active")


def may_read_address(actor: Actor) -> bool:
    """Only admins and coordinators ever see a venue's address."""
    return actor.has_role(*MANAGERS)


def _require_reader(actor: Actor) -> None:
    if not actor.has_role(*READERS):
        raise Forbidden(_("Your role has no access to venues."))


def _require_manager(actor: Actor) -> None:
    if not actor.has_role(*MANAGERS):
        raise Forbidden(_("Only administrators and coordinators manage venues."))


def list_venues(actor: Actor) -> list[Venue]:
    """Every venue, active first, by name."""
    _require_reader(actor)
    venues = db.session.execute(select(Venue)).scalars().all()
    if may_read_address(actor):
        record(actor, "venue.list", details={"shown": len(venues)})
    return sorted(venues, key=lambda v: (not v.active, v.name.lower(), str(v.id)))


def load_venue(actor: Actor, venue_id: uuid.UUID | str) -> Venue:
    """One venue; 404 for unknown ids."""
    _require_reader(actor)
    try:
        key = venue_id if isinstance(venue_id, uuid.UUID) else uuid.UUID(str(venue_id))
    except ValueError:
        raise NotFound(_("Not found.")) from None
    venue = db.session.get(Venue, key)
    if venue is None:
        raise NotFound(_("Not found."))
    return venue


def read_address(actor: Actor, venue: Venue) -> str:
    """A venue's address, for admins and coordinators; each read is audited."""
    _require_manager(actor)
    record(actor, "venue.address.view", venue)
    return venue.address or ""  # stored for every venue (the column is not nullable)


def read_entrance(actor: Actor, venue: Venue) -> str:
    """Which entrance the parties use, for admins and coordinators (read with the address, audited with it)."""
    _require_manager(actor)
    return venue.entrance or ""


def _check(values: Mapping[str, Any], *, creating: bool) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The given fields, cleaned, and the field errors."""
    fields: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = set(values) - set(FIELDS)
    for name in unknown:
        fields[name] = [_("This field cannot be changed here.")]
    for name in ("name", "address", "timezone") if creating else ():
        if values.get(name) is None:
            fields[name] = [_("This field is required.")]
    if values.get("name") is not None:
        name = str(values["name"]).strip()
        if not name or len(name) > 120:
            fields["name"] = [_("Enter a name of up to 120 characters.")]
        clean["name"] = name
    if values.get("address") is not None:
        address = str(values["address"]).strip()
        if not address or len(address) > 500:
            fields["address"] = [_("Enter an address of up to 500 characters.")]
        clean["address"] = address
    if values.get("entrance") is not None:  # which door to use: as revealing as the address, so encrypted too
        entrance = str(values["entrance"]).strip()
        if len(entrance) > 300:
            fields["entrance"] = [_("Enter up to 300 characters.")]
        clean["entrance"] = entrance or None
    if values.get("timezone") is not None:
        if not valid_timezone(values["timezone"]):
            fields["timezone"] = [_("Enter a time zone such as Europe/Madrid.")]
        clean["timezone"] = values["timezone"]
    for flag in ("separate_waiting_rooms", "accessible", "active"):
        if values.get(flag) is not None:
            if not isinstance(values[flag], bool):
                fields[flag] = [_("Say true or false.")]
            clean[flag] = values[flag]
    if values.get("capacity") is not None:
        capacity = values["capacity"]
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
            fields["capacity"] = [_("Enter a whole number from 1 to %(max)d.", max=MAX_CAPACITY)]
        clean["capacity"] = capacity
    if values.get("opening_hours") is not None:
        clean["opening_hours"] = week_json(check_week(list(values["opening_hours"]), "opening_hours", fields))
    return clean, fields


@atomic
def create_venue(actor: Actor, **values: Any) -> Venue:
    """Add a venue: name, address (encrypted), time zone, waiting rooms, step-free access, capacity, hours."""
    _require_manager(actor)
    clean, fields = _check(values, creating=True)
    if fields:
        raise InvalidRequest(check_fields(), fields)
    venue = Venue(name=clean["name"], timezone=clean["timezone"],
                  separate_waiting_rooms=clean.get("separate_waiting_rooms", False),
                  accessible=clean.get("accessible", False), capacity=clean.get("capacity", 8),
                  opening_hours=clean.get("opening_hours", []), active=clean.get("active", True))
    venue.address = clean["address"]
    venue.entrance = clean.get("entrance")
    db.session.add(venue)
    db.session.flush()
    record(actor, "venue.create", venue, details={"timezone": venue.timezone, "capacity": venue.capacity})
    return venue


@atomic
def update_venue(actor: Actor, venue: Venue, **changes: Any) -> Venue:
    """Change the given fields of a venue; `active=False` deactivates it (venues are never deleted)."""
    _require_manager(actor)
    clean, fields = _check(changes, creating=False)
    if fields:
        raise InvalidRequest(check_fields(), fields)
    for name, value in clean.items():
        setattr(venue, name, value)
    db.session.add(venue)
    db.session.flush()
    record(actor, "venue.update", venue, details={"fields": sorted(clean)})
    return venue


def venues_by_id(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Venue]:
    """Venues keyed by id, in one statement; empty ids are skipped."""
    keys = {venue_id for venue_id in ids if venue_id}
    if not keys:
        return {}
    return {venue.id: venue for venue in db.session.execute(select(Venue).where(Venue.id.in_(keys))).scalars()}


class VenueHours(NamedTuple):
    """A venue as slot search reads it: no address, no entity."""

    id: uuid.UUID
    name: str
    timezone: str
    opening_hours: list[dict]


def suitable_venues(kind: str) -> list[VenueHours]:
    """The venues that suit `kind`, by name, in one statement of columns."""
    rows = db.session.execute(select(Venue.id, Venue.name, Venue.timezone, Venue.opening_hours, Venue.active,
                                     Venue.separate_waiting_rooms, Venue.capacity)).all()
    return sorted((VenueHours(*row[:4]) for row in rows if venue_suits(kind, *row[4:])), key=lambda v: v.name)

