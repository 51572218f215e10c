"""The facilitator roster (DESIGN.md sections 2 and 4): profiles, weekly availability, conflicts of interest,
and the ranking of who could take a referral. Venues are in `venues.py`, the parties' unavailable times in
`unavailability.py`.

Admins and coordinators manage the roster; a facilitator reads their own entry and keeps their own availability
and conflicts. Another facilitator's entry is outside a facilitator's scope (404, DESIGN.md rule 6).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Role, User
from coordinator.accounts.service import create_user, users_by_id
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.referrals.models import Referral
from coordinator.referrals.schemas import DOCKET
from coordinator.scheduling.availability import Window
from coordinator.scheduling.eligibility import ACTIVE_REFERRALS, eligible_for
from coordinator.scheduling.models import (
    AvailabilityException,
    AvailabilityWindow,
    FacilitatorConflict,
    FacilitatorProfile,
    Training,
    TrainingKind,
)
from coordinator.scheduling.service import set_facilitator_profile
from coordinator.scheduling.slots import facilitator_free_time

MANAGERS = (Role.admin, Role.coordinator)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_CAP = 50
MAX_WINDOWS = 50
MAX_EXCEPTIONS = 366
RANKING_HORIZON = timedelta(days=30)

TRAINING_LABELS = {
    TrainingKind.restorative_practice: _l("Restorative practice"),
    TrainingKind.trauma_informed: _l("Trauma-informed practice"),
    TrainingKind.trafficking_specialist: _l("Trafficking specialist"),
}


def check_fields() -> str:
    """The message every field-error response carries."""
    return _("Check the highlighted fields.")


# Access ------------------------------------------------------------------------------------------------------


def require_manager(actor) -> None:
    """Only admins and coordinators manage the roster."""
    if not actor.has_role(*MANAGERS):
        raise Forbidden(_("Only administrators and coordinators manage the roster."))


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def load_facilitator(actor, user_id) -> User:
    """A facilitator's account: managers any, a facilitator only their own; 404 for anything else."""
    if not actor.has_role(*MANAGERS, Role.facilitator):
        raise Forbidden(_("Your role has no access to the roster."))
    key = _uuid(user_id)
    user = db.session.get(User, key) if key else None
    if user is None or user.role != Role.facilitator:
        raise NotFound(_("Not found."))
    if actor.has_role(Role.facilitator) and actor.id != user.id:
        raise NotFound(_("Not found."))
    return user


# Profiles ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilitatorEntry:
    """What the roster shows of one facilitator."""

    user: User
    languages: tuple[str, ...]
    timezone: str
    cap: int
    caseload: int
    trainings: dict[str, date]

    @property
    def id(self) -> uuid.UUID:
        """The facilitator's id is their user id."""
        return self.user.id

    @property
    def trained_until(self) -> date | None:
        """Until when the trafficking-specialist training a circle needs is valid."""
        return self.trainings.get(TrainingKind.trafficking_specialist)

    def trained_on(self, day: date) -> bool:
        """True when the specialist training is valid on `day`."""
        return self.trained_until is not None and self.trained_until >= day


def caseloads(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many active referrals each facilitator leads or co-facilitates."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, func.count(Referral.id))
        .join(Referral, or_(Referral.lead_facilitator_id == User.id, Referral.co_facilitator_id == User.id))
        .where(User.id.in_(ids), Referral.status.in_(ACTIVE_REFERRALS))
        .group_by(User.id)
    ).all()
    return dict(rows)


def _entries(users: list[User]) -> list[FacilitatorEntry]:
    ids = [user.id for user in users]
    if not ids:
        return []
    profiles = {p.user_id: p for p in db.session.execute(
        select(FacilitatorProfile).where(FacilitatorProfile.user_id.in_(ids))).scalars()}
    trainings: dict[uuid.UUID, dict[str, date]] = {i: {} for i in ids}
    for row in db.session.execute(select(Training).where(Training.user_id.in_(ids))).scalars():
        trainings[row.user_id][row.kind] = row.valid_until
    loads = caseloads(ids)
    entries = []
    for user in users:
        profile = profiles.get(user.id) or FacilitatorProfile(user_id=user.id)
        entries.append(FacilitatorEntry(user, tuple(profile.languages), profile.timezone,
                                        profile.max_active_referrals, loads.get(user.id, 0), trainings[user.id]))
    return entries


def facilitator_entry(user: User) -> FacilitatorEntry:
    """One facilitator's roster entry."""
    return _entries([user])[0]


