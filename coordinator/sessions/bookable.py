"""What "Find a time" offers: only the times booking would accept (docs/api.md "Scheduling").

`find_slots()` knows when people and places are free. Booking also asks the parties' consent and, for a circle, the
readiness gate on the circle's date. This wrapper asks the same questions through booking's own check
(`booking.check_parties()`) and the gate (`readiness.unmet_by_day()`), and searches only the days that pass, so the
list never offers a time that booking would refuse. The search itself stays a black box.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app

from coordinator import clock
from coordinator.errors import Conflict, GateFailed
from coordinator.gates import Unmet
from coordinator.referrals.models import Referral
from coordinator.safety.readiness import CONDITIONS, CirclePlan, unmet_by_day
from coordinator.sessions.booking import check_parties
from coordinator.sessions.models import SessionKind
from coordinator.sessions.search import Slot, find_slots


@dataclass(frozen=True)
class SlotRequest:
    """What a person asks "Find a time" for."""

    kind: str
    format: str
    duration: timedelta
    start_on: date | None = None
    end_on: date | None = None
    limit: int = 10
    interpreter: bool = False

    def changed(self, **changes: object) -> SlotRequest:
        """The same request with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Refusal:
    """A reason booking would refuse, and the days of the range it holds on (None: every day)."""

    unmet: Unmet
    first: date | None = None
    last: date | None = None


@dataclass
class Offer:
    """The times booking would accept, and booking's refusals on the days it ruled out."""

    slots: list[Slot]
    refusals: list[Refusal] = field(default_factory=list)
    open_days: int = 0


def range_days(request: SlotRequest) -> list[date]:
    """Every day the search may cover: the range asked for, within today and the horizon (a superset is harmless:
    find_slots applies the notice and the horizon itself)."""
    today = clock.now().date()
    first = max(request.start_on or today, today)
    last = min(request.end_on or date.max, today + timedelta(days=current_app.config["SLOT_HORIZON_DAYS"]))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _refusals(error: GateFailed | Conflict) -> list[Unmet]:
    """Booking's refusal as unmet conditions."""
    if isinstance(error.details, list):
        return [Unmet(item["code"], item["message"]) for item in error.details]
    code = error.details.get("code", "refused") if isinstance(error.details, dict) else "refused"
    return [Unmet(code, error.message)]


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days joined into (first, last) runs."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _circle_days(referral: Referral, request: SlotRequest, days: list[date]) -> tuple[list[date], list[Refusal]]:
    """The days the readiness gate lets a circle in this format be booked, and what it says on the others."""
    by_day = unmet_by_day(CirclePlan(referral, request.format, days[0], interpreter=request.interpreter), days)
    spans: dict[str, list[date]] = {}
    messages: dict[str, str] = {}
    for day, unmet in by_day.items():
        for item in unmet:
            spans.setdefault(item.code, []).append(day)
            messages[item.code] = item.message
    every_day = len(days)
    refusals = [Refusal(Unmet(code, messages[code]), *((None, None) if len(spans[code]) == every_day
                                                       else (spans[code][0], spans[code][-1])))
                for code in CONDITIONS if code in spans]
    return [day for day in days if not by_day[day]], refusals


def bookable_slots(referral: Referral, request: SlotRequest) -> Offer:
    """The first times booking would accept, earliest first, with what ruled the other days out."""
    days = range_days(request)
    if not days:
        return Offer([])
    if request.kind == SessionKind.circle:
        open_days, refusals = _circle_days(referral, request, days)
    else:
        try:  # consent and the referral's state do not depend on the day
            check_parties(referral, request.kind, request.format, datetime.combine(days[0], time(12), tzinfo=UTC),
                          None, request.interpreter)
        except (GateFailed, Conflict) as error:
            return Offer([], [Refusal(unmet) for unmet in _refusals(error)])
        open_days, refusals = days, []
    slots: list[Slot] = []
    for first, last in _runs(open_days):
        if len(slots) >= request.limit:
            break
        slots += find_slots(referral, request.kind, request.format, request.duration, first, last,
                            request.limit - len(slots), request.interpreter)
    return Offer(slots, refusals, len(open_days))
