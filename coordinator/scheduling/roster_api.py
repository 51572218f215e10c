"""JSON routes for the roster (API.md "Scheduling"): facilitators, availability, conflicts of interest, venues,
the parties' unavailable times and the ranked facilitator suggestions for a referral."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import AwareDatetime, BaseModel, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.pagination import clamp_per_page
from coordinator.referrals.models import PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import load_referral
from coordinator.scheduling import roster, unavailability, venues
from coordinator.scheduling.models import TrainingKind

bp = api_blueprint("roster_api", __name__, "roster")


# Shapes ------------------------------------------------------------------------------------------------------


class FacilitatorPath(BaseModel):
    """A facilitator's id (their user id) in the path."""

    facilitator_id: str


class ConflictPath(BaseModel):
    """A facilitator's id and one of their conflicts' ids."""

    facilitator_id: str
    conflict_id: str


class VenuePath(BaseModel):
    """A venue's id in the path."""

    venue_id: str


class UnavailabilityPath(BaseModel):
    """A declared unavailable time's id in the path."""

    unavailability_id: str


class PageQuery(BaseModel):
    """Paging of a list."""

    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=50, ge=1, le=200)


class TrainingIn(Strict):
    """A training and the last day it is valid."""

    kind: TrainingKind
    valid_until: dt.date


class FacilitatorIn(Strict):
    """`POST /api/v1/facilitators`: a new account with the facilitator role and its roster entry."""

    email: str = Field(max_length=254)
    name: str = Field(max_length=120)
    languages: list[str] = Field(description="two- or three-letter codes, e.g. es")
    trainings: list[TrainingIn] = Field(default_factory=list)
    timezone: str = Field(default="UTC", description="an IANA time zone, e.g. Europe/Madrid")
    max_active_referrals: int = 6
    language: str = Field(default="en", description="the language of the facilitator's own pages and emails")


class FacilitatorUpdate(Strict):
    """`PUT /api/v1/facilitators/{id}`: the fields given are changed; `trainings` replaces the list."""

    languages: list[str] | None = None
    trainings: list[TrainingIn] | None = None
    timezone: str | None = None
    max_active_referrals: int | None = None


class TrainingOut(BaseModel):
    """A training held."""

    kind: str
    valid_until: dt.date


class FacilitatorOut(BaseModel):
    """A roster entry."""

    id: uuid.UUID
    email: str
    name: str
    active: bool
    languages: list[str]
    timezone: str
    max_active_referrals: int
    active_referrals: int
    trainings: list[TrainingOut]


class FacilitatorListOut(BaseModel):
    """One page of the roster."""

    items: list[FacilitatorOut]
    page: int
    per_page: int
    total: int


class WindowIn(Strict):
    """A weekly window in local time: weekday 0 is Monday, times "HH:MM"."""

    weekday: int
    start: str
    end: str


class WindowOut(BaseModel):
    """A weekly window in local time."""

    weekday: int
    start: str
    end: str


class ExceptionIn(Strict):
    """A dated exception to the weekly windows."""

    date: dt.date
    unavailable: bool = True


class AvailabilityIn(Strict):
    """`PUT /api/v1/facilitators/{id}/availability`: replaces both lists."""

    weekly: list[WindowIn]
    exceptions: list[ExceptionIn] = Field(default_factory=list)


class AvailabilityOut(BaseModel):
    """A facilitator's availability, in their time zone."""

    facilitator_id: uuid.UUID
    timezone: str
    weekly: list[WindowOut]
    exceptions: list[ExceptionIn]


class ConflictIn(Strict):
    """`POST /api/v1/facilitators/{id}/conflicts`."""

    docket_number: str = Field(max_length=64)


class ConflictOut(BaseModel):
    """A declared conflict of interest."""

    id: uuid.UUID
    docket_number: str
    declared_at: dt.datetime


class ConflictListOut(BaseModel):
    """A facilitator's conflicts."""

    items: list[ConflictOut]
    page: int
    per_page: int
    total: int


class VenueIn(Strict):
    """`POST /api/v1/venues`."""

    name: str
    address: str
    timezone: str
    separate_waiting_rooms: bool = False
    accessible: bool = Field(default=False, description="step-free access")
    capacity: int = 8
    opening_hours: list[WindowIn] = Field(default_factory=list)


class VenueUpdate(Strict):
    """`PUT /api/v1/venues/{id}`: the fields given are changed; `"active": false` deactivates the venue."""

    name: str | None = None
    address: str | None = None
    timezone: str | None = None
    separate_waiting_rooms: bool | None = None
    accessible: bool | None = None
    capacity: int | None = None
    opening_hours: list[WindowIn] | None = None
    active: bool | None = None


