"""What can happen to referrals: intake, scoped reading, listing and facilitator assignment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Row, Select, and_, false, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, joinedload

from coordinator import clock
from coordinator.accounts.models import Actor, Role, User
from coordinator.audit.service import record, record_disclosure
from coordinator.cases.identity import case_for_referral
from coordinator.crypto import keep_data_key, preload_data_keys
from coordinator.db import atomic, db, new_id
from coordinator.errors import Conflict, Forbidden, InvalidRequest, NotFound
from coordinator.i18n import language_label
from coordinator.keystore import ReferralKey
from coordinator.notifications.service import coordinators, notify_staff
from coordinator.pagination import Page, paginate_newest
from coordinator.party_i18n import offered
from coordinator.referrals.models import (
    TERMINAL,
    Acknowledgement,
    AcknowledgementBasis,
    CriminalCase,
    Party,
    PartyRole,
    ReferenceCounter,
    Referral,
    ReferralLine,
    ReferralStatus,
    ReferralTotal,
    StatusChange,
)
from coordinator.referrals.schemas import PartyIn, ReferralIn
from coordinator.roster import caseload
from coordinator.roster.models import FacilitatorConflict

REFERRERS = (Role.coordinator, Role.prosecutor)
READERS = (Role.coordinator, Role.facilitator, Role.prosecutor)

def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The referrals an actor may know exist: coordinators all, facilitators theirs, prosecutors their cases'."""
    return or_(*_scope_branches(actor))


def _sees_everything(actor: Actor) -> bool:
    """Coordinators' scope is the whole programme."""
    return actor.has_role(Role.coordinator)


def _scope_branches(actor: Actor) -> list[ColumnElement[bool]]:
    """The actor's scope as the parts of an OR, each served by an index in list order (newest first)."""
    if _sees_everything(actor):
        return [true()]
    if actor.has_role(Role.facilitator):
        return [Referral.lead_facilitator_id == actor.id, Referral.co_facilitator_id == actor.id]
    if actor.has_role(Role.prosecutor):
        return [_in_cases_of(actor)]
    return [false()]


def _in_cases_of(prosecutor: Actor) -> ColumnElement[bool]:
    """Referrals of the prosecutor's cases: each carries its case's prosecutor (kept by the database, migration
    0020), so the scope is one range of the (case_prosecutor_id, received_at, id) index."""
    return Referral.case_prosecutor_id == prosecutor.id


def load_referral(actor: Actor, referral_id: uuid.UUID | str, *, erased_ok: bool = False) -> Referral:
    """The referral if it is in the actor's scope; NotFound otherwise, exactly as if it did not exist.

    An erased referral is found only with `erased_ok` (its own page and `GET /referrals/{id}`, which say when it
    was erased and nothing else); everything else about it is gone, so every other door answers 404.
    """
    try:
        key = referral_id if isinstance(referral_id, uuid.UUID) else uuid.UUID(str(referral_id))
    except ValueError:
        raise NotFound(_("Not found.")) from None
    # One statement, read on every door into a referral: the referral with its case, its two parties and the data
    # key that opens their sealed fields.
    found = db.session.execute(
        select(Referral, ReferralKey)
        .outerjoin(ReferralKey, ReferralKey.referral_id == Referral.id)
        .where(Referral.id == key, visible_to(actor))
        .options(joinedload(Referral.parties), joinedload(Referral.case))
    ).unique().one_or_none()
    if found is None or (found[0].erased_at is not None and not erased_ok):
        raise NotFound(_("Not found."))
    referral, data_key_row = found
    keep_data_key(referral.id, data_key_row)
    return referral


def view_referral(actor: Actor, referral_id: uuid.UUID | str) -> Referral:
    """Load a referral for reading (an erased one too) and audit the read."""
    referral = load_referral(actor, referral_id, erased_ok=True)
    view = "prosecution" if actor.has_role(Role.prosecutor) else "full"
    record(actor, "referral.view", referral, referral_id=referral.id, details={"view": view})
    return referral


