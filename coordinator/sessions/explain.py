"""Why "Find a time" found nothing, and the nearest change that would find something (docs/design.md section 4).

The causes come from the owners of each rule: booking's refusals and the readiness gate (through
`bookable.bookable_slots()`), the facilitators' free time (`search.facilitator_free_time()`, as the roster's
ranking reads it) and a venue's suitability (`Venue.suits()`). Every suggestion is the search run again with one
change, so it is offered only when it really gives times.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from flask import current_app, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.service import users_by_id
from coordinator.db import db
from coordinator.i18n import language_label
from coordinator.referrals.models import PartyRole, Referral
from coordinator.roster.eligibility import eligible_for, roster
from coordinator.roster.models import Venue
from coordinator.sessions.bookable import Offer, Refusal, SlotRequest, bookable_slots
from coordinator.sessions.models import FORMAT_LABELS, PARTIES_OF, SessionFormat, SessionKind
from coordinator.sessions.search import Slot, facilitator_free_time

SearchUrl = Callable[[SlotRequest], str]

# Where each readiness or booking condition is put right: (endpoint, anchor, what the link says).
FIXES: dict[str, tuple[str, str | None, object]] = {
    "referral_state": ("referrals.detail", "status-heading", _l("Open the next steps")),
    "referral_paused": ("referrals.detail", "status-heading", _l("Open the next steps")),
    "referral_ended": ("referrals.detail", "status-heading", _l("Open the next steps")),
    "consent_survivor_participation": ("referrals.detail", "consent-heading", _l("Open the consent section")),
    "consent_survivor_contact_other_party": ("referrals.detail", "consent-heading", _l("Open the consent section")),
    "consent_responsible_participation": ("referrals.detail", "consent-heading", _l("Open the consent section")),
    "acknowledgement_missing": ("safety.page", "acknowledgement-heading", _l("Record the acknowledgement")),
    "risk_assessment_missing": ("safety.assess", None, _l("Make a risk assessment")),
    "risk_assessment_stale": ("safety.assess", None, _l("Make a risk assessment")),
    "risk_prohibitive": ("safety.page", "risk-heading", _l("Open the risk assessments")),
    "mitigation_unapproved": ("safety.page", "risk-heading", _l("Open the mitigation plan")),
    "protective_order": ("safety.page", "orders-heading", _l("Open the protective orders")),
    "facilitators_missing": ("referrals.detail", "facilitators-heading", _l("Open the facilitators")),
    "facilitator_training": ("referrals.detail", "facilitators-heading", _l("Open the facilitators")),
    "facilitator_conflicted": ("referrals.detail", "facilitators-heading", _l("Open the facilitators")),
    "facilitator_unavailable": ("referrals.detail", "facilitators-heading", _l("Open the facilitators")),
}
PREPARATION = {"pre_conference_survivor": SessionKind.pre_conference_survivor,
               "pre_conference_responsible": SessionKind.pre_conference_responsible}


@dataclass(frozen=True)
class Cause:
    """One reason no time was offered, with where to put it right."""

    code: str
    message: str
    fix_url: str | None = None
    fix_label: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The API shape: code and message (docs/api.md), and the page that fixes it."""
        return {"code": self.code, "message": self.message, "fix": self.fix_url}


@dataclass(frozen=True)
class Suggestion:
    """A change to the search that gives times: the changed search and what it found."""

    code: str
    label: str
    request: SlotRequest
    slots: list[Slot]
    url: str


@dataclass
class Answer:
    """What "Find a time" shows: the times, or why there are none and what would give some."""

    slots: list[Slot]
    explanation: list[Cause] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)


