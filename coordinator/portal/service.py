"""Secure links and portal sessions: issue, revoke, open with the continue button, PINs, and leaving."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, bindparam, func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from coordinator import clock
from coordinator.accounts.models import SYSTEM, Actor, Role
from coordinator.accounts.service import password_hasher, sha256_hex, users_by_id
from coordinator.audit.service import record
from coordinator.consent import gates
from coordinator.consent.queries import Overview, consent_overview
from coordinator.consent.service import contact_gate_failure
from coordinator.db import atomic, db, get_row
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.notifications.models import Channel
from coordinator.notifications.service import coordinators, notify_staff, queue_message
from coordinator.party_i18n import _p, offered, party_language
from coordinator.portal.models import LinkChannel, PortalSession, SecureLink
from coordinator.referrals.models import CloseReason, Party, PartyRole, Referral, ReferralStatus
from coordinator.referrals.service import load_referral
from coordinator.sessions.models import UPCOMING, ScheduledSession, SessionParticipant
from coordinator.tasks.models import TaskKind
from coordinator.tasks.service import close_tasks, raise_task

ISSUERS = (Role.coordinator, Role.facilitator)
PIN = re.compile(r"^\d{4,8}$")
MAX_PIN_FAILURES = 5
# The two doors every party request passes, each one round trip, built once: building a statement and its cache key
# costs more than running it.
_LINK_AND_PARTY = (select(SecureLink, Party).join(Party, Party.id == SecureLink.party_id)
                   .where(SecureLink.token_hash == bindparam("token_hash")))
# The session, its link, the party and their referral with both its parties: the pages name the other party's role.
_SESSION_AND_PARTY = (
    select(PortalSession, SecureLink, Party, Referral)
    .join(SecureLink, SecureLink.id == PortalSession.link_id)
    .join(Party, Party.id == PortalSession.party_id)
    .join(Referral, Referral.id == Party.referral_id)
    .where(PortalSession.token_hash == bindparam("token_hash"), PortalSession.ended_at.is_(None))
    .options(joinedload(Referral.parties))
)


class LinkUnusable(Exception):
    """Unknown, expired, revoked or locked: the party sees the same generic page for all of them."""


def link_url(token: str) -> str:
    """A link's address, built from the configured base URL, never from the request (docs/design.md section 5)."""
    return f"{current_app.config['COORDINATOR_BASE_URL']}/p/{token}"


def link_valid_until(party: Party, now: datetime) -> datetime:
    """How long a party's link lasts (the one owner of that rule): until their last booked session has ended plus
    LINK_VALID_DAYS, and never less than LINK_VALID_DAYS from now. A link that ends before the party's appointment
    would leave them unable to confirm it or find its place (docs/design.md section 5)."""
    days = timedelta(days=current_app.config["LINK_VALID_DAYS"])
    last_end = db.session.execute(
        select(func.max(SessionParticipant.leave_at))
        .join(ScheduledSession, ScheduledSession.id == SessionParticipant.session_id)
        .where(SessionParticipant.party_id == party.id, ScheduledSession.status.in_(UPCOMING),
               ScheduledSession.starts_at > now)
    ).scalar_one_or_none()
    return max(now + days, last_end + days) if last_end is not None else now + days


def renew_links(party: Party) -> int:
    """Stretch the party's usable links to `link_valid_until` (never shorter); revoked, locked and expired links
    stay as they are. Called when a session is announced; returns how many links were stretched."""
    now = clock.now()
    until = link_valid_until(party, now)
    links = db.session.execute(select(SecureLink).where(
        SecureLink.party_id == party.id, SecureLink.revoked_at.is_(None), SecureLink.locked_at.is_(None),
        SecureLink.expires_at > now, SecureLink.expires_at < until)).scalars().all()
    for link in links:
        link.expires_at = until
    if links:
        db.session.flush()
        record(SYSTEM, "link.renew", party, referral_id=party.referral_id,
               details={"links": len(links), "until": until.isoformat()})
        close_tasks(SYSTEM, [TaskKind.link_expiring], subject_id=party.id)  # the link now lasts past the session
    return len(links)


