"""JSON routes for secure links (docs/api.md "Consent and links")."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from coordinator.api import api_actor, api_blueprint
from coordinator.portal import service
from coordinator.portal.models import LinkChannel
from coordinator.referrals.models import PartyRole
from coordinator.referrals.schemas import ReferralPath, Strict
from coordinator.referrals.service import language_gap, load_referral

bp = api_blueprint("links_api", __name__, "links")


class LinkIn(Strict):
    """`POST /api/v1/referrals/{id}/links`."""

    party: PartyRole
    channel: LinkChannel


class LinkOut(BaseModel):
    """An issued link; `url` only for a handover, and only in this answer."""

    id: uuid.UUID
    party: PartyRole
    channel: LinkChannel
    expires_at: datetime
    url: str | None = None
    warnings: list[dict] | None = Field(default=None, description="language_without_portal: the party would read "
                                        "the portal in English and no interpreter is arranged")


class RevokedOut(BaseModel):
    """A revoked link."""

    id: uuid.UUID
    revoked_at: datetime


class LinkPath(BaseModel):
    """A link's id in the path."""

    link_id: str


@bp.post("/referrals/<referral_id>/links", responses={"201": LinkOut})
def issue_link(path: ReferralPath, body: LinkIn):
    """Issue a link; 409 gate_failed for the responsible party before the survivor agrees to contact."""
    actor = api_actor()
    referral = load_referral(actor, path.referral_id)
    link, url = service.issue_link(actor, referral, body.party, body.channel)
    gap = language_gap(referral.require_party(body.party))
    out = LinkOut(id=link.id, party=body.party, channel=link.channel, expires_at=link.expires_at,
                  url=url if link.channel == LinkChannel.handover else None,
                  warnings=[gap.as_dict()] if gap is not None and not gap.party.interpreter_arranged else None)
    return out.model_dump(mode="json", exclude_none=True), 201


@bp.delete("/links/<link_id>", responses={"200": RevokedOut})
def revoke_link(path: LinkPath):
    """Revoke a link at once."""
    actor = api_actor()
    link = service.revoke_link(actor, service.load_link(actor, path.link_id))
    return RevokedOut(id=link.id, revoked_at=link.revoked_at).model_dump(mode="json")
