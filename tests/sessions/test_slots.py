"""Slot search: local times across daylight-saving changes, notice and horizon, buffers, venues, pairs, parties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from coordinator import clock
from coordinator.db import db
from coordinator.referrals.models import Referral
from coordinator.roster.models import AvailabilityException, Training
from coordinator.sessions.models import PartyUnavailability
from coordinator.sessions.search import find_slots
from tests.sessions.helpers import available, bookable, in_days, make_venue


def set_now(app, moment: datetime) -> None:
    """Move the service clock."""
    with app.app_context():
        clock.set_clock(moment)
        db.session.commit()


def search(app, case, kind="pre_conference_survivor", fmt="video", minutes=60, start_on=None, end_on=None,
           limit=10, **extra):
    """find_slots in an app context."""
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        return find_slots(referral, kind, fmt, timedelta(minutes=minutes), start_on, end_on, limit, **extra)


def local(slot_start: datetime, zone: str) -> datetime:
    """A slot's start in a time zone."""
    return slot_start.astimezone(ZoneInfo(zone))


def test_madrid_mornings_stay_at_nine_across_the_spring_change(app, factory):
    """09:00-12:00 Madrid time: 08:00 UTC before 28 March 2027, 07:00 UTC after; always 09:00 local."""
    set_now(app, datetime(2027, 3, 20, 12, tzinfo=UTC))
    case = bookable(app, factory, status="screening")
    for user in (case.lead, case.co):
        available(app, user, timezone="Europe/Madrid", start=time(9), end=time(12))
    found = search(app, case, start_on=date(2027, 3, 26), end_on=date(2027, 3, 30),
                   limit=50)
    days = {}
    for slot in found:
        days.setdefault(local(slot.start, "Europe/Madrid").date(), []).append(slot)
    assert sorted(days) == [date(2027, 3, d) for d in (26, 27, 28, 29, 30)]
    for day, slots in days.items():
        first = slots[0]
        assert local(first.start, "Europe/Madrid").time() == time(9), day
        assert local(slots[-1].end, "Europe/Madrid").time() == time(12), day
    assert days[date(2027, 3, 26)][0].start.hour == 8  # UTC+1
    assert days[date(2027, 3, 29)][0].start.hour == 7  # UTC+2


def test_new_york_afternoons_stay_at_two_across_the_autumn_change(app, factory):
    """14:00-16:00 New York time: 18:00 UTC before 7 November 2027, 19:00 UTC after."""
    set_now(app, datetime(2027, 10, 28, 12, tzinfo=UTC))
    case = bookable(app, factory, status="screening")
    for user in (case.lead, case.co):
        available(app, user, timezone="America/New_York", start=time(14), end=time(16))
    found = search(app, case, minutes=120, start_on=date(2027, 11, 5),
                   end_on=date(2027, 11, 9), limit=50)
    starts = {local(slot.start, "America/New_York").date(): slot.start for slot in found}
    assert all(local(start, "America/New_York").time() == time(14) for start in starts.values())
    assert starts[date(2027, 11, 5)].hour == 18  # UTC-4
    assert starts[date(2027, 11, 8)].hour == 19  # UTC-5


def test_notice_and_horizon(app, factory):
    """Nothing within 48 hours; nothing beyond 90 days."""
    case = bookable(app, factory, status="screening")
    with app.app_context():
        now = clock.now()
    found = search(app, case, limit=50)
    assert found and found[0].start >= now + timedelta(hours=48)
    late = search(app, case, start_on=(now + timedelta(days=89)).date(), limit=200)
    assert late and all(slot.end <= now + timedelta(days=90, hours=1) for slot in late)
    assert search(app, case, start_on=(now + timedelta(days=95)).date()) == []


def test_booked_time_and_its_buffer_are_skipped(app, factory, api):
    """A booked hour blocks itself and 30 minutes on each side."""
    case = bookable(app, factory, status="screening")
    api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/consent", json={
        "party": "survivor", "scope": "participation", "decision": "granted", "method": "in_person",
        "information_version": "v1"})
    day = search(app, case, limit=1)[0].start.date() + timedelta(days=1)
    booked = datetime.combine(day, time(12), tzinfo=UTC)
    response = api(case.coordinator).post(f"/api/v1/referrals/{case.referral.id}/sessions", json={
        "kind": "pre_conference_survivor", "format": "video", "start": booked.isoformat(),
        "end": (booked + timedelta(hours=1)).isoformat(), "facilitator_ids": [str(case.lead.id)]})
    assert response.status_code == 201
    found = search(app, case, start_on=day, end_on=day, limit=50)
    starts = {slot.start for slot in found}
    for blocked in (time(11), time(11, 30), time(12), time(12, 30), time(13)):
        assert datetime.combine(day, blocked, tzinfo=UTC) not in starts, blocked
    assert datetime.combine(day, time(10), tzinfo=UTC) in starts      # ends at 11:00, 60 minutes before
    assert datetime.combine(day, time(13, 30), tzinfo=UTC) in starts  # 30 minutes after 13:00