def list_facilitators(actor) -> list[FacilitatorEntry]:
    """Every facilitator account, active first, by name (managers only)."""
    require_manager(actor)
    users = db.session.execute(select(User).where(User.role == Role.facilitator)).scalars().all()
    entries = _entries(list(users))
    record(actor, "roster.list", details={"shown": len(entries)})
    return sorted(entries, key=lambda e: (not e.user.active, e.user.name.lower(), str(e.user.id)))


def valid_timezone(name) -> bool:
    """True for an IANA time zone zoneinfo knows, such as Europe/Madrid."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _check_profile(fields: dict, *, languages=None, trainings=None, timezone=None,
                   max_active_referrals=None) -> dict:
    """Validate the profile values given (None = not given); returns them cleaned, errors into `fields`."""
    clean: dict = {}
    if languages is not None:
        codes = [str(code).strip().lower() for code in languages]
        if not codes:
            fields["languages"] = [_("Choose at least one language.")]
        elif len(codes) > 20:
            fields["languages"] = [_("Choose at most 20 languages.")]
        for index, code in enumerate(codes):
            if not LANGUAGE_CODE.match(code):
                fields[f"languages.{index}"] = [_("Use a two- or three-letter language code such as es.")]
        clean["languages"] = sorted(set(codes))
    if trainings is not None:
        held: dict[str, date] = {}
        for index, item in enumerate(trainings):
            kind, valid_until = item.get("kind"), item.get("valid_until")
            kind = str(kind) if kind is not None else None
            if kind not in TrainingKind.__members__:
                fields[f"trainings.{index}.kind"] = [_("Choose a training from the list.")]
            elif kind in held:
                fields[f"trainings.{index}.kind"] = [_("This training is listed twice.")]
            if isinstance(valid_until, str):
                try:
                    valid_until = date.fromisoformat(valid_until)
                except ValueError:
                    valid_until = None
            if not isinstance(valid_until, date) or isinstance(valid_until, datetime):
                fields[f"trainings.{index}.valid_until"] = [_("Enter a date as YYYY-MM-DD.")]
            elif kind in TrainingKind.__members__:
                held[kind] = valid_until
        clean["trainings"] = held
    if timezone is not None:
        if not valid_timezone(timezone):
            fields["timezone"] = [_("Enter a time zone such as Europe/Madrid.")]
        clean["timezone"] = timezone
    if max_active_referrals is not None:
        if isinstance(max_active_referrals, bool) or not isinstance(max_active_referrals, int) \
                or not 1 <= max_active_referrals <= MAX_CAP:
            fields["max_active_referrals"] = [_("Enter a whole number from 1 to %(max)d.", max=MAX_CAP)]
        clean["max_active_referrals"] = max_active_referrals
    return clean


@atomic
def create_facilitator(actor, *, email: str, name: str, languages: list[str], trainings: list[Mapping],
                       timezone: str = "UTC", max_active_referrals: int = 6, language: str = "en"
                       ) -> tuple[User, str | None]:
    """Create a facilitator's account and roster entry; returns the user and their generated first password."""
    require_manager(actor)
    fields: dict[str, list[str]] = {}
    clean = _check_profile(fields, languages=languages, trainings=trainings, timezone=timezone,
                           max_active_referrals=max_active_referrals)
    user = password = None
    try:
        # Coordinators keep the roster but do not administer accounts: the service creates this one for them.
        user, password = create_user(actor if actor.has_role(Role.admin) else SYSTEM, email=email,
                                     role=Role.facilitator, name=name, language=language)
    except InvalidRequest as error:
        fields = {**error.details, **fields}
    if fields:
        raise InvalidRequest(check_fields(), fields)
    set_facilitator_profile(actor, user, clean["languages"], clean["trainings"], clean["timezone"],
                            clean["max_active_referrals"])
    record(actor, "roster.facilitator.create", user, details={"trainings": sorted(clean["trainings"])})
    return user, password


@atomic
def update_facilitator(actor, user: User, **changes) -> FacilitatorEntry:
    """Change a facilitator's languages, trainings (the list replaces them), time zone or caseload cap."""
    require_manager(actor)
    unknown = set(changes) - {"languages", "trainings", "timezone", "max_active_referrals"}
    if unknown:
        raise InvalidRequest(check_fields(), {name: [_("This field cannot be changed here.")] for name in unknown})
    fields: dict[str, list[str]] = {}
    clean = _check_profile(fields, **changes)
    if fields:
        raise InvalidRequest(check_fields(), fields)
    entry = facilitator_entry(user)
    trainings = clean.get("trainings", entry.trainings)
    set_facilitator_profile(actor, user, clean.get("languages", list(entry.languages)), trainings,
                            clean.get("timezone", entry.timezone),
                            clean.get("max_active_referrals", entry.cap))
    if "trainings" in clean:
        db.session.execute(delete(Training).where(Training.user_id == user.id,
                                                  Training.kind.not_in(list(trainings) or [""])))
    db.session.flush()
    return facilitator_entry(user)


