"""A person's own data: everything held about one party of a referral, for that party, in their language.

It holds their record, their consent decisions with the version and language of the sheet they were shown, the
sessions they were invited to, the agreement items (and their own acceptances), the messages sent to them, and who
opened the file and when (EU Directive 2012/29/EU Art. 12 and the right of access). Nothing about the other party:
every part is selected by this party's own id, and the referral's shared notes, incidents and assessments, which
speak of both, are left out. Producing it is audited (docs/design.md rule 7).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from coordinator import clock
from coordinator.accounts.models import ROLE_LABELS, Actor, User
from coordinator.agreements.models import (
    ACCEPTANCE_METHOD_LABELS,
    AGREEMENT_STATUS_LABELS,
    ITEM_KIND_LABELS,
    ITEM_STATUS_LABELS,
    Acceptance,
    Agreement,
    AgreementItem,
)
from coordinator.audit.models import ACTION_LABELS, AuditEntry
from coordinator.audit.service import about_referral, record
from coordinator.consent.models import METHOD_LABELS, SCOPE_LABELS, ConsentDecision
from coordinator.db import db
from coordinator.errors import InvalidRequest
from coordinator.notifications.messages import MESSAGES
from coordinator.notifications.models import DELIVERY_LABELS, OutboxMessage
from coordinator.portal.labels import SESSION_KIND as PARTY_SESSION_KIND
from coordinator.referrals.models import PARTY_LABELS, STATUS_LABELS, PartyRole, Referral
from coordinator.retention.service import require_coordinator
from coordinator.roster.models import Venue
from coordinator.sessions.models import (
    FORMAT_LABELS,
    RESPONSE_LABELS,
    SESSION_STATUS_LABELS,
    ScheduledSession,
    SessionParticipant,
)

# What counts as seeing the file: staff and the prosecution reading it, and this very kind of export.
READ_ACTIONS = ("referral.view", "consent.view", "risk.view", "agreement.view", "court_report.view",
                "prosecution.disclose", "party.export")


class ExportedPartyRecord(BaseModel):
    """The party as the programme knows them."""

    role: str
    role_label: str
    alias: str | None
    preferred_language: str
    needs_interpreter: bool
    email: str | None
    phone: str | None


class ExportedDecision(BaseModel):
    """One consent decision, with the information sheet shown."""

    scope: str
    scope_label: str
    decision: str
    decided_at: datetime
    expires_at: datetime | None
    sheet_version: str
    sheet_language: str
    method: str
    method_label: str


class ExportedSession(BaseModel):
    """A session the party was invited to, with their own arrival and departure."""

    kind: str
    kind_label: str
    format: str
    format_label: str
    status: str
    status_label: str
    starts_at: datetime
    ends_at: datetime
    arrive_at: datetime
    leave_at: datetime
    response: str
    response_label: str
    attended: bool | None
    place: str | None


class ExportedItem(BaseModel):
    """An agreement item: both parties are party to every item of the agreement."""

    agreement_status: str
    agreement_status_label: str
    agreement_version: int
    kind: str
    kind_label: str
    description: str | None
    due_on: date | None
    amount_cents: int | None
    currency: str | None
    status: str
    status_label: str


class ExportedAcceptance(BaseModel):
    """The party's own acceptance of a version of the agreement."""

    agreement_version: int
    method: str
    method_label: str
    accepted_at: datetime


class ExportedMessage(BaseModel):
    """A message sent (or queued) to the party; its secret link is never kept, so never shown."""

    template: str
    subject: str
    channel: str
    status: str
    status_label: str
    queued_at: datetime
    sent_at: datetime | None


class ExportedAccess(BaseModel):
    """Who opened the file, and when."""

    at: datetime
    action: str
    action_label: str
    by_role: str | None
    by_role_label: str | None
    by_name: str | None


class PartyExport(BaseModel):
    """Everything held about one party (docs/api.md "A person's data")."""

    # The same answer as a PDF with `?format=pdf`: the document names both content types.
    model_config = ConfigDict(openapi_extra={"content": {  # type: ignore[typeddict-unknown-key]  # flask-openapi3's
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}})

    reference: str
    referral_status: str
    referral_status_label: str
    language: str
    generated_at: datetime
    party: ExportedPartyRecord
    consent_decisions: list[ExportedDecision]
    sessions: list[ExportedSession]
    agreement_items: list[ExportedItem]
    acceptances: list[ExportedAcceptance]
    messages: list[ExportedMessage]
    access: list[ExportedAccess]


def export_language(language: str) -> str:
    """The party's language where the portal offers it, otherwise English."""
    offered = current_app.config.get("PORTAL_LANGUAGES") or current_app.config["LANGUAGES"]
    return language if language in offered else "en"


