"""A party's own calendar file of one appointment (RFC 5545), downloaded from their portal page.

It says as little as possible (docs/design.md rules 5 and 8): a neutral title in the party's language, their own
arrival and leaving time (not the session's, at a staggered meeting), in the zone where they will be, with that
zone's definition (VTIMEZONE) so any calendar shows the right local time; the venue's name, and its address only
when they ticked "include the address". No name, reference or role appears, and the UID is the session's random one.
"""

from __future__ import annotations

from coordinator import clock
from coordinator.party_i18n import _p
from coordinator.sessions.calendar import EVENT_STATUS, PRODID, event_uid
from coordinator.sessions.party_times import PartyView


def party_ics(view: PartyView, place: tuple[str, str | None] | None = None) -> bytes:
    """The appointment as the party's calendar shows it; `place` (address, entrance) only when they asked for it."""
    from icalendar import Calendar, Event  # noqa: PLC0415 -- heavy, rarely used: not at worker start

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", event_uid(view.session))
    event.add("sequence", view.session.sequence)
    event.add("dtstamp", clock.now())
    event.add("dtstart", view.arrives)  # aware, in the venue's (or the party's) zone: written with its TZID
    event.add("dtend", view.leaves)
    event.add("summary", _p("Appointment"))
    location = [view.venue.name] if view.in_person and view.venue is not None else []
    if place is not None:
        address, entrance = place
        location += [address] + ([entrance] if entrance else [])
    if location:
        event.add("location", ", ".join(part for part in location if part))
    event.add("description", _p("Open your private page for the details."))
    event.add("status", EVENT_STATUS.get(view.session.status, "TENTATIVE"))
    event.add("class", "PRIVATE")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