def list_referrals(actor: Actor, *, status: str | None = None, q: str | None = None, page: int | None = None,
                   per_page: int | None = None, with_names: bool = True) -> Page:
    """One page of the referrals in scope as `ReferralLine`s, newest first, filtered by status and searched by
    reference or docket; `with_names` reads the facilitators' names (the API gives their ids only)."""
    if not actor.has_role(*READERS):
        raise Forbidden(_("Your role has no access to referrals."))
    filters: list[ColumnElement[bool]] = []
    if status:
        filters.append(Referral.status == status)
    if q and (term := q.strip().upper()):
        filters.append(or_(
            Referral.reference == term,
            Referral.case_id.in_(select(CriminalCase.id).where(CriminalCase.docket_number == term)),
        ))
    # The scope's parts are paged apart (an OR would sort and count every row in scope: issue 15).
    branches = [and_(branch, *filters) for branch in _scope_branches(actor)]
    # The whole programme's list: its total is kept by the database (ReferralTotal), not counted row by row.
    whole = _sees_everything(actor) and not filters
    total = db.session.execute(select(ReferralTotal.referrals)).scalar_one() if whole else None
    shows_alias = not actor.has_role(Role.prosecutor)  # prosecutors see the docket and the stage (rule 5)
    shows_names = with_names and shows_alias
    columns = _line_columns(shows_alias, shows_names)
    result = paginate_newest(branches, (Referral.received_at, Referral.id), columns, page, per_page, total=total)
    if shows_alias:  # open the page's keys in one query
        preload_data_keys(row.id for row in result.items if row.erased_at is None)
    lines = [_line(row, shows_alias, shows_names) for row in result.items]
    record_disclosure(actor, "referral.list", [(line, line.id) for line in lines],
                      details={"page": result.page, "shown": len(lines), "status": status, "searched": bool(q)})
    return replace(result, items=lines)


_SURVIVOR = aliased(Party)
_LEAD, _CO = aliased(User), aliased(User)


def _line_columns(shows_alias: bool, with_names: bool) -> Select:
    """What a list line shows, in one statement: the referral's columns and its case's docket; for staff, the
    survivor's sealed alias; with names, the facilitators' sealed names."""
    columns = select(Referral.id, Referral.reference, Referral.status, Referral.paused_from, Referral.received_at,
                     Referral.erased_at, CriminalCase.docket_number, Referral.lead_facilitator_id,
                     Referral.co_facilitator_id).join(CriminalCase, CriminalCase.id == Referral.case_id)
    if shows_alias:
        columns = columns.add_columns(_SURVIVOR.id.label("survivor_id"), _SURVIVOR.alias_enc).outerjoin(
            _SURVIVOR, and_(_SURVIVOR.referral_id == Referral.id, _SURVIVOR.role == PartyRole.survivor))
    if with_names:
        columns = (columns.add_columns(_LEAD.name_enc.label("lead_name_enc"), _CO.name_enc.label("co_name_enc"))
                   .outerjoin(_LEAD, _LEAD.id == Referral.lead_facilitator_id)
                   .outerjoin(_CO, _CO.id == Referral.co_facilitator_id))
    return columns


def _line(row: Row, shows_alias: bool, with_names: bool) -> ReferralLine:
    """A row of `_line_columns` as a line, its sealed cells opened (nothing of an erased referral is)."""
    line = ReferralLine(*row[:9])  # `_line_columns` starts with the line's own nine fields, in their order
    if line.erased_at is not None or not shows_alias:
        return line
    names = ()
    if with_names:
        names = tuple(name for name in (User.name.read(row.lead_name_enc, line.lead_facilitator_id, None),
                                        User.name.read(row.co_name_enc, line.co_facilitator_id, None)) if name)
    return replace(line, survivor_alias=Party.alias.read(row.alias_enc, row.survivor_id, line.id),
                   facilitator_names=names)