# Weekly windows: facilitators' availability and venues' opening hours -------------------------------------------


def parse_clock(value) -> time | None:
    """A "HH:MM" text (or a time) as a time of day; None when it is neither."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and CLOCK_TIME.match(value.strip()):
        return time.fromisoformat(value.strip())
    return None


def check_week(entries: list[Mapping], path: str, fields: dict[str, list[str]]) -> list[Window]:
    """Weekly windows from `{"weekday", "start", "end"}` entries; errors go to `fields` under `path.N.*`."""
    if len(entries) > MAX_WINDOWS:
        fields[path] = [_("Enter at most %(max)d time windows.", max=MAX_WINDOWS)]
        return []
    checked: list[tuple[int, Window]] = []
    for index, entry in enumerate(entries):
        here = f"{path}.{index}"
        weekday = entry.get("weekday")
        start, end = parse_clock(entry.get("start")), parse_clock(entry.get("end"))
        ok = True
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            fields[f"{here}.weekday"] = [_("Choose a day from 0 (Monday) to 6 (Sunday).")]
            ok = False
        for name, value in (("start", start), ("end", end)):
            if value is None:
                fields[f"{here}.{name}"] = [_("Enter a time as HH:MM, for example 09:30.")]
                ok = False
        if start is not None and end is not None and start >= end:
            fields[f"{here}.end"] = [_("The end must be later than the start.")]
            ok = False
        if ok:
            checked.append((index, Window(weekday, start, end)))
    latest: dict[int, time] = {}
    for index, window in sorted(checked, key=lambda item: (item[1].weekday, item[1].start, item[1].end)):
        if window.weekday in latest and window.start < latest[window.weekday]:
            fields.setdefault(f"{path}.{index}.start", []).append(
                _("This time overlaps another window on the same day."))
        latest[window.weekday] = max(latest.get(window.weekday, window.end), window.end)
    return sorted((window for _index, window in checked), key=lambda w: (w.weekday, w.start))


def week_json(windows: Iterable[Window]) -> list[dict]:
    """Weekly windows as `{"weekday", "start": "HH:MM", "end": "HH:MM"}`, in order."""
    return [{"weekday": w.weekday, "start": w.start.strftime("%H:%M"), "end": w.end.strftime("%H:%M")}
            for w in sorted(windows, key=lambda w: (w.weekday, w.start))]


# Availability ------------------------------------------------------------------------------------------------


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


def _require_self_or_manager(actor, user: User) -> None:
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


def _check_exceptions(entries: list[Mapping], fields: dict[str, list[str]]) -> list[tuple[date, bool]]:
    if len(entries) > MAX_EXCEPTIONS:
        fields["exceptions"] = [_("Enter at most %(max)d dates.", max=MAX_EXCEPTIONS)]
        return []
    days: dict[date, bool] = {}
    for index, entry in enumerate(entries):
        day, unavailable = entry.get("date"), entry.get("unavailable", True)
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date) or isinstance(day, datetime):
            fields[f"exceptions.{index}.date"] = [_("Enter a date as YYYY-MM-DD.")]
        elif day in days:
            fields[f"exceptions.{index}.date"] = [_("This date is listed twice.")]
        elif not isinstance(unavailable, bool):
            fields[f"exceptions.{index}.unavailable"] = [_("Say true or false.")]
        else:
            days[day] = unavailable
    return sorted(days.items())


@atomic
def set_availability(actor, user: User, weekly: list[Mapping], exceptions: list[Mapping]) -> Availability:
    """Replace a facilitator's weekly windows and dated exceptions (their own, or anyone's for managers)."""
    _require_self_or_manager(actor, user)
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


def add_unavailable_date(actor, user: User, day: date | None) -> Availability:
    """Mark one more date unavailable, keeping the rest."""
    current = availability_of(user)
    if day is None:
        raise InvalidRequest(check_fields(), {"date": [_("Enter a date as YYYY-MM-DD.")]})
    kept = [(d, u) for d, u in current.exceptions if d != day] + [(day, True)]
    return set_availability(actor, user, week_json(current.weekly),
                            [{"date": d, "unavailable": u} for d, u in kept])


def remove_exception(actor, user: User, day: date) -> Availability:
    """Forget one dated exception, keeping the rest."""
    current = availability_of(user)
    return set_availability(actor, user, week_json(current.weekly),
                            [{"date": d, "unavailable": u} for d, u in current.exceptions if d != day])


# Conflicts of interest -----------------------------------------------------------------------------------------


def conflicts_of(actor, user: User) -> list[FacilitatorConflict]:
    """The conflicts a facilitator declared, newest first."""
    _require_self_or_manager(actor, user)
    return list(db.session.execute(
        select(FacilitatorConflict).where(FacilitatorConflict.user_id == user.id)
        .order_by(FacilitatorConflict.declared_at.desc())
    ).scalars())


@atomic
def declare_conflict(actor, user: User, docket_number: str) -> FacilitatorConflict:
    """Declare a conflict with any case of this docket number, known now or referred later."""
    _require_self_or_manager(actor, user)
    docket = (docket_number or "").strip().upper()  # as intake stores it, so the two always compare equal
    if not docket or len(docket) > 64 or not DOCKET.match(docket):
        raise InvalidRequest(check_fields(), {"docket_number": [_("Enter the case's docket number: letters, digits, "
                                                                  "spaces and . / : _ - only.")]})
    if db.session.execute(select(FacilitatorConflict.id).where(
            FacilitatorConflict.user_id == user.id, FacilitatorConflict.docket_number == docket)).first():
        raise InvalidRequest(check_fields(), {"docket_number": [_("This conflict is already declared.")]})
    conflict = FacilitatorConflict(user_id=user.id, docket_number=docket, declared_at=clock.now())
    db.session.add(conflict)
    db.session.flush()
    record(actor, "roster.conflict.declare", conflict, details={"user": str(user.id)})
    return conflict


def load_conflict(actor, user: User, conflict_id) -> FacilitatorConflict:
    """One of a facilitator's conflicts; 404 otherwise."""
    _require_self_or_manager(actor, user)
    key = _uuid(conflict_id)
    conflict = db.session.get(FacilitatorConflict, key) if key else None
    if conflict is None or conflict.user_id != user.id:
        raise NotFound(_("Not found."))
    return conflict


