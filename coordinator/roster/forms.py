"""Forms of the roster pages: facilitator profiles, venues, conflicts, the parties' unavailable times, and the
week grid (rows of days with time windows as plain inputs, no JavaScript) used for availability and opening hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from coordinator.errors import InvalidRequest
from coordinator.i18n import language_label
from coordinator.inputs import DayField, LocalMomentField
from coordinator.pages import select_options
from coordinator.referrals.forms import PARTY_LANGUAGES
from coordinator.referrals.models import PARTY_LABELS, PartyRole
from coordinator.roster.models import TrainingKind
from coordinator.roster.profiles import MAX_CAP, valid_timezone

MAX_SLOTS = 6
MIN_SLOTS = 2
TIMEZONE_HINT = _l("An IANA time zone, for example Europe/Madrid.")


class ProfileForm(FlaskForm):
    """Languages, trainings, time zone and caseload cap of a facilitator."""

    languages = SelectMultipleField(_l("Languages they work in"), option_widget=CheckboxInput(),
                                    widget=ListWidget(prefix_label=False))
    training_restorative_practice = DayField(_l("Restorative practice: valid until"), validators=[Optional()])
    training_trauma_informed = DayField(_l("Trauma-informed practice: valid until"), validators=[Optional()])
    training_trafficking_specialist = DayField(_l("Trafficking specialist: valid until"), validators=[Optional()],
                                                description=_l("Both facilitators of a circle need this one."))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)], description=TIMEZONE_HINT,
                           render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"})
    max_active_referrals = IntegerField(_l("Most active referrals at once"),
                                        validators=[InputRequired(), NumberRange(min=1, max=MAX_CAP)])

    def offer_languages(self, held=()) -> ProfileForm:
        """The languages to tick: those parties are referred in, and any the facilitator already has."""
        codes = list(PARTY_LANGUAGES) + sorted(set(held) - set(PARTY_LANGUAGES))
        self.languages.choices = select_options((code, language_label(code)) for code in codes)
        return self

    def fill(self, entry) -> ProfileForm:
        """Show a stored roster entry."""
        self.languages.data = list(entry.languages)
        self.timezone.data = entry.timezone
        self.max_active_referrals.data = entry.cap
        for kind in TrainingKind:
            self[f"training_{kind.value}"].data = entry.trainings.get(kind.value)
        return self

    def trainings(self) -> list[dict]:
        """The trainings given, as the service takes them."""
        return [{"kind": kind.value, "valid_until": self[f"training_{kind.value}"].data}
                for kind in TrainingKind if self[f"training_{kind.value}"].data]

    def show_errors(self, error: InvalidRequest) -> None:
        """The service's field errors on this form's fields."""
        for path, messages in (error.details or {}).items():
            name = path.split(".")[0]
            target = self._fields.get(name)
            if target is not None and name != "trainings":
                target.errors = [*target.errors, *messages]
            else:
                self.form_errors.extend(messages)
        if not error.details:
            self.form_errors.append(error.message)


class FacilitatorForm(ProfileForm):
    """A new facilitator: their account and roster entry."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])


class VenueForm(FlaskForm):
    """A venue; its opening hours are the week grid beside it."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    address = TextAreaField(_l("Address (encrypted)"), validators=[Optional(), Length(max=500)],
                            description=_l("Only administrators and coordinators ever see it."))
    entrance = StringField(_l("Entrance the parties use (encrypted)"), validators=[Optional(), Length(max=300)],
                           description=_l("For example: side door on the left, ring the bell marked Rooms. "
                                          "A party sees it only with the address, on their own page."))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)], description=TIMEZONE_HINT,
                           render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"})
    capacity = IntegerField(_l("Capacity (people)"), validators=[InputRequired(), NumberRange(min=1, max=500)])
    separate_waiting_rooms = BooleanField(_l("Separate waiting rooms"),
                                          description=_l("A circle needs them, so the parties never wait together."))
    accessible = BooleanField(_l("Step-free access"))

    def values(self) -> dict:
        """What the service takes, besides the opening hours."""
        values = {name: self[name].data for name in ("name", "timezone", "capacity", "separate_waiting_rooms",
                                                     "accessible")}
        values["entrance"] = self.entrance.data or ""
        if self.address.data and self.address.data.strip():
            values["address"] = self.address.data
        return values


class ConflictForm(FlaskForm):
    """A conflict of interest, named by the case's docket number."""

    docket_number = StringField(_l("Docket number of the case"), validators=[DataRequired(), Length(max=64)])