def search_args(request: SlotRequest) -> dict[str, str]:
    """A search as the page's query string, so a suggestion or a fix can link to it."""
    minutes = int(request.duration.total_seconds() // 60)
    args = {"kind": request.kind, "format": request.format, "duration": str(minutes)}
    if request.start_on:
        args["start_on"] = request.start_on.isoformat()
    if request.end_on:
        args["end_on"] = request.end_on.isoformat()
    if request.interpreter:
        args["interpreter"] = "y"
    return args


def search_page(referral_id: object, move: object = None) -> SearchUrl:
    """Links to the staff page "Find a time" with a changed search (keeping the session being moved)."""
    def url(changed: SlotRequest) -> str:
        args: dict[str, Any] = {**search_args(changed), **({"move": str(move)} if move else {})}
        return url_for("sessions.search", referral_id=str(referral_id), **args)
    return url


def find_a_time(referral: Referral, request: SlotRequest, search_url: SearchUrl) -> Answer:
    """The times booking would accept; when there are none, every cause and the changes that would give times."""
    offer = bookable_slots(referral, request)
    if offer.slots:
        return Answer(offer.slots)
    return Answer([], explain(referral, request, offer, search_url), suggest(referral, request, search_url))


def explain(referral: Referral, request: SlotRequest, offer: Offer, search_url: SearchUrl) -> list[Cause]:
    """Every cause of an empty search: booking's refusals, then language, free time and venues."""
    causes = [_refusal_cause(referral, request, refusal, search_url) for refusal in offer.refusals]
    first, last = _window(request)
    if first >= last:
        causes.append(Cause("outside_horizon", _(
            "Sessions are booked at least %(notice)d hours and at most %(horizon)d days ahead; the days asked for "
            "are outside that.", notice=current_app.config["SLOT_NOTICE_HOURS"],
            horizon=current_app.config["SLOT_HORIZON_DAYS"])))
        return causes
    if not offer.open_days:
        return causes
    refused = {cause.code for cause in causes}
    if "language_unmatched" not in refused and (language := _language_cause(referral, request, search_url)):
        return [*causes, language]
    found = _facilitator_causes(referral, request, first, last) + _venue_causes(referral, request)
    if not found:
        found.append(Cause("no_common_time", _(
            "The facilitators and, in person, a suitable venue are never free together for %(minutes)d minutes "
            "in these days (with a %(buffer)d-minute buffer after other sessions, and outside the times the "
            "parties said they cannot come).", minutes=_minutes(request),
            buffer=current_app.config["SESSION_BUFFER_MINUTES"])))
    return causes + found


def suggest(referral: Referral, request: SlotRequest, search_url: SearchUrl) -> list[Suggestion]:
    """Each single change that gives times (an interpreter, another format, the whole booking period), earliest
    first time first."""
    changes: list[tuple[str, str, SlotRequest]] = []
    if not request.interpreter and PartyRole.survivor in PARTIES_OF.get(request.kind, ()):
        changes.append(("interpreter", _("With an interpreter booked"), request.changed(interpreter=True)))
    for fmt in SessionFormat:
        if fmt != request.format:
            changes.append(("format", _("In another format: %(format)s", format=FORMAT_LABELS[fmt]),
                            request.changed(format=fmt.value)))
    if request.start_on or request.end_on:
        changes.append(("longer_range", _("Over the whole booking period (the next %(days)d days)",
                                          days=current_app.config["SLOT_HORIZON_DAYS"]),
                        request.changed(start_on=None, end_on=None)))
    found = []
    for code, label, changed in changes:
        if slots := bookable_slots(referral, changed).slots:
            found.append(Suggestion(code, label, changed, slots, search_url(changed)))
    found += _other_facilitators(referral, request)
    return sorted(found, key=lambda suggestion: suggestion.slots[0].start)


class _WithFacilitator:
    """The referral as if another facilitator took one's place: for a what-if search only, never saved."""

    def __init__(self, referral: Referral, replaced: uuid.UUID, replacement: uuid.UUID):
        self._referral = referral
        self.lead_facilitator_id = replacement if referral.lead_facilitator_id == replaced \
            else referral.lead_facilitator_id
        self.co_facilitator_id = replacement if referral.co_facilitator_id == replaced else referral.co_facilitator_id

    @property
    def facilitator_ids(self) -> set[uuid.UUID]:
        """The pair with the replacement."""
        return {i for i in (self.lead_facilitator_id, self.co_facilitator_id) if i is not None}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._referral, name)


def _busy_facilitators(referral: Referral, request: SlotRequest) -> list[uuid.UUID]:
    """The assigned facilitators with no free stretch long enough in the days searched."""
    first, last = _window(request)
    pair = [i for i in (referral.lead_facilitator_id, referral.co_facilitator_id) if i is not None]
    candidates = [c for c in roster(referral.case_id) if c.user_id in pair]
    if first >= last or len(pair) < 2 or not candidates:
        return []
    free = facilitator_free_time(candidates, first, last)
    return [c.user_id for c in candidates
            if not any(end - start >= request.duration for start, end in free[c.user_id].intervals)]


def _other_facilitators(referral: Referral, request: SlotRequest, tries: int = 3) -> list[Suggestion]:
    """For an assigned facilitator with no free time: the first eligible colleague with whom the search gives times
    (a coordinator makes the change, on the referral's page)."""
    busy = _busy_facilitators(referral, request)
    if not busy:
        return []
    assigned = referral.facilitator_ids
    others = sorted((c for c in eligible_for(referral, clock.now().date()) if c.user_id not in assigned),
                    key=lambda c: (c.caseload / max(c.cap, 1), str(c.user_id)))[:tries]
    names = users_by_id([*busy, *(c.user_id for c in others)])
    endpoint, anchor, _label = FIXES["facilitator_unavailable"]
    found = []
    for replaced in busy:
        for other in others:
            what_if = cast(Referral, _WithFacilitator(referral, replaced, other.user_id))
            if slots := bookable_slots(what_if, request).slots:
                found.append(Suggestion("other_facilitator", _(
                    "With %(other)s instead of %(name)s (a coordinator assigns facilitators)",
                    other=names[str(other.user_id)].name, name=names[str(replaced)].name), request, slots,
                    url_for(endpoint, referral_id=referral.id, _anchor=anchor)))
                break
    return found


