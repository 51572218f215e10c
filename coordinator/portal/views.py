"""The parties' portal: the link's interstitial, then phone-first pages about that party only.

docs/design.md sections 5 and 7. Everything here speaks the party's language, from the party domain (`_p`).

Every element a party clicks carries a `data-action` (docs/api.md). Nothing here names the other party.
"""

from __future__ import annotations

import functools

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import refresh as refresh_locale

from coordinator.agreements.queries import party_agreement
from coordinator.agreements.service import accept as accept_agreement
from coordinator.consent.models import PARTY_SCOPES, Decision, Method
from coordinator.consent.queries import consent_overview
from coordinator.consent.service import record_decision
from coordinator.consent.sheets import current_sheet, find_sheet
from coordinator.errors import Conflict, GateFailed, InvalidRequest
from coordinator.extensions import limiter
from coordinator.party_i18n import PARTY_LANGUAGES, _p, party_language, review_of
from coordinator.portal import service
from coordinator.portal.forms import ContinueForm, DecisionForm, PinForm, PortalForm
from coordinator.portal.labels import TEMPLATE_GLOBALS
from coordinator.referrals.models import PartyRole
from coordinator.safety.service import report_unsafe
from coordinator.sessions.booking import respond
from coordinator.sessions.party_times import describe, upcoming_views

bp = Blueprint("portal", __name__)
SESSION_KEY = "portal"


def link_limit() -> str:
    """How often one address may try links."""
    return current_app.config["LINK_RATE_LIMIT"]


def link_attempt_key() -> str:
    """Link attempts are counted by address (and route), never by the token: a Redis key name holds no secret."""
    return "link:" + (request.remote_addr or "")


def generic_page():
    """The one page for unknown, expired, revoked and locked links alike."""
    return render_template("portal/generic.html"), 404


def speak(code: str | None) -> None:
    """Show this request in a party language (the party's own, or English when it is not offered)."""
    g.party_language = party_language(code)
    g.locale = g.party_language.locale
    refresh_locale()


@bp.before_app_request
def visitor_language():
    """Portal pages without a session (the landing, the generic and the closed pages) follow the browser."""
    if request.blueprint in ("portal", "appointments"):
        speak(request.accept_languages.best_match(list(PARTY_LANGUAGES)))


@bp.app_context_processor
def party_words():
    """The parties' own labels and the page's language, for portal pages and party messages."""
    return TEMPLATE_GLOBALS