def next_reference() -> str:
    """The next human reference of the current year, e.g. RJ-2026-0042; safe under concurrent intakes."""
    year = clock.now().year
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(ReferenceCounter)
    statement = (
        insert.values(year=year, last_value=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_value": ReferenceCounter.last_value + 1})
        .returning(ReferenceCounter.last_value)
    )
    number = db.session.execute(statement).scalar_one()
    return f"RJ-{year}-{number:04d}"


@atomic
def create_referral(actor: User, data: ReferralIn) -> Referral:
    """Take a referral in: its case (found or created), its two parties, a reference, status `received`."""
    if not actor.has_role(*REFERRERS):
        raise Forbidden(_("Your role cannot refer cases."))
    # Which case, and whose: decided in one place, which never hands a prosecutor another's case (rule 10).
    case = case_for_referral(actor, data.case, data.case_id)
    now = clock.now()
    referral = Referral(
        reference=next_reference(),
        source=data.source,
        status=ReferralStatus.received,
        case=case,
        case_id=case.id,
        created_by_id=actor.id,
        received_at=now,
        updated_at=now,
    )
    referral.notes = data.notes
    db.session.add(referral)
    for role, party_in in ((PartyRole.survivor, data.survivor), (PartyRole.responsible_party, data.responsible_party)):
        db.session.add(_new_party(referral, role, party_in))
    db.session.flush()
    record(actor, "referral.create", referral, referral_id=referral.id, details={"source": data.source})
    notify_staff([user for user in coordinators() if user.id != actor.id], "referral_received",
                 key=f"referral_received:{referral.id}", referral=referral)
    return referral


def _new_party(referral: Referral, role: PartyRole, data: PartyIn) -> Party:
    party = Party(referral=referral, referral_id=referral.id, role=role, preferred_language=data.preferred_language,
                  needs_interpreter=data.needs_interpreter, interpreter_arranged=data.interpreter_arranged,
                  timezone=data.timezone)
    party.alias = data.alias
    party.email = data.contact.email
    party.phone = data.contact.phone
    return party


def active_facilitators() -> list[User]:
    """Facilitators who can be assigned, by name."""
    users = db.session.execute(
        select(User).where(User.role == Role.facilitator, User.active.is_(True))
    ).scalars().all()
    return sorted(users, key=lambda user: (user.name or "").lower())


@atomic
def assign_facilitators(actor: Actor, referral: Referral, lead_id: uuid.UUID | str,
                        co_id: uuid.UUID | str, override_reason: str | None = None) -> Referral:
    """Assign the lead and the co-facilitator (coordinators only); a newcomer at their caseload cap needs a reason."""
    if not actor.has_role(Role.coordinator):
        raise Forbidden(_("Only coordinators assign facilitators."))
    if referral.status in TERMINAL:
        raise Conflict(_("This referral has ended."), {"code": "referral_ended"})
    fields: dict[str, list[str]] = {}
    chosen: dict[str, User] = {}
    for field, value in (("lead", lead_id), ("co", co_id)):
        try:
            user = db.session.get(User, value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            user = None
        if user is None or not user.active or user.role != Role.facilitator:
            fields[field] = [_("Choose an active facilitator.")]
        else:
            chosen[field] = user
    if not fields and chosen["lead"].id == chosen["co"].id:
        fields["co"] = [_("The co-facilitator must be a different person from the lead.")]
    if not fields:
        conflicted = set(db.session.execute(select(FacilitatorConflict.user_id).where(
            FacilitatorConflict.user_id.in_([user.id for user in chosen.values()]),
            FacilitatorConflict.docket_number == referral.case.docket_number)).scalars())
        for field, user in chosen.items():
            if user.id in conflicted:
                fields[field] = [_("This facilitator has declared a conflict of interest with this case.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    newcomers = [user for user in chosen.values() if user.id not in referral.facilitator_ids]
    reason = caseload.clean_reason(override_reason)
    full = caseload.at_cap(newcomers)
    if full and not reason:
        raise Conflict(" ".join([item.message for item in full]
                                + [_("Choose someone else, or give a reason to assign over the cap.")]),
                       {"code": "caseload_cap", "facilitators": [
                           {"id": str(item.user.id), "caseload": item.caseload, "cap": item.cap} for item in full]})
    referral.lead_facilitator_id = chosen["lead"].id
    referral.co_facilitator_id = chosen["co"].id
    referral.updated_at = clock.now()
    db.session.flush()
    record(actor, "referral.assign", referral, referral_id=referral.id,
           details={"lead": str(referral.lead_facilitator_id), "co": str(referral.co_facilitator_id)})
    if full:
        caseload.record_overrides(actor, referral, full, reason)
    notify_staff(newcomers, "referral_assigned", key=f"referral_assigned:{new_id()}", referral=referral)
    return referral


def status_history(referral: Referral) -> list[StatusChange]:
    """Every status change of a referral, newest first."""
    query = select(StatusChange).where(StatusChange.referral_id == referral.id).order_by(StatusChange.at.desc())
    return list(db.session.execute(query).scalars())


@atomic
def record_acknowledgement(actor: User, referral: Referral, basis: str, reference: str) -> Acknowledgement:
    """Record where the responsible party acknowledged the basic facts: a reference, never the content."""
    if not actor.has_role(Role.coordinator, Role.facilitator):
        raise Forbidden(_("Your role cannot record an acknowledgement."))
    fields: dict[str, list[str]] = {}
    if basis not in AcknowledgementBasis.__members__:
        fields["basis"] = [_("Choose where the facts were acknowledged.")]
    if not (reference or "").strip() or len(reference) > 200:
        fields["reference"] = [_("Enter a short reference of up to 200 characters, not the content.")]
    if fields:
        raise InvalidRequest(_("Check the highlighted fields."), fields)
    acknowledgement = Acknowledgement(referral_id=referral.id, basis=basis, recorded_by_id=actor.id,
                                      recorded_at=clock.now())
    acknowledgement.reference = reference.strip()
    db.session.add(acknowledgement)
    db.session.flush()
    record(actor, "referral.acknowledgement", acknowledgement, referral_id=referral.id, details={"basis": basis})
    return acknowledgement


def acknowledgements_of(referral: Referral) -> list[Acknowledgement]:
    """The referral's acknowledgements, newest first."""
    return list(db.session.execute(
        select(Acknowledgement).where(Acknowledgement.referral_id == referral.id)
        .order_by(Acknowledgement.recorded_at.desc())
    ).scalars())


@dataclass(frozen=True)
class LanguageGap:
    """A party whose language the portal, the sheets and the messages do not speak (docs/design.md section 7)."""

    party: Party

    @property
    def code(self) -> str:
        """The warning's code."""
        return "language_without_portal"

    @property
    def message(self) -> str:
        """The warning, naming the language, in the reader's language."""
        return _("The portal and the information sheets are not available in %(language)s: this party would read "
                 "them in English. Is an interpreter arranged?", language=language_label(self.party.preferred_language))

    def as_dict(self) -> dict:
        """The warning as the API gives it."""
        return {"code": self.code, "party": self.party.role, "language": self.party.preferred_language,
                "interpreter_arranged": self.party.interpreter_arranged, "message": self.message}


def language_gap(party: Party) -> LanguageGap | None:
    """The one rule for a language gap: the party's language is not a party language."""
    return None if offered(party.preferred_language) else LanguageGap(party)


def language_gaps(referral: Referral) -> list[LanguageGap]:
    """The referral's parties whose language has no portal or sheet, survivor first."""
    return [gap for role in PartyRole if (gap := language_gap(referral.require_party(role))) is not None]


@atomic
def set_interpreter_arranged(actor: Actor, referral: Referral, role: str, arranged: bool) -> Party:
    """Record whether an interpreter is arranged for a party (coordinators and facilitators)."""
    if not actor.has_role(Role.coordinator, Role.facilitator):
        raise Forbidden(_("Your role cannot change this."))
    if role not in PartyRole.__members__:
        raise InvalidRequest.field(_("Check the highlighted fields."), "party",
                                   _("Choose the survivor or the responsible party."))
    party = referral.require_party(PartyRole(role))
    if party.interpreter_arranged != arranged:
        party.interpreter_arranged = arranged
        db.session.flush()
        record(actor, "party.interpreter", party, referral_id=referral.id,
               details={"party": role, "arranged": arranged})
    return party
