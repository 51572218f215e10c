"""A party's page of one appointment: its time in their zone, their arrival, the place, and their calendar file.

docs/design.md section 7. The venue's address is decrypted only here, on the party's own page of that session, when
they ask for it, and each reading is audited; the calendar file carries it only when they tick "include the address".
"""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request

from coordinator.audit.service import record
from coordinator.errors import NotFound
from coordinator.portal.forms import PortalForm
from coordinator.portal.service import portal_is_restricted
from coordinator.portal.views import visit_required
from coordinator.sessions.party_calendar import party_ics
from coordinator.sessions.party_times import describe, reveal_place, upcoming_view

bp = Blueprint("appointments", __name__)


class Place:
    """The address and the entrance, once revealed."""

    def __init__(self, address: str, entrance: str | None):
        self.address, self.entrance = address, entrance


def own_appointment(session_id: str):
    """One of the visiting party's upcoming appointments; NotFound for anything else, and after a withdrawal."""
    if portal_is_restricted(g.visit):
        raise NotFound("withdrawn")
    return upcoming_view(g.visit.party, session_id)


@bp.get("/portal/sessions/<session_id>")
@visit_required
def session(session_id: str):
    """One of the party's appointments; `?show=place` reveals the address (audited)."""
    try:
        view = own_appointment(session_id)
    except NotFound:
        return render_template("portal/generic.html"), 404
    place = Place(*reveal_place(view)) if request.args.get("show") == "place" and view.in_person else None
    return render_template("portal/session.html", view=view, when=describe(view), place=place, form=PortalForm())


@bp.get("/portal/sessions/<session_id>/calendar.ics")
@visit_required
def calendar_file(session_id: str):
    """The party's own calendar file of this appointment; the address only when they ask for it."""
    try:
        view = own_appointment(session_id)
    except NotFound:
        return render_template("portal/generic.html"), 404
    with_address = request.args.get("address") == "1" and view.in_person
    body = party_ics(view, reveal_place(view) if with_address else None)
    record(g.visit.party, "portal.calendar", view.session, referral_id=g.visit.party.referral_id,
           details={"address": with_address})
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response
