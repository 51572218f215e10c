"""JSON routes for the roster (docs/api.md "Scheduling"): facilitators, availability, conflicts of interest and the
ranked facilitator suggestions for a referral. Venues are in `venue_api.py`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from coordinator.api import DeletedOut, api_actor, api_blueprint
from coordinator.inputs import MAX_PAGE, Day, QueryModel, TimeZoneName, visible_line
from coordinator.pagination import clamp_per_page, whole_list
from coordinator.referrals.schemas import DocketNumber, ReferralPath, Strict
from coordinator.referrals.service import load_referral
from coordinator.roster import availability as roster_availability
from coordinator.roster import conflicts as roster_conflicts
from coordinator.roster import profiles as roster
from coordinator.roster import ranking as roster_ranking
from coordinator.roster.models import TrainingKind

bp = api_blueprint("roster_api", __name__, "roster")
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
ClockTime = Annotated[str, StringConstraints(pattern=roster_availability.CLOCK_TIME.pattern)]


# Shapes ------------------------------------------------------------------------------------------------------


class FacilitatorPath(BaseModel):
    """A facilitator's id (their user id) in the path."""

    facilitator_id: str


class ConflictPath(BaseModel):
    """A facilitator's id and one of their conflicts' ids."""

    facilitator_id: str
    conflict_id: str




class PageQuery(QueryModel):
    """Paging of a list."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=50, ge=1, le=200)


class TrainingIn(Strict):
    """A training and the last day it is valid."""

    kind: TrainingKind
    valid_until: Day


class FacilitatorIn(Strict):
    """`POST /api/v1/facilitators`: a new account with the facilitator role and its roster entry."""

    email: EmailStr = Field(max_length=254)
    name: visible_line(120)  # type: ignore[valid-type]
    languages: list[LanguageCode] = Field(min_length=1, max_length=20, description="two- or three-letter codes")
    trainings: list[TrainingIn] = Field(default_factory=list, max_length=len(TrainingKind))
    timezone: TimeZoneName = Field(default="UTC", description="a canonical IANA time zone, e.g. Europe/Madrid")
    max_active_referrals: int = Field(default=6, ge=1, le=roster.MAX_CAP)
    language: Literal["en", "es", "fr"] = Field(default="en",
                                                description="the language of the facilitator's own pages and emails")


class FacilitatorUpdate(Strict):
    """`PUT /api/v1/facilitators/{id}`: the fields given are changed; `trainings` replaces the list."""

    languages: list[LanguageCode] | None = Field(default=None, min_length=1, max_length=20)
    trainings: list[TrainingIn] | None = Field(default=None, max_length=len(TrainingKind))
    timezone: TimeZoneName | None = None
    max_active_referrals: int | None = Field(default=None, ge=1, le=roster.MAX_CAP)


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

    weekday: int = Field(ge=0, le=6)
    start: ClockTime
    end: ClockTime


class WindowOut(BaseModel):
    """A weekly window in local time."""

    weekday: int
    start: str
    end: str


class ExceptionIn(Strict):
    """A dated exception to the weekly windows."""

    date: Day
    unavailable: bool = True


class AvailabilityIn(Strict):
    """`PUT /api/v1/facilitators/{id}/availability`: replaces both lists."""

    weekly: list[WindowIn] = Field(max_length=roster_availability.MAX_WINDOWS)
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=roster_availability.MAX_EXCEPTIONS)


class AvailabilityOut(BaseModel):
    """A facilitator's availability, in their time zone."""

    facilitator_id: uuid.UUID
    timezone: str
    weekly: list[WindowOut]
    exceptions: list[ExceptionIn]


class ConflictIn(Strict):
    """`POST /api/v1/facilitators/{id}/conflicts`."""

    docket_number: DocketNumber


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



# Serialisers ---------------------------------------------------------------------------------------------------



def _facilitator_json(entry: roster.FacilitatorEntry) -> dict:
    return FacilitatorOut(
        id=entry.id, email=entry.user.email, name=entry.user.name, active=entry.user.active,
        languages=list(entry.languages), timezone=entry.timezone, max_active_referrals=entry.cap,
        active_referrals=entry.caseload,
        trainings=[TrainingOut(kind=kind, valid_until=until) for kind, until in sorted(entry.trainings.items())],
    ).model_dump(mode="json")


def _availability_json(user, availability: roster_availability.Availability) -> dict:
    return AvailabilityOut(
        facilitator_id=user.id, timezone=availability.timezone,
        weekly=[WindowOut(**item) for item in roster_availability.week_json(availability.weekly)],
        exceptions=[ExceptionIn(date=day, unavailable=flag) for day, flag in availability.exceptions],
    ).model_dump(mode="json")


def _conflict_json(conflict) -> dict:
    return ConflictOut.model_validate(conflict, from_attributes=True).model_dump(mode="json")




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
    return _availability_json(user, roster_availability.availability_of(user))


@bp.put("/facilitators/<facilitator_id>/availability", responses={"200": AvailabilityOut})
def put_availability(path: FacilitatorPath, body: AvailabilityIn):
    """Replace the weekly windows and the dated exceptions (a facilitator their own)."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    data = body.model_dump()
    availability = roster_availability.set_availability(actor, user, data["weekly"], data["exceptions"])
    return _availability_json(user, availability)


@bp.get("/facilitators/<facilitator_id>/conflicts", responses={"200": ConflictListOut})
def list_conflicts(path: FacilitatorPath):
    """The declared conflicts of interest, newest first."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    return whole_list([_conflict_json(item) for item in roster_conflicts.conflicts_of(actor, user)])


@bp.post("/facilitators/<facilitator_id>/conflicts", responses={"201": ConflictOut})
def declare_conflict(path: FacilitatorPath, body: ConflictIn):
    """Declare a conflict with the cases of a docket number, known now or referred later."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    return _conflict_json(roster_conflicts.declare_conflict(actor, user, body.docket_number)), 201


@bp.delete("/facilitators/<facilitator_id>/conflicts/<conflict_id>", responses={"200": DeletedOut})
def remove_conflict(path: ConflictPath):
    """Withdraw a declared conflict."""
    actor = api_actor()
    user = roster.load_facilitator(actor, path.facilitator_id)
    conflict = roster_conflicts.load_conflict(actor, user, path.conflict_id)
    conflict_id = conflict.id
    roster_conflicts.remove_conflict(actor, conflict)
    return {"id": str(conflict_id), "deleted": True}


# Assignment --------------------------------------------------------------------------------------------------------


@bp.get("/referrals/<referral_id>/facilitator-suggestions", responses={"200": SuggestionListOut})
def facilitator_suggestions(path: ReferralPath):
    """Eligible facilitators ranked for this referral: language match, caseload, free time in 30 days."""
    actor = api_actor()
    roster_ranking.require_coordinator(actor)
    referral = load_referral(actor, path.referral_id)
    items = [SuggestionOut(id=s.user_id, name=s.name, language_match=s.speaks_language, caseload=s.caseload_label,
                           active_referrals=s.caseload, max_active_referrals=s.cap, free_hours=s.free_hours
                           ).model_dump(mode="json") for s in roster_ranking.suggestions_for(actor, referral)]
    return whole_list(items)
