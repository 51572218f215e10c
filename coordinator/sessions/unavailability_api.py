"""JSON routes for the times the parties said they cannot attend (docs/api.md "Scheduling"); slot search avoids them."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel

from coordinator.api import DeletedOut, api_actor, api_blueprint
from coordinator.inputs import Moment
from coordinator.pagination import whole_list
from coordinator.referrals.models import PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.sessions import unavailability

bp = api_blueprint("unavailability_api", __name__, "sessions")


class UnavailabilityPath(BaseModel):
    """A declared unavailable time's id in the path."""

    unavailability_id: str


class UnavailabilityIn(Strict):
    """`POST /api/v1/referrals/{id}/unavailability`: times with their offset."""

    party: PartyRole
    start: Moment
    end: Moment


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


def _unavailable_json(item: unavailability.Unavailable) -> dict:
    return UnavailabilityOut(id=item.id, party=item.party, start=item.row.starts_at,
                             end=item.row.ends_at).model_dump(mode="json")


@bp.get("/referrals/<referral_id>/unavailability", responses={"200": UnavailabilityListOut})
def list_unavailability(path: ReferralPath):
    """When the parties said they cannot attend (coordinators and the assigned facilitators)."""
    actor = api_actor()
    referral = unavailability.referral_for(actor, path.referral_id)
    return whole_list([_unavailable_json(item) for item in unavailability.unavailability_of(actor, referral)])


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
