"""Calendars: a session's .ics, a facilitator's private feed, and their week calendar page."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from coordinator.accounts.models import Role
from coordinator.audit.service import record
from coordinator.errors import InvalidRequest
from coordinator.extensions import limiter
from coordinator.inputs import out_of_range_message, parse_day
from coordinator.pages import role_required
from coordinator.sessions import calendar
from coordinator.sessions.booking import load_session
from coordinator.sessions.week import facilitator_week, facilitators, load_week_owner

bp = Blueprint("calendar", __name__)
STAFF = (Role.coordinator, Role.facilitator)
ICS_TYPE = "text/calendar; charset=utf-8"


def feed_limit() -> str:
    """How often one address may fetch feeds (calendar apps poll every few minutes at most)."""
    return current_app.config["CALENDAR_FEED_RATE_LIMIT"]


def ics_response(body: bytes, filename: str | None = None) -> Response:
    """An iCalendar answer; with a file name, a download."""
    response = Response(body, content_type=ICS_TYPE)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/sessions/<session_id>.ics")
@role_required(*STAFF)
def session_file(session_id: str):
    """One session as a calendar file, for staff in its referral's scope."""
    session = load_session(current_user, session_id)
    record(current_user, "session.export_ics", session, referral_id=session.referral_id)
    return ics_response(calendar.session_ics(session), f"session-{session.id}.ics")


@bp.get("/calendar/feed")
@role_required(Role.facilitator)
def feed_page():
    """The facilitator's private feed: whether one works, and buttons to create a new one or stop it."""
    return render_template("calendar/feed.html", feed=calendar.active_feed(current_user), url=None)


@bp.post("/calendar/feed")
@role_required(Role.facilitator)
def create_feed():
    """A new feed address, shown on this page once; any earlier address stops working."""
    feed, url = calendar.create_feed(current_user)
    return render_template("calendar/feed.html", feed=feed, url=url), 201


@bp.post("/calendar/feed/revoke")
@role_required(Role.facilitator)
def revoke_feed():
    """Stop the feed at once."""
    if calendar.revoke_feed(current_user):
        flash(_("Your calendar feed address no longer works."), "success")
    return redirect(url_for("calendar.feed_page"))


@bp.get("/calendar/feed/<token>.ics")
@limiter.limit(feed_limit, key_func=lambda: "feed:" + (request.remote_addr or ""))  # never the token
def feed(token: str):
    """The public feed a calendar app subscribes to: no sign-in, the token is the key; anything else is 404."""
    owner = calendar.feed_owner(token)
    if owner is None:
        # Plain and the same for every token: the HTML error page would echo the address back in its forms.
        return Response(_("Not found."), status=404, content_type="text/plain; charset=utf-8")
    return ics_response(calendar.feed_ics(owner))


@bp.get("/calendar/week")
@role_required(*STAFF)
def week():
    """A facilitator's week by day: availability and sessions in their time zone (coordinators choose whose)."""
    start = _start_date(request.args.get("start"))
    chooser = facilitators() if current_user.has_role(Role.coordinator) else None
    user_id = request.args.get("user")
    if not user_id and chooser is not None:
        return render_template("calendar/week.html", week=None, chooser=chooser, start=start)
    owner = load_week_owner(current_user, user_id)
    shown = facilitator_week(current_user, owner, start)
    zone = ZoneInfo(shown.timezone)
    return render_template("calendar/week.html", week=shown, chooser=chooser, start=shown.start,
                           time_label=lambda value: _time_label(value, zone), day_label=_day_label)


def _start_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except ValueError:
        raise InvalidRequest.field(out_of_range_message(), "start", out_of_range_message()) from None


def _time_label(value: datetime | time, zone: ZoneInfo) -> str:
    """A local time in the reader's language ("9:00 AM", "09:00")."""
    if isinstance(value, datetime):
        return format_time(value, "short", tzinfo=zone, locale=get_locale())
    return format_time(value, "short", locale=get_locale())


def _day_label(value: date) -> str:
    """A day in the reader's language ("Saturday, October 31, 2026")."""
    return format_date(value, "full", locale=get_locale())
