"""The facilitator roster (docs/design.md sections 2 and 4): who may manage it, and facilitators' profiles (languages,
trainings, time zone, caseload cap). Availability, conflicts, venues and ranking have their own modules.

Admins and coordinators manage the roster; a facilitator reads their own entry and keeps their own availability
and conflicts. Another facilitator's entry is outside a facilitator's scope (404, docs/design.md rule 6).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from config import is_canonical_timezone
from coordinator.accounts.models import SYSTEM, Actor, Role, User
from coordinator.accounts.service import create_user
from coordinator.audit.service import record
from coordinator.db import atomic, db
from coordinator.errors import Forbidden, InvalidRequest, NotFound
from coordinator.inputs import day_or_none
from coordinator.roster.caseload import override_reasons
from coordinator.roster.eligibility import caseloads
from coordinator.roster.models import (
    FacilitatorProfile,
    Training,
    TrainingKind,
)

MANAGERS = (Role.admin, Role.coordinator)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
MAX_CAP = 50

TRAINING_LABELS = {
    TrainingKind.restorative_practice: _l("Restorative practice"),
    TrainingKind.trauma_informed: _l("Trauma-informed practice"),
    TrainingKind.trafficking_specialist: _l("Trafficking specialist"),
}


def check_fields() -> str:
    """The message every field-error response carries."""
    return _("Check the highlighted fields.")


def require_manager(actor: Actor) -> None:
    """Only admins and coordinators manage the roster."""
    if not actor.has_role(*MANAGERS):
        raise Forbidden(_("Only administrators and coordinators manage the roster."))


def as_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def load_facilitator(actor: Actor, user_id: uuid.UUID | str) -> User:
    """A facilitator's account: managers any, a facilitator only their own; 404 for anything else."""
    if not actor.has_role(*MANAGERS, Role.facilitator):
        raise Forbidden(_("Your role has no access to the roster."))
    key = as_uuid(user_id)
    user = db.session.get(User, key) if key else None
    if user is None or user.role != Role.facilitator:
        raise NotFound(_("Not found."))
    if actor.has_role(Role.facilitator) and actor.id != user.id:
        raise NotFound(_("Not found."))
    return user


@dataclass(frozen=True)
class FacilitatorEntry:
    """What the roster shows of one facilitator."""

    user: User
    languages: tuple[str, ...]
    timezone: str
    cap: int
    caseload: int
    trainings: dict[str, date]
    overrides: tuple[str, ...] = ()  # reasons given for assignments over the cap that still hold

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
    reasons = override_reasons(ids)
    entries = []
    for user in users:
        profile = profiles.get(user.id) or FacilitatorProfile(user_id=user.id)
        entries.append(FacilitatorEntry(user, tuple(profile.languages), profile.timezone,
                                        profile.max_active_referrals, loads.get(user.id, 0), trainings[user.id],
                                        tuple(reasons.get(user.id, ()))))
    return entries


def facilitator_entry(user: User) -> FacilitatorEntry:
    """One facilitator's roster entry."""
    return _entries([user])[0]


def list_facilitators(actor: Actor) -> list[FacilitatorEntry]:
    """Every facilitator account, active first, by name (managers only)."""
    require_manager(actor)
    users = db.session.execute(select(User).where(User.role == Role.facilitator)).scalars().all()
    entries = _entries(list(users))
    record(actor, "roster.list", details={"shown": len(entries)})
    return sorted(entries, key=lambda e: (not e.user.active, (e.user.name or "").lower(), str(e.user.id)))


def valid_timezone(name: object) -> bool:
    """True for a canonical IANA time zone such as Europe/Madrid (config.py `canonical_timezones()`)."""
    return is_canonical_timezone(name)


def _check_profile(fields: dict[str, list[str]], *, languages: Iterable[object] | None = None,
                   trainings: Iterable[Mapping[str, object]] | None = None, timezone: object = None,
                   max_active_referrals: object = None) -> dict[str, Any]:
    """Validate the profile values given (None = not given); returns them cleaned, errors into `fields`."""
    clean: dict[str, Any] = {}
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
            valid_until = day_or_none(valid_until)
            if valid_until is None:
                fields[f"trainings.{index}.valid_until"] = [_("Enter a date as YYYY-MM-DD.")]
            elif kind is not None and kind in TrainingKind.__members__:
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


def set_facilitator_profile(actor: Actor, user: User, languages: list[str], trainings: dict[str, date],
                            timezone: str = "UTC", max_active_referrals: int = 6) -> FacilitatorProfile:
    """Create or replace a facilitator's roster entry (the roster pages and API build on this)."""
    profile = db.session.get(FacilitatorProfile, user.id) or FacilitatorProfile(user_id=user.id)
    profile.languages = sorted(set(languages))
    profile.timezone = timezone
    profile.max_active_referrals = max_active_referrals
    db.session.add(profile)
    existing = {t.kind: t for t in db.session.execute(select(Training).where(Training.user_id == user.id)).scalars()}
    for kind, valid_until in trainings.items():
        training = existing.get(kind) or Training(user_id=user.id, kind=kind, valid_until=valid_until)
        training.valid_until = valid_until
        db.session.add(training)
    db.session.flush()
    record(actor, "roster.profile", user, details={"languages": profile.languages, "trainings": sorted(trainings)})
    return profile


@atomic
def create_facilitator(actor: Actor, *, email: str, name: str, languages: list[str],
                       trainings: Sequence[Mapping[str, object]],
                       timezone: str = "UTC", max_active_referrals: int = 6, language: str = "en"
                       ) -> tuple[User, str | None]:
    """Create a facilitator's account and roster entry; returns the user and their generated first password."""
    require_manager(actor)
    fields: dict[str, list[str]] = {}
    clean = _check_profile(fields, languages=languages, trainings=trainings, timezone=timezone,
                           max_active_referrals=max_active_referrals)
    created = None
    try:
        # Coordinators keep the roster but do not administer accounts: the service creates this one for them.
        created = create_user(actor if actor.has_role(Role.admin) else SYSTEM, email=email, role=Role.facilitator,
                              name=name, language=language)
    except InvalidRequest as error:
        fields = {**error.details, **fields}
    if fields or created is None:
        raise InvalidRequest(check_fields(), fields)
    user, password = created
    set_facilitator_profile(actor, user, clean["languages"], clean["trainings"], clean["timezone"],
                            clean["max_active_referrals"])
    record(actor, "roster.facilitator.create", user, details={"trainings": sorted(clean["trainings"])})
    return user, password


@atomic
def update_facilitator(actor: Actor, user: User, **changes: Any) -> FacilitatorEntry:
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