class VenueOut(BaseModel):
    """A venue; `address` only for admins and coordinators."""

    id: uuid.UUID
    name: str
    address: str | None = None
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


class UnavailabilityIn(Strict):
    """`POST /api/v1/referrals/{id}/unavailability`: times with their offset."""

    party: PartyRole
    start: AwareDatetime
    end: AwareDatetime


class UnavailabilityOut(BaseModel):
    """A time a party cannot attend (UTC)."""

    id: uuid.UUID
    party: str
    start: dt.datetime
    end: dt.datetime


class UnavailabilityListOut(BaseModel):
    """A referral's declared unavailable times."""

    items: list[UnavailabilityOut]
    page: int
    per_page: int
    total: int


class SuggestionOut(BaseModel):
    """An eligible facilitator and the reasons for their place."""

    id: uuid.UUID
    name: str
    language_match: bool
    caseload: str = Field(description='"n/cap"')
    active_referrals: int
    max_active_referrals: int
    free_hours: float = Field(description="free hours in the next 30 days")


class SuggestionListOut(BaseModel):
    """The ranking, best first."""

    items: list[SuggestionOut]
    page: int
    per_page: int
    total: int


class DeletedOut(BaseModel):
    """What was removed."""

    id: uuid.UUID
    deleted: bool


# Serialisers ---------------------------------------------------------------------------------------------------


def _whole(items: list) -> dict:
    return {"items": items, "page": 1, "per_page": max(len(items), 1), "total": len(items)}


def _facilitator_json(entry: roster.FacilitatorEntry) -> dict:
    return FacilitatorOut(
        id=entry.id, email=entry.user.email, name=entry.user.name, active=entry.user.active,
        languages=list(entry.languages), timezone=entry.timezone, max_active_referrals=entry.cap,
        active_referrals=entry.caseload,
        trainings=[TrainingOut(kind=kind, valid_until=until) for kind, until in sorted(entry.trainings.items())],
    ).model_dump(mode="json")


def _availability_json(user, availability: roster.Availability) -> dict:
    return AvailabilityOut(
        facilitator_id=user.id, timezone=availability.timezone,
        weekly=[WindowOut(**item) for item in roster.week_json(availability.weekly)],
        exceptions=[ExceptionIn(date=day, unavailable=flag) for day, flag in availability.exceptions],
    ).model_dump(mode="json")


def _conflict_json(conflict) -> dict:
    return ConflictOut.model_validate(conflict, from_attributes=True).model_dump(mode="json")


def _venue_json(actor, venue) -> dict:
    out = VenueOut(id=venue.id, name=venue.name, timezone=venue.timezone,
                   separate_waiting_rooms=venue.separate_waiting_rooms, accessible=venue.accessible,
                   capacity=venue.capacity, opening_hours=[WindowOut(**item) for item in venue.opening_hours],
                   active=venue.active)
    if venues.may_read_address(actor):
        out.address = venue.address
        return out.model_dump(mode="json")
    return out.model_dump(mode="json", exclude={"address"})


def _unavailable_json(item: unavailability.Unavailable) -> dict:
    return UnavailabilityOut(id=item.id, party=item.party, start=item.row.starts_at,
                             end=item.row.ends_at).model_dump(mode="json")


# Facilitators ----------------------------------------------------------------------------------------------------


@bp.post("/facilitators", responses={"201": FacilitatorOut})
def create_facilitator(body: FacilitatorIn):
    """Add a facilitator: the account (role facilitator; its id is the facilitator's id) and the roster entry.
    The generated first password is never returned by the API."""
    actor = api_actor()
    data = body.model_dump()
    user, _password = roster.create_facilitator(actor, **data)
    return _facilitator_json(roster.facilitator_entry(user)), 201


@bp.get("/facilitators", responses={"200": FacilitatorListOut})
def list_facilitators(query: PageQuery):
    """The roster, active first, by name (admins and coordinators)."""
    entries = roster.list_facilitators(api_actor())
    per_page = clamp_per_page(query.per_page)
    shown = entries[(query.page - 1) * per_page: query.page * per_page]
    return {"items": [_facilitator_json(entry) for entry in shown], "page": query.page, "per_page": per_page,
            "total": len(entries)}


@bp.get("/facilitators/<facilitator_id>", responses={"200": FacilitatorOut})
def get_facilitator(path: FacilitatorPath):
    """One roster entry (admins and coordinators; a facilitator their own)."""
    user = roster.load_facilitator(api_actor(), path.facilitator_id)
    return _facilitator_json(roster.facilitator_entry(user))


@bp.put("/facilitators/<facilitator_id>", responses={"200": FacilitatorOut})
def update_facilitator(path: FacilitatorPath, body: FacilitatorUpdate):
    """Change languages, trainings, time zone or caseload cap (admins and coordinators)."""
    actor = api_actor()
    roster.require_manager(actor)
    user = roster.load_facilitator(actor, path.facilitator_id)
    return _facilitator_json(roster.update_facilitator(actor, user, **body.model_dump(exclude_unset=True)))


