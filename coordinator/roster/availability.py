"""A facilitator's weekly availability (in their own time zone) and dated exceptions; venues' opening hours use
the same weekly windows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time

from flask_babel import gettext as _
from sqlalchemy import delete, select

from coordinator.accounts.models import Actor, Role, User
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.inputs import day_or_none
from coordinator.roster.intervals import Window
from coordinator.roster.models import (
    AvailabilityException,
    AvailabilityWindow,
    FacilitatorProfile,
)
from coordinator.roster.profiles import MANAGERS, check_fields

CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_WINDOWS = 50
MAX_EXCEPTIONS = 366

def parse_weekday(value: object) -> int | None:
    """A day of the week from 0 (Monday) to 6 (Sunday); None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        return None
    return value


def parse_clock(value: object) -> time | None:
    """A "HH:MM" text (or a time) as a time of day; None when it is neither."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and CLOCK_TIME.match(value.strip()):
        return time.fromisoformat(value.strip())
    return None


def check_week(entries: Sequence[Mapping[str, object]], path: str, fields: dict[str, list[str]]) -> list[Window]:
    """Weekly windows from `{"weekday", "start", "end"}` entries; errors go to `fields` under `path.N.*`."""
    if len(entries) > MAX_WINDOWS:
        fields[path] = [_("Enter at most %(max)d time windows.", max=MAX_WINDOWS)]
        return []
    checked: list[tuple[int, Window]] = []
    for index, entry in enumerate(entries):
        here = f"{path}.{index}"
        weekday = parse_weekday(entry.get("weekday"))
        start, end = parse_clock(entry.get("start")), parse_clock(entry.get("end"))
        if weekday is None:
            fields[f"{here}.weekday"] = [_("Choose a day from 0 (Monday) to 6 (Sunday).")]
        for name, value in (("start", start), ("end", end)):
            if value is None:
                fields[f"{here}.{name}"] = [_("Enter a time as HH:MM, for example 09:30.")]
        if start is not None and end is not None and start >= end:
            fields[f"{here}.end"] = [_("The end must be later than the start.")]
        elif weekday is not None and start is not None and end is not None:
            checked.append((index, Window(weekday, start, end)))
    latest: dict[int, time] = {}
    for index, window in sorted(checked, key=lambda item: (item[1].weekday, item[1].start, item[1].end)):
        if window.weekday in latest and window.start < latest[window.weekday]:
            fields.setdefault(f"{path}.{index}.start", []).append(
                _("This time overlaps another window on the same day."))
        latest[window.weekday] = max(latest.get(window.weekday, window.end), window.end)
    return sorted((window for _index, window in checked), key=lambda w: (w.weekday, w.start))


def week_json(windows: Iterable[Window]) -> list[dict[str, object]]:
    """Weekly windows as `{"weekday", "start": "HH:MM", "end": "HH:MM"}`, in order."""
    return [{"weekday": w.weekday, "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")}
            for w in sorted(windows, key=lambda w: (w.weekday, w.start))]


@dataclass(frozen=True)
class Availability:
    """A facilitator's weekly windows (local time) and dated exceptions."""

    timezone: str
    weekly: list[Window]
    exceptions: list[tuple[date, bool]]

    @property
    def unavailable_dates(self) -> list[date]:
        """The dates marked unavailable."""
        return [day for day, unavailable in self.exceptions if unavailable]


def require_self_or_manager(actor: Actor, user: User) -> None:
    """A facilitator manages their own availability; admins and coordinators anyone's."""
    if actor.has_role(*MANAGERS) or (actor.has_role(Role.facilitator) and actor.id == user.id):
        return
    if actor.has_role(Role.facilitator):
        raise NotFound(_("Not found."))
    raise Forbidden(_("Your role has no access to the roster."))


def availability_of(user: User) -> Availability:
    """The stored availability of a facilitator."""
    profile = db.session.get(FacilitatorProfile, user.id)
    windows = db.session.execute(select(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id)).scalars()
    exceptions = db.session.execute(
        select(AvailabilityException).where(AvailabilityException.user_id == user.id)
        .order_by(AvailabilityException.on_date)).scalars()
    return Availability(profile.timezone if profile else "UTC",
                        sorted((Window(w.weekday, w.start_time, w.end_time) for w in windows),
                               key=lambda w: (w.weekday, w.start)),
                        [(e.on_date, e.unavailable) for e in exceptions])


def _check_exceptions(entries: Sequence[Mapping[str, object]], fields: dict[str, list[str]]) -> list[tuple[date, bool]]:
    if len(entries) > MAX_EXCEPTIONS:
        fields["exceptions"] = [_("Enter at most %(max)d dates.", max=MAX_EXCEPTIONS)]
        return []
    days: dict[date, bool] = {}
    for index, entry in enumerate(entries):
        day, unavailable = entry.get("date"), entry.get("unavailable", True)
        day = day_or_none(day)
        if day is None:
            fields[f"exceptions.{index}.date"] = [_("Enter a date as YYYY-MM-DD.")]
        elif day in days:
            fields[f"exceptions.{index}.date"] = [_("This date is listed twice.")]
        elif not isinstance(unavailable, bool):
            fields[f"exceptions.{index}.unavailable"] = [_("Say true or false.")]
        else:
            days[day] = unavailable
    return sorted(days.items())


@atomic
def set_availability(actor: Actor, user: User, weekly: Sequence[Mapping[str, object]],
                     exceptions: Sequence[Mapping[str, object]]) -> Availability:
    """Replace a facilitator's weekly windows and dated exceptions (their own, or anyone's for managers)."""
    require_self_or_manager(actor, user)
    fields: dict[str, list[str]] = {}
    windows = check_week(list(weekly), "weekly", fields)
    days = _check_exceptions(list(exceptions), fields)
    if fields:
        raise InvalidRequest(check_fields(), fields)
    db.session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id))
    db.session.execute(delete(AvailabilityException).where(AvailabilityException.user_id == user.id))
    for window in windows:
        db.session.add(AvailabilityWindow(user_id=user.id, weekday=window.weekday, start_time=window.start,
                                          end_time=window.end))
    for day, unavailable in days:
        db.session.add(AvailabilityException(user_id=user.id, on_date=day, unavailable=unavailable))
    db.session.flush()
    record(actor, "roster.availability", user, details={"windows": len(windows), "exceptions": len(days)})
    return availability_of(user)


def add_unavailable_date(actor: Actor, user: User, day: date | None) -> Availability:
    """Mark one more date unavailable, keeping the rest."""
    current = availability_of(user)
    if day is None:
        raise InvalidRequest(check_fields(), {"date": [_("Enter a date as YYYY-MM-DD.")]})
    kept = [(d, u) for d, u in current.exceptions if d != day] + [(day, True)]
    return set_availability(actor, user, week_json(current.weekly),
                            [{"date": d, "unavailable": u} for d, u in kept])


def remove_exception(actor: Actor, user: User, day: date) -> Availability:
    """Forget one dated exception, keeping the rest."""
    current = availability_of(user)
    return set_availability(actor, user, week_json(current.weekly),
                            [{"date": d, "unavailable": u} for d, u in current.exceptions if d != day])