def _minutes(request: SlotRequest) -> int:
    return int(request.duration.total_seconds() // 60)


def _window(request: SlotRequest) -> tuple[datetime, datetime]:
    """The stretch of time the search covers: after the notice, before the horizon, within the days asked for."""
    config, now = current_app.config, clock.now()
    first = now + timedelta(hours=config["SLOT_NOTICE_HOURS"])
    last = now + timedelta(days=config["SLOT_HORIZON_DAYS"])
    if request.start_on:
        first = max(first, datetime.combine(request.start_on, time.min, tzinfo=UTC))
    if request.end_on:
        last = min(last, datetime.combine(request.end_on + timedelta(days=1), time.min, tzinfo=UTC))
    return first, last


def _days_note(refusal: Refusal) -> str:
    if refusal.first is None or refusal.last is None:
        return ""
    if refusal.first == refusal.last:
        return _("(on %(day)s)", day=format_date(refusal.first, "medium"))
    return _("(from %(first)s to %(last)s)", first=format_date(refusal.first, "medium"),
             last=format_date(refusal.last, "medium"))


def _refusal_cause(referral: Referral, request: SlotRequest, refusal: Refusal, search_url: SearchUrl) -> Cause:
    """A refusal of booking or the gate, with the page that puts it right."""
    code = refusal.unmet.code
    message = " ".join(part for part in (_("Not met: %(condition)s", condition=refusal.unmet.message),
                                         _days_note(refusal)) if part)
    if code == "language_unmatched":
        return Cause(code, message, search_url(request.changed(interpreter=True)),
                     _("Tick “An interpreter is booked”"))
    if code in PREPARATION:
        preparation = SlotRequest(PREPARATION[code], SessionFormat.video, timedelta(minutes=60))
        return Cause(code, message, search_url(preparation), _("Find a time for the preparation meeting"))
    if code in FIXES:
        endpoint, anchor, label = FIXES[code]
        return Cause(code, message, url_for(endpoint, referral_id=referral.id, _anchor=anchor), str(label))
    return Cause(code, message)


def _language_cause(referral: Referral, request: SlotRequest, search_url: SearchUrl) -> Cause | None:
    """No facilitator speaks the survivor's language and no interpreter is ticked, when ticking one gives times."""
    if request.interpreter or PartyRole.survivor not in PARTIES_OF.get(request.kind, ()):
        return None
    with_interpreter = request.changed(interpreter=True)
    if not bookable_slots(referral, with_interpreter.changed(limit=1)).slots:
        return None
    language = language_label(referral.require_party(PartyRole.survivor).preferred_language)
    return Cause("language_unmatched", _(
        "No facilitator free at these times speaks the survivor's language (%(language)s), and no interpreter is "
        "booked.", language=language), search_url(with_interpreter), _("Tick “An interpreter is booked”"))


def _facilitator_causes(referral: Referral, request: SlotRequest, first: datetime, last: datetime) -> list[Cause]:
    """Each assigned facilitator with no free stretch long enough in the days searched."""
    busy = _busy_facilitators(referral, request)
    names = users_by_id(busy)
    endpoint, anchor, label = FIXES["facilitator_unavailable"]
    return [Cause("facilitator_unavailable", _(
        "%(name)s has no free %(minutes)d minutes between %(first)s and %(last)s.", name=names[str(user_id)].name,
        minutes=_minutes(request), first=format_date(first, "medium"),
        last=format_date(last - timedelta(seconds=1), "medium")),
        url_for(endpoint, referral_id=referral.id, _anchor=anchor), str(label)) for user_id in busy]


def _venue_causes(referral: Referral, request: SlotRequest) -> list[Cause]:
    """In person: no open venue suits the session, or none is free when the facilitators are."""
    if request.format != SessionFormat.in_person:
        return []
    if not any(venue.suits(request.kind) for venue in db.session.execute(select(Venue)).scalars()):
        return [Cause("venue_unavailable", _("No open venue suits this session (a circle needs separate waiting "
                                              "rooms and room for everyone)."))]
    if bookable_slots(referral, request.changed(format=SessionFormat.video.value, limit=1)).slots:
        return [Cause("venue_unavailable", _("No suitable venue is open and free when the facilitators are."))]
    return []