def visit_required(view):
    """Portal pages need a live portal session; without one, the party is asked to open their link again."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.visit = service.resume_portal(session.get(SESSION_KEY))
        if g.visit is None:
            session.pop(SESSION_KEY, None)
            return render_template("portal/ended.html"), 401
        speak(g.visit.session.language)
        return view(*args, **kwargs)

    return wrapper


@bp.route("/p/", methods=["GET", "HEAD"])
def landing():
    """Where neutral messages and reminders point: nothing to see without a private link."""
    return render_template("portal/landing.html")


@bp.route("/p/<token>", methods=["GET", "HEAD"])
@limiter.limit(link_limit, key_func=link_attempt_key)
def interstitial(token: str):
    """Opening a link changes nothing (mail scanners open links): it only offers a continue button."""
    try:
        opened = service.peek(token)
    except service.LinkUnusable:
        return generic_page()
    speak(opened.party.preferred_language)
    return render_template("portal/continue.html", form=ContinueForm(), needs_pin=opened.needs_pin)


@bp.post("/p/<token>")
@limiter.limit(link_limit, key_func=link_attempt_key)
def continue_(token: str):
    """The human click: exchange the link for a 30-minute session and move to a URL without the token."""
    form = ContinueForm()
    if not form.validate_on_submit():
        return generic_page()
    try:
        opening = service.open_portal(token, form.pin.data, None)
    except service.LinkUnusable:
        return generic_page()
    if opening.locked:
        return generic_page()
    if opening.pin_required:
        if opening.pins_left is not None:
            form.pin.errors = [_p("That PIN is not right. Attempts left: %(count)d.", count=opening.pins_left)]
        return render_template("portal/continue.html", form=form, needs_pin=True), \
            400 if opening.pins_left is not None else 200
    session[SESSION_KEY] = opening.token
    return redirect(url_for("portal.home"))


@bp.get("/portal")
@visit_required
def home():
    """What concerns this party: their consent decisions, their appointments, and help."""
    party, referral = g.visit.party, g.visit.party.referral
    overviews = consent_overview(referral)  # read once: the page and the party's standing both need it
    overview = overviews[party.role]
    standing = service.standing(g.visit, overviews)
    views = [] if standing.restricted else upcoming_views(party)
    return render_template("portal/home.html", scopes=PARTY_SCOPES[PartyRole(party.role)], overview=overview,
                           standing=standing, sessions=[(view, describe(view)) for view in views],
                           offer_pin=g.visit.link.pin_hash is None, review=review_of(g.party_language.code),
                           agreement=None if standing.restricted else party_agreement(party), form=PortalForm())


@bp.post("/portal/sessions/<session_id>/<answer>")
@visit_required
def answer_session(session_id: str, answer: str):
    """Confirm or decline an appointment."""
    form = PortalForm()
    if not form.validate_on_submit() or answer not in ("confirm", "decline") or service.portal_is_restricted(g.visit):
        return render_template("portal/error.html"), 400
    respond(g.visit.party, session_id, "confirmed" if answer == "confirm" else "declined")
    flash(_p("Thank you. Your answer is saved.") if answer == "confirm"
          else _p("Your answer is saved. Your facilitator will be in touch about another time."), "success")
    return redirect((request.form.get("back") == "session" and url_for("appointments.session", session_id=session_id))
                    or url_for("portal.home"))


@bp.post("/portal/agreement/accept")
@visit_required
def accept_agreement_view():
    """The party accepts the agreement as written; it becomes active once both parties have."""
    form = PortalForm()
    view = party_agreement(g.visit.party)
    if not form.validate_on_submit() or view is None or service.portal_is_restricted(g.visit):
        return render_template("portal/error.html"), 400
    try:
        accept_agreement(g.visit.party, view.agreement, g.visit.party.role, "secure_link",
                         request.form.get("version", type=int))
    except Conflict as error:  # changed since it was shown, or waiting: nothing to blame the party for
        flash(_p("The agreement was changed since it was shown. Please read it again before accepting.")
              if (error.details or {}).get("code") == "agreement_changed"
              else _p("This cannot be done just now. Your facilitator can help."), "info")
    else:
        flash(_p("Thank you. Your acceptance is saved."), "success")
    return redirect(url_for("portal.home"))


@bp.get("/portal/consent/<scope>")
@visit_required
def sheet(scope: str):
    """The information sheet, with the decision buttons on the same page (docs/design.md rule 2)."""
    party = g.visit.party
    if scope not in PARTY_SCOPES[PartyRole(party.role)]:
        return render_template("portal/generic.html"), 404
    shown = current_sheet(scope, g.party_language.code)
    state = consent_overview(party.referral)[party.role][scope]
    form = DecisionForm(sheet_version=shown.version, sheet_language=shown.language)
    return render_template("portal/sheet.html", sheet=shown, scope=scope, state=state, form=form,
                           draft=review_of(shown.language).sheet(scope, shown.version) != "reviewed")


@bp.post("/portal/consent/<scope>")
@visit_required
def decide(scope: str):
    """Grant or withdraw, on the strength of the sheet that was shown."""
    party = g.visit.party
    form = DecisionForm()
    if (scope not in PARTY_SCOPES[PartyRole(party.role)] or not form.validate_on_submit()
            or form.decision.data not in Decision.__members__
            or find_sheet(scope, form.sheet_version.data, form.sheet_language.data) is None):
        flash(_p("Something went wrong. Nothing was changed. Please try again."), "error")
        return redirect(url_for("portal.home"))
    before = service.standing(g.visit)
    try:
        record_decision(party, party.referral, party=party.role, scope=scope, decision=form.decision.data,
                        method=Method.secure_link, information_version=form.sheet_version.data,
                        information_language=form.sheet_language.data)
    except (GateFailed, InvalidRequest):
        flash(_p("This cannot be done just now. Your facilitator can help."), "error")
        return redirect(url_for("portal.home"))
    after = service.standing(g.visit)
    if form.decision.data == Decision.granted and after.waiting_for_contact and not before.waiting_for_contact:
        flash(_p("Thank you. Your answer is saved. Nothing starts again by itself: someone from the programme will "
                 "contact you to talk about what happens next."), "success")
    elif form.decision.data == Decision.granted:
        flash(_p("Thank you. Your answer is saved. You can change your mind at any time."), "success")
    elif after.restricted:
        flash(_p("Your answer is saved. You do not need to give a reason."), "success")
    else:
        flash(_p("Your answer is saved. Nothing more will happen on this, and you do not need to give a reason."),
              "success")
    return redirect(url_for("portal.home"))


@bp.route("/portal/pin", methods=["GET", "POST"])
@visit_required
def pin():
    """Choose a PIN that this link will ask for from now on."""
    form = PinForm()
    if form.validate_on_submit():
        try:
            service.choose_pin(g.visit, form.pin.data)
        except InvalidRequest as error:
            form.pin.errors = error.details.get("pin", [error.message])
        else:
            flash(_p("Your PIN is set. Keep it to yourself."), "success")
            return redirect(url_for("portal.home"))
    return render_template("portal/pin.html", form=form), 400 if form.errors else 200


@bp.route("/portal/unsafe", methods=["GET", "POST"])
@visit_required
def unsafe():
    """"I feel unsafe": reaches the facilitators and the coordinator at once and pauses what was planned."""
    form = PortalForm()
    if form.validate_on_submit():
        report_unsafe(g.visit.party)
        return render_template("portal/unsafe_sent.html")
    return render_template("portal/unsafe.html", form=form)


@bp.post("/portal/language")
@visit_required
def language():
    """Switch the portal's language."""
    form = PortalForm()
    if form.validate_on_submit():
        service.set_portal_language(g.visit, request.form.get("language", ""))
    return redirect(url_for("portal.home"))


@bp.get("/portal/exit")
def leave():
    """Quick exit: end the session and go to a neutral site (the script replaces the history entry)."""
    service.leave_portal(service.resume_portal(session.pop(SESSION_KEY, None)))
    return redirect(current_app.config["PORTAL_EXIT_URL"])