def flag_links_expiring_before_sessions() -> int:
    """Raise a task for each party whose every usable link expires before their next booked session begins (a
    link renewed when the session was announced cannot do that; one issued earlier by hand, or a session moved
    later, can). One task per link and expiry; renewing or issuing a link closes it. Returns how many parties."""
    now = clock.now()
    next_arrival = (select(SessionParticipant.party_id, func.min(SessionParticipant.arrive_at).label("arrive_at"))
                    .join(ScheduledSession, ScheduledSession.id == SessionParticipant.session_id)
                    .where(ScheduledSession.status.in_(UPCOMING), ScheduledSession.starts_at > now)
                    .group_by(SessionParticipant.party_id).subquery())
    last_expiry = (select(SecureLink.party_id, func.max(SecureLink.expires_at).label("expires_at"))
                   .where(SecureLink.revoked_at.is_(None), SecureLink.locked_at.is_(None), SecureLink.expires_at > now)
                   .group_by(SecureLink.party_id).subquery())
    rows = db.session.execute(
        select(Party.id, Party.referral_id, last_expiry.c.expires_at)
        .join(next_arrival, next_arrival.c.party_id == Party.id)
        .join(last_expiry, last_expiry.c.party_id == Party.id)
        .where(last_expiry.c.expires_at < next_arrival.c.arrive_at)
    ).all()
    for party_id, referral_id, expires_at in rows:
        raise_task(TaskKind.link_expiring, source=f"link:{party_id}:{expires_at.isoformat()}",
                   referral_id=referral_id, subject_id=party_id,
                   due_at=max(now, expires_at - timedelta(days=1)))
    return len(rows)