def party_export(actor: Actor, referral: Referral, role: str, output: str = "json") -> PartyExport:
    """Everything held about the survivor or the responsible party, in their language; audited (coordinators)."""
    require_coordinator(actor)
    if role not in PartyRole.__members__:
        raise InvalidRequest.field(_("Check the highlighted fields."), "party", _("Choose a party."))
    party = referral.require_party(PartyRole(role))
    language = export_language(party.preferred_language)
    with force_locale(language):
        export = PartyExport(
            reference=referral.reference, referral_status=referral.status,
            referral_status_label=str(STATUS_LABELS[referral.status]), language=language,
            generated_at=clock.now(),
            party=ExportedPartyRecord(role=party.role, role_label=str(PARTY_LABELS[party.role]), alias=party.alias,
                              preferred_language=party.preferred_language,
                              needs_interpreter=party.needs_interpreter, email=party.email, phone=party.phone),
            consent_decisions=_decisions(party.id), sessions=_sessions(party.id),
            agreement_items=_items(referral.id), acceptances=_acceptances(referral.id, role),
            messages=_messages(party.id), access=_access(referral.id),
        )
    record(actor, "party.export", party, referral_id=referral.id, details={"party": role, "format": output})
    return export


def _decisions(party_id: uuid.UUID) -> list[ExportedDecision]:
    rows = db.session.execute(select(ConsentDecision).where(ConsentDecision.party_id == party_id)
                              .order_by(ConsentDecision.decided_at)).scalars()
    return [ExportedDecision(scope=row.scope, scope_label=str(SCOPE_LABELS[row.scope]), decision=row.decision,
                        decided_at=row.decided_at, expires_at=row.expires_at, sheet_version=row.sheet_version,
                        sheet_language=row.sheet_language, method=row.method,
                        method_label=str(METHOD_LABELS[row.method])) for row in rows]


def _sessions(party_id: uuid.UUID) -> list[ExportedSession]:
    rows = db.session.execute(
        select(ScheduledSession, SessionParticipant, Venue)
        .join(SessionParticipant, SessionParticipant.session_id == ScheduledSession.id)
        .outerjoin(Venue, Venue.id == ScheduledSession.venue_id)
        .where(SessionParticipant.party_id == party_id).order_by(ScheduledSession.starts_at)).all()
    return [ExportedSession(kind=session.kind, kind_label=str(PARTY_SESSION_KIND[session.kind]), format=session.format,
                       format_label=str(FORMAT_LABELS[session.format]), status=session.status,
                       status_label=str(SESSION_STATUS_LABELS[session.status]), starts_at=session.starts_at,
                       ends_at=session.ends_at, arrive_at=participant.arrive_at, leave_at=participant.leave_at,
                       response=participant.response, response_label=str(RESPONSE_LABELS[participant.response]),
                       attended=participant.attended,
                       place=", ".join(part for part in (venue.name, venue.address) if part) if venue else None)
            for session, participant, venue in rows]


def _items(referral_id: uuid.UUID) -> list[ExportedItem]:
    rows = db.session.execute(
        select(AgreementItem, Agreement).join(Agreement, Agreement.id == AgreementItem.agreement_id)
        .where(Agreement.referral_id == referral_id).order_by(Agreement.created_at, AgreementItem.position)).all()
    return [ExportedItem(agreement_status=agreement.status,
                    agreement_status_label=str(AGREEMENT_STATUS_LABELS[agreement.status]),
                    agreement_version=agreement.version, kind=item.kind, kind_label=str(ITEM_KIND_LABELS[item.kind]),
                    description=item.description, due_on=item.due_on, amount_cents=item.amount_cents,
                    currency=item.currency, status=item.status, status_label=str(ITEM_STATUS_LABELS[item.status]))
            for item, agreement in rows]


def _acceptances(referral_id: uuid.UUID, role: str) -> list[ExportedAcceptance]:
    rows = db.session.execute(
        select(Acceptance).join(Agreement, Agreement.id == Acceptance.agreement_id)
        .where(Agreement.referral_id == referral_id, Acceptance.party_role == role)
        .order_by(Acceptance.accepted_at)).scalars()
    return [ExportedAcceptance(agreement_version=row.version, method=row.method,
                          method_label=str(ACCEPTANCE_METHOD_LABELS[row.method]), accepted_at=row.accepted_at)
            for row in rows]


def _messages(party_id: uuid.UUID) -> list[ExportedMessage]:
    rows = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.recipient_kind == "party", OutboxMessage.recipient_id == party_id)
        .order_by(OutboxMessage.created_at)).scalars()
    return [ExportedMessage(template=row.template,
                            subject=str(MESSAGES[row.template].subject) if row.template in MESSAGES else row.template,
                            channel=row.channel, status=row.status, status_label=str(DELIVERY_LABELS[row.status]),
                            queued_at=row.created_at, sent_at=row.sent_at)
            for row in rows]


def _access(referral_id: uuid.UUID) -> list[ExportedAccess]:
    entries = list(db.session.execute(
        select(AuditEntry).where(about_referral(referral_id), AuditEntry.action.in_(READ_ACTIONS))
        .order_by(AuditEntry.seq)).scalars())
    ids = {uuid.UUID(entry.actor_id) for entry in entries if entry.actor_type == "user" and entry.actor_id}
    users = {str(user.id): user for user in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}
    out = []
    for entry in entries:
        user = users.get(entry.actor_id or "")
        out.append(ExportedAccess(at=entry.at, action=entry.action, action_label=str(ACTION_LABELS.get(entry.action,
                                                                                                  entry.action)),
                             by_role=user.role if user else None,
                             by_role_label=str(ROLE_LABELS[user.role]) if user else None,
                             by_name=user.name if user else None))
    return out