@bp.get("/facilitators/<facilitator_id>/availability", responses={"200": AvailabilityOut})
def get_availability(path: FacilitatorPath):
    """Weekly windows and dated exceptions, in the facilitator's time zone."""
    user = roster.load_facilitator(api_actor(), path.facilitator_id)
    return _availability_json(user, roster.availability_of(user))


@bp.put("/facilitators/<facilitator_id>/availability", responses={"200": AvailabilityOut})
def put_availability(path: FacilitatorPath, body: AvailabilityIn):
    """Replace the weekly windows and the dated exceptions (a facilitator their own)."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    data = body.model_dump()
    return _availability_json(user, roster.set_availability(actor, user, data["weekly"], data["exceptions"]))


@bp.get("/facilitators/<facilitator_id>/conflicts", responses={"200": ConflictListOut})
def list_conflicts(path: FacilitatorPath):
    """The declared conflicts of interest, newest first."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    return _whole([_conflict_json(item) for item in roster.conflicts_of(actor, user)])


@bp.post("/facilitators/<facilitator_id>/conflicts", responses={"201": ConflictOut})
def declare_conflict(path: FacilitatorPath, body: ConflictIn):
    """Declare a conflict with the cases of a docket number, known now or referred later."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    return _conflict_json(roster.declare_conflict(actor, user, body.docket_number)), 201


@bp.delete("/facilitators/<facilitator_id>/conflicts/<conflict_id>", responses={"200": DeletedOut})
def remove_conflict(path: ConflictPath):
    """Withdraw a declared conflict."""
    actor = api_actor()
    conflict = roster.load_conflict(actor, roster.load_facilitator(actor, path.facilitator_id), path.conflict_id)
    conflict_id = conflict.id
    roster.remove_conflict(actor, conflict)
    return {"id": str(conflict_id), "deleted": True}


# Venues ----------------------------------------------------------------------------------------------------------


@bp.post("/venues", responses={"201": VenueOut})
def create_venue(body: VenueIn):
    """Add a venue; its address is encrypted (admins and coordinators)."""
    actor = api_actor()
    return _venue_json(actor, venues.create_venue(actor, **body.model_dump())), 201


@bp.get("/venues", responses={"200": VenueListOut})
def list_venues():
    """The venues, active first; the address only for admins and coordinators."""
    actor = api_actor()
    return _whole([_venue_json(actor, venue) for venue in venues.list_venues(actor)])


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


# The parties' unavailable times ----------------------------------------------------------------------------------


@bp.get("/referrals/<referral_id>/unavailability", responses={"200": UnavailabilityListOut})
def list_unavailability(path: ReferralPath):
    """When the parties said they cannot attend (coordinators and the assigned facilitators)."""
    actor = api_actor()
    referral = unavailability.referral_for(actor, path.referral_id)
    return _whole([_unavailable_json(item) for item in unavailability.unavailability_of(actor, referral)])


@bp.post("/referrals/<referral_id>/unavailability", responses={"201": UnavailabilityOut})
def add_unavailability(path: ReferralPath, body: UnavailabilityIn):
    """Record a time a party cannot attend; slot search avoids it."""
    actor = api_actor()
    referral = unavailability.referral_for(actor, path.referral_id)
    item = unavailability.add_unavailability(actor, referral, body.party, body.start, body.end)
    return _unavailable_json(item), 201


@bp.delete("/unavailability/<unavailability_id>", responses={"200": DeletedOut})
def remove_unavailability(path: UnavailabilityPath):
    """Forget a declared unavailable time."""
    actor = api_actor()
    item, referral = unavailability.load_unavailability(actor, path.unavailability_id)
    item_id = item.id
    unavailability.remove_unavailability(actor, item, referral)
    return {"id": str(item_id), "deleted": True}


# Assignment --------------------------------------------------------------------------------------------------------


@bp.get("/referrals/<referral_id>/facilitator-suggestions", responses={"200": SuggestionListOut})
def facilitator_suggestions(path: ReferralPath):
    """Eligible facilitators ranked for this referral: language match, caseload, free time in 30 days."""
    actor = api_actor()
    roster.require_coordinator(actor)
    referral = load_referral(actor, path.referral_id)
    items = [SuggestionOut(id=s.user_id, name=s.name, language_match=s.speaks_language, caseload=s.caseload_label,
                           active_referrals=s.caseload, max_active_referrals=s.cap, free_hours=s.free_hours
                           ).model_dump(mode="json") for s in roster.suggestions_for(actor, referral)]
    return _whole(items)
