"""Times at the edge (docs/README.md habit 10): a local date, start and end without seconds, and the zone's name.

Inside the service every time is aware UTC. A page, a message or a calendar converts it here, to one zone, and
names that zone the way people say it: CLDR's generic long name in the reader's language ("Central European
Time", "hora de Europa central"), never an offset or an abbreviation. One zone per line: a start and an end are
always shown in the same zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_name

_QUOTED = re.compile(r"'([^']*)'")


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The zone of an IANA name; `fallback` for a missing or unknown one."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def zone_label(place: tzinfo, locale: Locale | str) -> str:
    """The zone as people say it in `locale`: "Central European Time", "giờ Trung Âu"; a fixed zone such as UTC has
    no generic name, only its standard one ("Coordinated Universal Time")."""
    key = str(getattr(place, "key", place))
    fixed = key in ("UTC", "GMT", "Zulu", "Universal", "Greenwich", "UCT") or key.startswith("Etc/")
    return get_timezone_name(place, "long", locale=locale, zone_variant="standard" if fixed else None)


@dataclass(frozen=True)
class Span:
    """A start and an end, in words, in one zone: each part already in the reader's language."""

    date: str
    start: str
    end: str
    zone: str
    start_iso: str  # the start with its offset in that zone, for <time datetime=...>


def span(start: datetime, end: datetime, place: tzinfo, locale: Locale | str) -> Span:
    """A session's date, start and end in `place`, without seconds, with the zone's name."""
    local_start, local_end = start.astimezone(place), end.astimezone(place)
    return Span(
        date=format_date(local_start.date(), "full", locale=locale),
        start=format_time(local_start, "short", tzinfo=place, locale=locale),
        end=format_time(local_end, "short", tzinfo=place, locale=locale),
        zone=zone_label(place, locale),
        start_iso=local_start.isoformat(),
    )


def clock_time(moment: datetime, place: tzinfo, locale: Locale | str) -> str:
    """A time of day in `place`, without seconds ("13:40", "1:40 PM")."""
    return format_time(moment.astimezone(place), "short", tzinfo=place, locale=locale)


def date_and_time(moment: datetime, place: tzinfo, locale: Locale | str, style: str = "medium") -> str:
    """A date and a time of day in `place`, without seconds, joined the way the locale joins them."""
    local = moment.astimezone(place)
    parsed = Locale.parse(locale)
    pattern = _QUOTED.sub(r"\1", str(parsed.datetime_formats.get(style, "{1} {0}")))
    return pattern.format(format_time(local, "short", tzinfo=place, locale=parsed),
                          format_date(local.date(), style, locale=parsed))
