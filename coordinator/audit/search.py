"""The programme's audit trail for coordinators: search by person, record, action and dates, one page or a CSV file.

Read-only queries on `AuditEntry` (the chain itself is `audit/service.py`'s); each search and each export is itself
audited, with its filters as ids, codes and dates only (docs/design.md rule 7).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, Select, select, true

from coordinator.accounts.models import ROLE_LABELS, Actor, Role, User
from coordinator.audit.models import ACTION_LABELS, AuditEntry
from coordinator.audit.service import record
from coordinator.db import db
from coordinator.errors import Forbidden, InvalidRequest
from coordinator.pagination import clamp_per_page, page_number
from coordinator.referrals.models import PARTY_LABELS, Party, PartyRole, Referral

# How the log names who acted (`AuditEntry.actor_type`), in the reader's language.
ACTOR_KIND_LABELS: dict[str, LazyString] = {
    "user": _l("Staff member"),
    "party": _l("Party"),
    "system": _l("Circlekeeper"),
    "anonymous": _l("Someone not signed in"),
}
EXPORT_LIMIT = 100_000  # rows in one CSV file; narrow the filters for more


def action_label(action: str) -> str:
    """An action in words; the code itself when no label exists."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, str]]:
    """Every labelled action, by label."""
    return sorted(((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda pair: pair[1].lower())


@dataclass(frozen=True)
class AuditFilter:
    """What to look for: who acted (a staff member, or one party of the referral `reference`), about which referral,
    which action, and between which dates (inclusive, in the reader's zone)."""

    user_id: uuid.UUID | None = None
    party: str | None = None
    reference: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    zone: tzinfo = UTC

    def audit_details(self) -> dict[str, Any]:
        """The filters as the audit entry of a search keeps them: ids, codes and dates only."""
        values = {"user": self.user_id and str(self.user_id), "party": self.party, "reference": self.reference,
                  "action": self.action, "since": self.since and self.since.isoformat(),
                  "until": self.until and self.until.isoformat()}
        return {key: value for key, value in values.items() if value}


def parse_filter(args: Any, zone: tzinfo = UTC) -> AuditFilter:
    """The filters of a query string; 400 naming each bad field."""
    fields: dict[str, list[str]] = {}
    user_id = _uuid(args.get("user"))
    if args.get("user") and user_id is None:
        fields["user"] = [_("Choose a staff member from the list.")]
    party = args.get("party") or None
    if party is not None and party not in PartyRole.__members__:
        fields["party"] = [_("Choose a party from the list.")]
    reference = (args.get("reference") or "").strip().upper() or None
    if reference is not None and (len(reference) > 32 or not reference.isprintable()):
        fields["reference"] = [_("Enter a reference such as RJ-2026-0042.")]
    if party and not reference:
        fields["reference"] = [_("Enter the referral's reference to search by one of its parties.")]
    action = args.get("action") or None
    if action is not None and action not in ACTION_LABELS:
        fields["action"] = [_("Choose an action from the list.")]
    since, until = _day(args.get("since"), "since", fields), _day(args.get("until"), "until", fields)
    if since and until and since > until:
        fields["until"] = [_("The end date must be on or after the start date.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    return AuditFilter(user_id, party, reference, action, since, until, zone)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _day(value: str | None, name: str, fields: dict[str, list[str]]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fields[name] = [_("Enter a date, for example 2026-03-31.")]
        return None
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        fields[name] = [_("Enter a date, for example 2026-03-31.")]
        return None
    return day


def _query(filters: AuditFilter) -> Select | None:
    """The entries matching `filters`, newest first; None when a named referral or party does not exist."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if filters.reference:
        referral_id = db.session.execute(
            select(Referral.id).where(Referral.reference == filters.reference)).scalar_one_or_none()
        if referral_id is None:
            return None
        if filters.party:
            party_id = db.session.execute(select(Party.id).where(
                Party.referral_id == referral_id, Party.role == filters.party)).scalar_one_or_none()
            if party_id is None:
                return None
            # What that party did through the portal, and what staff did about them under the referral.
            query = query.where(AuditEntry.actor_type == "party", AuditEntry.actor_id == str(party_id))
        else:
            query = query.where(AuditEntry.referral_id == referral_id)
    if filters.user_id:
        query = query.where(AuditEntry.actor_type == "user", AuditEntry.actor_id == str(filters.user_id))
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    zone = filters.zone
    if filters.since:
        query = query.where(AuditEntry.at >= datetime.combine(filters.since, time.min, zone))
    if filters.until:
        query = query.where(AuditEntry.at < datetime.combine(filters.until + timedelta(days=1), time.min, zone))
    return query


def _require_coordinator(actor: Actor) -> None:
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators read the programme's audit trail."))


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, with who each actor was and each entry's referral reference."""

    entries: Sequence[AuditEntry]
    page: int
    per_page: int
    has_next: bool
    actors: dict[int | None, str]  # by seq: every entry read back has one
    references: dict[uuid.UUID, str]

    @property
    def has_previous(self) -> bool:
        """True when a page comes before this one."""
        return self.page > 1


def search(actor: Actor, filters: AuditFilter, page: int | None = None, per_page: int | None = None) -> AuditPage:
    """One page of matching entries (no total: one look past the page tells whether another follows); audited."""
    _require_coordinator(actor)
    size, number = clamp_per_page(per_page), page_number(page)
    query = _query(filters)
    rows: list[AuditEntry] = [] if query is None else list(db.session.execute(
        query.limit(size + 1).offset((number - 1) * size)).scalars())
    entries = rows[:size]
    record(actor, "audit.search", details={**filters.audit_details(), "page": number})
    return AuditPage(entries, number, size, len(rows) > size, actor_labels(entries), references_of(entries))


def export_csv(actor: Actor, filters: AuditFilter) -> Iterator[str]:
    """Every matching entry (up to EXPORT_LIMIT) as CSV text, header first; the export is audited before a row."""
    _require_coordinator(actor)
    record(actor, "audit.export", details=filters.audit_details())
    query = _query(filters)
    entries = [] if query is None else list(db.session.execute(query.limit(EXPORT_LIMIT)).scalars())
    return _csv_lines(entries)


def _csv_lines(entries: list[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [_("Number"), _("When (UTC)"), _("Kind of actor"), _("Who"), _("Action code"), _("What"),
              _("Record"), _("Record id"), _("Referral")]
    writer.writerow([str(cell) for cell in header])
    for start in range(0, len(entries), 1000):
        chunk = entries[start:start + 1000]
        actors, references = actor_labels(chunk), references_of(chunk)
        for entry in chunk:
            writer.writerow([safe_cell(cell) for cell in (
                entry.seq, entry.at.strftime("%Y-%m-%dT%H:%M:%SZ"), actor_kind_label(entry.actor_type),
                actors[entry.seq], entry.action, action_label(entry.action), entry.object_type or "",
                entry.object_id or "", references.get(entry.referral_id, "") if entry.referral_id else "")])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if not entries:
        yield buffer.getvalue()


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP: CSV injection)."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def actor_kind_label(kind: str) -> str:
    """The kind of actor in words."""
    label = ACTOR_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def actor_labels(entries: Iterable[AuditEntry]) -> dict[int | None, str]:
    """Who made each entry, by sequence number: a staff member's name and role, a party's role, or the kind."""
    entries = list(entries)
    user_ids = {_uuid(e.actor_id) for e in entries if e.actor_type == "user"} - {None}
    party_ids = {_uuid(e.actor_id) for e in entries if e.actor_type == "party"} - {None}
    users = _staff_labels(User.id.in_(user_ids)) if user_ids else {}
    parties = {str(party_id): role for party_id, role in db.session.execute(
        select(Party.id, Party.role).where(Party.id.in_(party_ids))).all()} if party_ids else {}
    labels = {}
    for entry in entries:
        if entry.actor_type == "user" and entry.actor_id in users:
            labels[entry.seq] = users[entry.actor_id]
        elif entry.actor_type == "party" and entry.actor_id in parties:
            labels[entry.seq] = str(PARTY_LABELS[parties[entry.actor_id]])
        else:
            labels[entry.seq] = actor_kind_label(entry.actor_type)
    return labels


def references_of(entries: Iterable[AuditEntry]) -> dict[uuid.UUID, str]:
    """The human reference of each referral the entries are about."""
    ids = {entry.referral_id for entry in entries if entry.referral_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(Referral.id, Referral.reference).where(Referral.id.in_(ids))).all())


def staff_choices() -> list[tuple[str, str]]:
    """Every staff account, by name, for the person filter."""
    return sorted(_staff_labels(true()).items(), key=lambda pair: pair[1].lower())


def _staff_labels(condition: ColumnElement[bool]) -> dict[str, str]:
    """"Name (Role)" of each staff account matching `condition`, by id: three columns a row, not the account, and
    each role put in words once (the audit page lists every account in its person filter)."""
    roles = {role: str(label) for role, label in ROLE_LABELS.items()}
    return {str(user_id): f"{User.name.read(name_enc, user_id, None)} ({roles[role]})" for user_id, name_enc, role
            in db.session.execute(select(User.id, User.name_enc, User.role).where(condition))}
