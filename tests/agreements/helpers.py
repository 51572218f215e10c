"""Helpers for agreement tests: a referral whose circle was held, and its agreement drafted or accepted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from coordinator import clock
from coordinator.agreements.models import Agreement
from coordinator.agreements.service import ItemDraft, accept, draft_agreement
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.referrals.models import Referral


@dataclass
class Held:
    """A referral in `circle_held`, with its people."""

    referral: Referral
    coordinator: object
    lead: object
    co: object
    prosecutor: object


def held_circle(app, factory, **overrides) -> Held:
    """A referral walked to `circle_held` through the services: its circle was booked and held four days ago."""
    coordinator, prosecutor = factory.user("coordinator"), factory.user("prosecutor")
    lead, co = factory.user("facilitator"), factory.user("facilitator")
    referral = factory.referral(by=coordinator, prosecutor=prosecutor, facilitators=(lead, co), status="circle_held",
                                **overrides)
    return Held(referral, coordinator, lead, co, prosecutor)


def items(app, *, due_in_days: int = 30) -> list[ItemDraft]:
    """An apology and a restitution of 300.00 EUR."""
    with app.app_context():
        due = clock.today() + timedelta(days=due_in_days)
    return [ItemDraft("apology", "A written apology, read in a follow-up meeting.", due),
            ItemDraft("restitution", "Repay the fictional debt in instalments.", due, 30000, "EUR")]


def drafted(app, held: Held, drafts: list[ItemDraft] | None = None) -> Agreement:
    """The lead facilitator drafts the agreement."""
    drafts = drafts or items(app)
    with app.app_context():
        agreement, _created = draft_agreement(db.session.merge(held.lead), db.session.get(Referral, held.referral.id),
                                              drafts)
        db.session.commit()
        return agreement


def activated(app, held: Held, drafts: list[ItemDraft] | None = None) -> Agreement:
    """Drafted, then accepted by both parties in person."""
    agreement = drafted(app, held, drafts)
    with app.app_context():
        lead = db.session.merge(held.lead)
        for role in ("survivor", "responsible_party"):
            accept(lead, db.session.get(Agreement, agreement.id), role, "in_person")
        db.session.commit()
        return db.session.get(Agreement, agreement.id)


def share_with_court(app, held: Held, parties=("survivor", "responsible_party"), decision: str = "granted") -> None:
    """The parties' decisions on sharing the outcome with the court, recorded in person."""
    with app.app_context():
        coordinator = db.session.merge(held.coordinator)
        referral = db.session.get(Referral, held.referral.id)
        for party in parties:
            record_decision(coordinator, referral, party=party, scope="share_outcome_with_court", decision=decision,
                            method="in_person")
        db.session.commit()