@atomic
def issue_link(actor: Actor, referral: Referral, party: str, channel: str, *, message: str = "party_update",
               params: dict | None = None) -> tuple[SecureLink, str]:
    """Create a link for one party and send it (email, SMS) through the outbox, or return it for handover.

    `message` is the message that carries it: a plain "you have a new message", or the announcement of a session
    (`session_invitation`, with the session's id in `params`), which renews the party's other links too.
    """
    if not actor.has_role(*ISSUERS):
        raise Forbidden(_("Your role cannot issue secure links."))
    fields: dict[str, list[str]] = {}
    if party not in PartyRole.__members__:
        fields["party"] = [_("Choose the survivor or the responsible party.")]
    if channel not in LinkChannel.__members__:
        fields["channel"] = [_("Choose how the link reaches them.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    target = referral.require_party(PartyRole(party))
    if party == PartyRole.responsible_party and not gates.contact_allowed(consent_overview(referral)):
        raise contact_gate_failure()
    address = {LinkChannel.email: target.email, LinkChannel.sms: target.phone}.get(LinkChannel(channel), "")
    if address is None:
        raise InvalidRequest.field(_("Check the highlighted fields."), "channel",
                                   _("There is no address for this channel; choose another one."))
    token = secrets.token_urlsafe(32)  # 256 bits
    now = clock.now()
    link = SecureLink(referral_id=referral.id, party_id=target.id, token_hash=sha256_hex(token), channel=channel,
                      created_by_id=actor.id, created_at=now, expires_at=link_valid_until(target, now))
    db.session.add(link)
    db.session.flush()
    record(actor, "link.issue", link, referral_id=referral.id, details={"party": party, "channel": channel})
    if channel != LinkChannel.handover:
        queue_message(Channel(channel), message, recipient_kind="party", recipient_id=target.id,
                      key=f"link:{link.id}", referral_id=referral.id, link=link_url(token), params=params)
    if message == "session_invitation":  # the announcement of a session renews what the party already holds
        renew_links(target)
    close_tasks(actor, [TaskKind.link_expiring], subject_id=target.id)  # a new link lasts past their sessions
    return link, link_url(token)



def links_of(referral: Referral) -> list[SecureLink]:
    """The referral's links, newest first."""
    return list(db.session.execute(
        select(SecureLink).where(SecureLink.referral_id == referral.id).order_by(SecureLink.created_at.desc())
    ).scalars())


def load_link(actor: Actor, link_id: uuid.UUID | str) -> SecureLink:
    """A link of a referral in the actor's scope; NotFound otherwise."""
    link = get_row(SecureLink, link_id)
    load_referral(actor, link.referral_id)
    return link


@atomic
def revoke_link(actor: Actor, link: SecureLink) -> SecureLink:
    """Revoke a link at once; its portal sessions end with it."""
    if not actor.has_role(*ISSUERS):
        raise Forbidden(_("Your role cannot revoke secure links."))
    if link.revoked_at is None:
        now = clock.now()
        link.revoked_at = now
        _end_sessions_of(link, now)
        record(actor, "link.revoke", link, referral_id=link.referral_id)
    return link


def _end_sessions_of(link: SecureLink, now: datetime) -> None:
    db.session.execute(update(PortalSession).where(PortalSession.link_id == link.id, PortalSession.ended_at.is_(None))
                       .values(ended_at=now).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Opened:
    """What the interstitial needs to know: the link and whether it asks for a PIN."""

    link: SecureLink
    party: Party

    @property
    def needs_pin(self) -> bool:
        """True when the party chose a PIN."""
        return self.link.pin_hash is not None


def peek(token: str) -> Opened:
    """The link behind a token, for the interstitial; reads only, so opening a link changes nothing."""
    # Every opening of a link (and every continue) starts here.
    found = db.session.execute(_LINK_AND_PARTY, {"token_hash": sha256_hex(token)}).one_or_none()
    if found is None or not found[0].usable(clock.now()):
        raise LinkUnusable()
    link, party = found
    if party.role == PartyRole.responsible_party and not gates.contact_allowed(consent_overview(party.referral)):
        raise LinkUnusable()  # survivor-led: no session for the responsible party before the survivor agrees
    return Opened(link, party)


@dataclass(frozen=True)
class Opening:
    """The outcome of a continue: a session token, or a PIN to ask for (again), or a link now locked."""

    token: str | None = None
    pin_required: bool = False
    pins_left: int | None = None
    locked: bool = False


@atomic
def open_portal(token: str, pin: str | None, language: str | None) -> Opening:
    """Exchange a link for a short portal session (the continue button); a wrong PIN is counted."""
    opened = peek(token)
    link, party = opened.link, opened.party
    now = clock.now()
    if opened.needs_pin:
        if not pin:
            return Opening(pin_required=True)
        failures = _take_guess(link, now)  # counted before it is checked, so parallel guesses cannot pass the limit
        if not _pin_matches(link, pin):
            return _count_wrong_pin(link, party, now, failures)
        link.pin_failures = 0
    _take_use(link, now)
    session_token = secrets.token_urlsafe(32)
    chosen = party_language(language if offered(language) else party.preferred_language).code
    portal_session = PortalSession(
        link_id=link.id, party_id=party.id, token_hash=sha256_hex(session_token), language=chosen, started_at=now,
        expires_at=now + timedelta(minutes=current_app.config["PORTAL_SESSION_MINUTES"]),
    )
    db.session.add(portal_session)
    db.session.flush()
    record(party, "portal.open", link, referral_id=link.referral_id)
    return Opening(token=session_token)


def _usable_now(now: datetime) -> ColumnElement[bool]:
    # SecureLink.usable() as SQL, so the check and the change are one statement.
    return and_(SecureLink.revoked_at.is_(None), SecureLink.locked_at.is_(None), SecureLink.expires_at > now)


def _take_guess(link: SecureLink, now: datetime) -> int:
    """Count one PIN guess in one UPDATE ... RETURNING, before the PIN is checked; returns the new count.

    The statement holds the link's row until the request ends, so parallel guesses queue and each sees the count
    the one before left: at most MAX_PIN_FAILURES guesses are ever checked (reading, adding one and writing back let
    twelve of fifteen parallel guesses through). A link locked or out of guesses meanwhile is unusable.
    """
    failures = db.session.execute(
        update(SecureLink)
        .where(SecureLink.id == link.id, _usable_now(now), SecureLink.pin_failures < MAX_PIN_FAILURES)
        .values(pin_failures=SecureLink.pin_failures + 1)
        .returning(SecureLink.pin_failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if failures is None:
        raise LinkUnusable()
    set_committed_value(link, "pin_failures", failures)
    return failures


def _take_use(link: SecureLink, now: datetime) -> None:
    """Mark the link used, in one statement that also checks it is still usable (revoked or locked meanwhile)."""
    used = db.session.execute(
        update(SecureLink).where(SecureLink.id == link.id, _usable_now(now))
        .values(last_used_at=now).returning(SecureLink.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if used is None:
        raise LinkUnusable()
    set_committed_value(link, "last_used_at", now)


def _pin_matches(link: SecureLink, pin: str) -> bool:
    if link.pin_hash is None:
        return False
    try:
        return password_hasher().verify(link.pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def _count_wrong_pin(link: SecureLink, party: Party, now: datetime, failures: int) -> Opening:
    """A wrong PIN (already counted by `_take_guess`); the fifth locks the link and tells the coordinators and
    facilitators."""
    record(party, "link.pin_failed", link, referral_id=link.referral_id, details={"failures": failures})
    if failures < MAX_PIN_FAILURES:
        return Opening(pin_required=True, pins_left=MAX_PIN_FAILURES - failures)
    link.locked_at = now
    _end_sessions_of(link, now)
    record(party, "link.locked", link, referral_id=link.referral_id)
    referral = party.referral
    staff = {user.id: user for user in [*coordinators(), *users_by_id(referral.facilitator_ids).values()]}
    notify_staff(staff.values(), "link_locked", key=f"link_locked:{link.id}", referral=referral)
    return Opening(locked=True)


@dataclass(frozen=True)
class Visit:
    """A live portal session with its party and link."""

    session: PortalSession
    party: Party
    link: SecureLink


def resume_portal(token: str | None) -> Visit | None:
    """The party behind a portal cookie, or None once the session ended, ran out or its link stopped."""
    if not token:
        return None
    # This runs before every portal page.
    found = db.session.execute(_SESSION_AND_PARTY, {"token_hash": sha256_hex(token)}).unique().one_or_none()
    if found is None:
        return None
    portal_session, link, party, referral = found
    # The session's identity map holds rows weakly: the party holds its referral, so `party.referral` and its parties
    # stay read for the rest of the request instead of being read again.
    set_committed_value(party, "referral", referral)
    now = clock.now()
    if portal_session.expires_at <= now or not link.usable(now):
        return None
    return Visit(portal_session, party, link)


@atomic
def choose_pin(visit: Visit, pin: str) -> None:
    """Protect the link with a PIN of 4 to 8 digits, asked at every continue from now on."""
    if not PIN.match(pin or ""):
        raise InvalidRequest.field(_p("Check the highlighted fields."), "pin", _p("Use 4 to 8 digits."))
    visit.link.pin_hash = password_hasher().hash(pin)
    visit.link.pin_failures = 0
    record(visit.party, "link.pin_set", visit.link, referral_id=visit.link.referral_id)


@atomic
def set_portal_language(visit: Visit, language: str) -> None:
    """Switch the portal's language for this session (any of the party languages)."""
    if offered(language):
        visit.session.language = language


@atomic
def leave_portal(visit: Visit | None) -> None:
    """End the session now (quick exit and leaving)."""
    if visit is not None and visit.session.ended_at is None:
        visit.session.ended_at = clock.now()


def portal_is_restricted(visit: Visit) -> bool:
    """After withdrawing participation, the link serves nothing but a fresh consent."""
    return gates.withdrew_participation(consent_overview(visit.party.referral), visit.party.role)


@dataclass(frozen=True)
class Standing:
    """What the party's page must tell them about where things stand (docs/design.md rule 1: the truth)."""

    restricted: bool  # they withdrew participation: appointments cancelled, the process stopped
    waiting_for_contact: bool  # the process stopped and they take part again: nothing restarts by itself


def standing(visit: Visit, overview: Overview | None = None) -> Standing:
    """Where the party stands: withdrawn, or agreeing again while the process stays stopped, or neither (from the
    referral's consent `overview` when the caller already read it)."""
    referral, role = visit.party.referral, visit.party.role
    overview = consent_overview(referral) if overview is None else overview
    restricted = gates.withdrew_participation(overview, role)
    stopped = referral.status == ReferralStatus.closed and referral.status_reason == CloseReason.consent_withdrawn
    return Standing(restricted, not restricted and stopped and gates.participates(overview, role))