@atomic
def remove_conflict(actor, conflict: FacilitatorConflict) -> None:
    """Withdraw a declared conflict."""
    record(actor, "roster.conflict.remove", conflict, details={"user": str(conflict.user_id)})
    db.session.delete(conflict)
    db.session.flush()


# Assignment ranking ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """An eligible facilitator for a referral, with the reasons for their place in the ranking."""

    user_id: uuid.UUID
    name: str
    speaks_language: bool
    caseload: int
    cap: int
    free: timedelta

    @property
    def caseload_label(self) -> str:
        """Caseload as "n/cap"."""
        return f"{self.caseload}/{self.cap}"

    @property
    def free_hours(self) -> float:
        """Free hours in the ranking horizon, to one decimal."""
        return round(self.free.total_seconds() / 3600, 1)


def rank_facilitators(referral: Referral, now: datetime | None = None) -> list[Suggestion]:
    """Eligible facilitators, best first: speaks the survivor's language, lower caseload ratio, more free time
    over the next 30 days. Those without any free time in that period are left out."""
    now = now or clock.now()
    candidates = eligible_for(referral, now.date())
    if not candidates:
        return []
    free = facilitator_free_time(candidates, now, now + RANKING_HORIZON)
    names = users_by_id(c.user_id for c in candidates)
    language = referral.survivor.preferred_language if referral.survivor else None
    suggestions = [Suggestion(c.user_id, names[str(c.user_id)].name, bool(language) and c.speaks(language),
                              c.caseload, c.cap, free[c.user_id].total())
                   for c in candidates if free[c.user_id].total() > timedelta(0)]
    return sorted(suggestions, key=lambda s: (not s.speaks_language, s.caseload / max(s.cap, 1), -s.free,
                                              s.name.lower(), str(s.user_id)))


def require_coordinator(actor) -> None:
    """Only coordinators assign facilitators, so only they see the ranking."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators assign facilitators."))


def suggestions_for(actor, referral: Referral) -> list[Suggestion]:
    """The ranking, for the coordinators who assign facilitators."""
    require_coordinator(actor)
    return rank_facilitators(referral)
