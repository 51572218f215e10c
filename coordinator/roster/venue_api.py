"""JSON routes for venues (docs/api.md "Scheduling"): the address is encrypted and shown to admins and coordinators."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from coordinator.accounts.models import User
from coordinator.api import api_actor, api_blueprint
from coordinator.inputs import TimeZoneName, visible_line
from coordinator.pagination import whole_list
from coordinator.referrals.schemas import Strict
from coordinator.roster import venues
from coordinator.roster.api import WindowIn, WindowOut
from coordinator.roster.availability import MAX_WINDOWS
from coordinator.roster.models import Venue
from coordinator.roster.venues import MAX_CAPACITY

bp = api_blueprint("venue_api", __name__, "venues")


class VenuePath(BaseModel):
    """A venue's id in the path."""

    venue_id: str


class VenueIn(Strict):
    """`POST /api/v1/venues`."""

    name: visible_line(120)  # type: ignore[valid-type]
    address: visible_line(500)  # type: ignore[valid-type]
    entrance: visible_line(300) | None = Field(  # type: ignore[valid-type]
        default=None, description="which entrance the parties use; encrypted like the address")
    timezone: TimeZoneName
    separate_waiting_rooms: bool = False
    accessible: bool = Field(default=False, description="step-free access")
    capacity: int = Field(default=8, ge=1, le=MAX_CAPACITY)
    opening_hours: list[WindowIn] = Field(default_factory=list, max_length=MAX_WINDOWS)


class VenueUpdate(Strict):
    """`PUT /api/v1/venues/{id}`: the fields given are changed; `"active": false` deactivates the venue."""

    name: visible_line(120) | None = None  # type: ignore[valid-type]
    address: visible_line(500) | None = None  # type: ignore[valid-type]
    entrance: visible_line(300) | None = None  # type: ignore[valid-type]
    timezone: TimeZoneName | None = None
    separate_waiting_rooms: bool | None = None
    accessible: bool | None = None
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    opening_hours: list[WindowIn] | None = Field(default=None, max_length=MAX_WINDOWS)
    active: bool | None = None


class VenueOut(BaseModel):
    """A venue; `address` and `entrance` only for admins and coordinators."""

    id: uuid.UUID
    name: str
    address: str | None = None
    entrance: str | None = None
    timezone: str
    separate_waiting_rooms: bool
    accessible: bool
    capacity: int
    opening_hours: list[WindowOut]
    active: bool


class VenueListOut(BaseModel):
    """The venues."""

    items: list[VenueOut]
    page: int
    per_page: int
    total: int


def _venue_json(actor: User, venue: Venue) -> dict:
    out = VenueOut(id=venue.id, name=venue.name, timezone=venue.timezone,
                   separate_waiting_rooms=venue.separate_waiting_rooms, accessible=venue.accessible,
                   capacity=venue.capacity, opening_hours=[WindowOut(**item) for item in venue.opening_hours],
                   active=venue.active)
    if venues.may_read_address(actor):
        out.address, out.entrance = venue.address, venue.entrance
        return out.model_dump(mode="json")
    return out.model_dump(mode="json", exclude={"address", "entrance"})


@bp.post("/venues", responses={"201": VenueOut})
def create_venue(body: VenueIn):
    """Add a venue; its address is encrypted (admins and coordinators)."""
    actor = api_actor()
    return _venue_json(actor, venues.create_venue(actor, **body.model_dump())), 201


@bp.get("/venues", responses={"200": VenueListOut})
def list_venues():
    """The venues, active first; the address only for admins and coordinators."""
    actor = api_actor()
    return whole_list([_venue_json(actor, venue) for venue in venues.list_venues(actor)])


@bp.get("/venues/<venue_id>", responses={"200": VenueOut})
def get_venue(path: VenuePath):
    """One venue."""
    actor = api_actor()
    return _venue_json(actor, venues.load_venue(actor, path.venue_id))


@bp.put("/venues/<venue_id>", responses={"200": VenueOut})
def update_venue(path: VenuePath, body: VenueUpdate):
    """Change the fields given; `"active": false` deactivates (venues are never deleted)."""
    actor = api_actor()
    venue = venues.load_venue(actor, path.venue_id)
    return _venue_json(actor, venues.update_venue(actor, venue, **body.model_dump(exclude_unset=True)))