def test_exceptions_and_the_parties_unavailable_times_are_skipped(app, factory):
    """A facilitator's day off and a survivor's declared absence leave no slot on those days."""
    case = bookable(app, factory, status="screening")
    first_day = search(app, case, limit=1)[0].start.date()
    off, absent = first_day + timedelta(days=1), first_day + timedelta(days=2)
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        db.session.add(AvailabilityException(user_id=case.lead.id, on_date=off, unavailable=True))
        db.session.add(PartyUnavailability(party_id=referral.survivor.id,
                                           starts_at=datetime.combine(absent, time(0), tzinfo=UTC),
                                           ends_at=datetime.combine(absent, time(23, 59), tzinfo=UTC)))
        db.session.commit()
    found = search(app, case, start_on=first_day, end_on=first_day + timedelta(days=3), limit=200)
    days = {slot.start.date() for slot in found}
    assert off not in days and absent not in days and first_day + timedelta(days=3) in days


def test_in_person_circles_need_a_suitable_venue_and_are_staggered(app, factory):
    """A venue without separate waiting rooms is never offered; the held span includes the staggering."""
    case = bookable(app, factory)
    unsuitable = make_venue(app, name="Aaa open hall", waiting_rooms=False)
    found = search(app, case, kind="circle", fmt="in_person", minutes=120, limit=5)
    assert found and {slot.venue_id for slot in found} == {case.venue.id} != {unsuitable.id}
    first_day = found[0].start
    assert first_day.time() >= time(8, 20)  # facilitators from 08:00, the responsible party 20 minutes early


def test_pair_search_when_nobody_is_assigned(app, factory):
    """Eligible facilitators only: a speaker of the survivor's language, untrained and conflicted ones left out."""
    coordinator = factory.user("coordinator")
    speaker, other, untrained = (factory.user("facilitator") for _ in range(3))
    available(app, speaker, languages=("es",))
    available(app, other, languages=("en",))
    available(app, untrained, languages=("es",))
    with app.app_context():
        db.session.execute(delete(Training).where(Training.user_id == untrained.id))
        db.session.commit()
    referral = factory.referral(by=coordinator, status="screening", survivor={"preferred_language": "es"})
    found = search(app, SimpleNamespace(referral=referral), kind="circle", fmt="video", minutes=120, limit=3)
    assert found and all(set(slot.facilitator_ids) == {speaker.id, other.id} for slot in found)
    assert found[0].facilitator_ids[0] == speaker.id  # the speaker leads


def test_a_venue_opening_later_than_the_facilitators_still_offers_its_hours(app, factory):
    """Facilitators free from 08:00, the only venue from 12:00: in-person slots start at 12:30 (the responsible
    party comes 20 minutes early, and starts fall on the half hour). Searched from the third day: on the second,
    the 48 hours' notice ends at the time of day the suite runs, which may be after 12:30."""
    case = bookable(app, factory)
    with app.app_context():
        venue = db.session.get(type(case.venue), case.venue.id)
        venue.opening_hours = [{"weekday": d, "start": "12:00", "end": "21:00"} for d in range(7)]
        db.session.commit()
    found = search(app, case, kind="circle", fmt="in_person", minutes=120, start_on=in_days(app, 3).date(), limit=3)
    assert [slot.start.time() for slot in found] == [time(12, 30), time(13), time(13, 30)]


def test_a_party_busy_in_the_morning_gets_the_afternoon(app, factory):
    """The survivor cannot come before 14:00 on the first free day: that day's slots start at 14:00."""
    case = bookable(app, factory, status="screening")
    day = search(app, case, limit=1)[0].start.date() + timedelta(days=1)
    with app.app_context():
        referral = db.session.get(Referral, case.referral.id)
        db.session.add(PartyUnavailability(party_id=referral.survivor.id,
                                           starts_at=datetime.combine(day, time(0), tzinfo=UTC),
                                           ends_at=datetime.combine(day, time(14), tzinfo=UTC)))
        db.session.commit()
    found = search(app, case, start_on=day, end_on=day, limit=2)
    assert [slot.start for slot in found] == [datetime.combine(day, time(14), tzinfo=UTC),
                                              datetime.combine(day, time(14, 30), tzinfo=UTC)]