class ExceptionForm(FlaskForm):
    """A date the facilitator is not available."""

    date = DayField(_l("Date"), validators=[DataRequired()])


class UnavailabilityForm(FlaskForm):
    """A time a party cannot attend, in a chosen time zone."""

    party = SelectField(_l("Who"), choices=select_options((role.value, PARTY_LABELS[role]) for role in PartyRole))
    start = LocalMomentField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = LocalMomentField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    timezone = StringField(_l("Time zone of these times"), validators=[DataRequired(), Length(max=64)],
                           description=TIMEZONE_HINT,
                           render_kw={"list": "timezones", "autocomplete": "off", "spellcheck": "false"})

    def moments(self) -> tuple[datetime | None, datetime | None]:
        """The two times as aware UTC, read in the form's time zone."""
        if not valid_timezone(self.timezone.data):
            self.timezone.errors = [*self.timezone.errors, _l("Enter a time zone such as Europe/Madrid.")]
            return None, None
        zone = ZoneInfo(self.timezone.data)
        start, end = (value.replace(tzinfo=zone).astimezone(UTC) if value else None
                      for value in (self.start.data, self.end.data))
        return start, end


# The week grid ---------------------------------------------------------------------------------------------------


@dataclass
class GridCell:
    """One time window of one day, as shown and as typed."""

    slot: int
    start: str = ""
    end: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class GridDay:
    """One row of the grid: a day and its windows."""

    weekday: int
    label: str
    cells: list[GridCell]


@dataclass
class WeekGrid:
    """Monday to Sunday, each with its windows; `entries[i]` is shown in cell `positions[i]`."""

    prefix: str
    days: list[GridDay]
    entries: list[dict] = field(default_factory=list)
    positions: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, prefix: str, windows: list[dict]) -> WeekGrid:
        """A grid showing stored windows (`{"weekday", "start", "end"}`), with empty cells to add more."""
        by_day: dict[int, list[dict]] = {day: [] for day in range(7)}
        for window in windows:
            by_day[int(window["weekday"])].append(window)
        days = []
        for weekday, label in _day_names():
            stored = by_day[weekday][:MAX_SLOTS]
            cells = [GridCell(slot, w["start"], w["end"]) for slot, w in enumerate(stored)]
            while len(cells) < min(max(len(stored) + 1, MIN_SLOTS), MAX_SLOTS):
                cells.append(GridCell(len(cells)))
            days.append(GridDay(weekday, label, cells))
        return cls(prefix, days)

    @classmethod
    def read(cls, prefix: str, formdata) -> WeekGrid:
        """The grid as submitted; filled cells become entries, half-filled ones too (so they are refused)."""
        grid = cls(prefix, [])
        for weekday, label in _day_names():
            cells = []
            for slot in range(MAX_SLOTS):
                start = (formdata.get(f"{prefix}-{weekday}-{slot}-start") or "").strip()
                end = (formdata.get(f"{prefix}-{weekday}-{slot}-end") or "").strip()
                if f"{prefix}-{weekday}-{slot}-start" not in formdata and slot >= MIN_SLOTS:
                    continue
                cells.append(GridCell(slot, start, end))
                if start or end:
                    grid.entries.append({"weekday": weekday, "start": start, "end": end})
                    grid.positions.append((weekday, slot))
            if all(cell.start or cell.end for cell in cells) and len(cells) < MAX_SLOTS:
                cells.append(GridCell(cells[-1].slot + 1 if cells else 0))
            grid.days.append(GridDay(weekday, label, cells))
        return grid

    def show_errors(self, error: InvalidRequest, path: str) -> None:
        """Put the service's `path.N.*` errors on the cells they are about; the rest above the grid."""
        cells = {(day.weekday, cell.slot): cell for day in self.days for cell in day.cells}
        for key, messages in (error.details or {}).items():
            parts = key.split(".")
            if parts[0] == path and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(self.positions):
                cells[self.positions[int(parts[1])]].errors.extend(messages)
            elif parts[0] == path:
                self.errors.extend(messages)


def _day_names() -> list[tuple[int, str]]:
    names = get_day_names("wide", locale=str(get_locale()))
    return [(day, names[day].capitalize()) for day in range(7)]
