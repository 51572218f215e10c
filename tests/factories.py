"""Factory helpers: build what a test needs through the real services, and a signed-in browser."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from coordinator import clock
from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM, Role
from coordinator.agreements.queries import items_of
from coordinator.agreements.service import ItemDraft, accept, draft_agreement, record_progress
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.referrals import service as referrals
from coordinator.referrals import workflow
from coordinator.referrals.schemas import ReferralIn
from coordinator.referrals.service import record_acknowledgement
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.safety.instrument import current_instrument
from coordinator.safety.service import record_assessment
from coordinator.sessions.booking import book_session, mark_held

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def referral_payload(**overrides) -> dict:
    """A valid `POST /api/v1/referrals` body with fictional data; nested keys can be overridden."""
    number = next(_numbers)
    payload = {
        "source": "prosecutor",
        "case": {"jurisdiction": "Testshire", "court": "Testshire Crown Court", "docket_number": f"T-{number:05d}",
                 "charges": ["Human trafficking"], "stage": "charged", "prosecutor_email": None},
        "survivor": {"alias": f"Survivor {number}", "preferred_language": "es", "needs_interpreter": False,
                     "contact": {"email": f"survivor{number}@example.org", "phone": "+1 555 0100"}},
        "responsible_party": {"alias": f"Responsible {number}", "preferred_language": "en",
                              "contact": {"email": f"responsible{number}@example.org"}},
        "notes": None,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(payload.get(key), dict):
            payload[key] = {**payload[key], **value}
        else:
            payload[key] = value
    return payload


class Factory:
    """Each method runs in its own app context and commits, like a request would."""

    def __init__(self, app):
        self.app = app

    def user(self, role: Role | str = Role.coordinator, *, email: str | None = None, name: str | None = None,
             password: str = PASSWORD, language: str = "en"):
        """A staff account."""
        number = next(_numbers)
        with self.app.app_context():
            user, _ = accounts.create_user(SYSTEM, email=email or f"{role}{number}@staff.example", role=role,
                                           name=name or f"{str(role).title()} {number}", password=password,
                                           language=language)
            if role == Role.facilitator:  # on the roster, trained, speaking the test parties' languages
                set_facilitator_profile(SYSTEM, user, ["en", "es", "fr"],
                                        {"trafficking_specialist": clock.now().date() + timedelta(days=365)})
            db.session.commit()
            return user

    def token(self, user) -> str:
        """A new API token for the user."""
        with self.app.app_context():
            user = db.session.merge(user)
            _, plaintext = accounts.issue_token(SYSTEM, user, "tests")
            db.session.commit()
            return plaintext

    def referral(self, *, by=None, prosecutor=None, facilitators=None, status: str | None = None,
                 caseload_override: str | None = "test set-up: over the cap on purpose", **overrides):
        """A referral received by a coordinator, optionally assigned and walked to `status` through the services.

        Nothing is inserted by hand: a circle is booked and held, an agreement drafted and accepted, and what had to
        happen in the past (preparation meetings, a held circle) is recorded at that time with `clock.travel`.
        Tests that pile referrals on one pair go over the caseload cap: the factory gives a reason, recorded only
        then (tests/referrals/test_caseload.py checks the refusal without one).
        """
        by = by or self.user(Role.coordinator)
        if prosecutor is not None:
            overrides.setdefault("case", {})["prosecutor_email"] = prosecutor.email
        with self.app.app_context():
            actor = db.session.merge(by)
            steps = [target for target, _reason in walk_to(status)]
            # Preparation meetings are booked four days before they count as held; a held circle needs its
            # whole preparation six days back. Each step is recorded at its own time, in order.
            now = clock.now()
            ready_at = now - timedelta(days=6) if status in AFTER_CIRCLE else now
            origin = ready_at - timedelta(days=4) if "ready" in steps else now
            with clock.travel(origin):
                referral = referrals.create_referral(actor, ReferralIn.model_validate(referral_payload(**overrides)))
                if facilitators:
                    referrals.assign_facilitators(actor, referral, facilitators[0].id, facilitators[1].id,
                                                  caseload_override)
                for target, reason in walk_to(status):
                    if target == "preparation":
                        grant_consents(actor, referral)
                    if target == "ready":
                        break
                    workflow.transition(actor, referral, target, reason=reason)
            if "ready" in steps:
                with clock.travel(ready_at):
                    prepare_for_circle(actor, referral)
                    workflow.transition(actor, referral, "ready")
                    if status == "circle_scheduled":
                        book_circle(actor, referral)
                    if status in AFTER_CIRCLE:
                        hold_circle(actor, referral)
            if status in ("monitoring", "completed"):
                agree(actor, referral, completed=status == "completed")
            db.session.commit()
            return referral


AFTER_CIRCLE = ("circle_held", "monitoring", "completed")


def grant_consents(actor, referral, scopes=("participation", "contact_other_party")) -> None:
    """Both parties agree in person to what a referral needs to move past screening (survivor first)."""
    for party, scope in (("survivor", "participation"), ("survivor", "contact_other_party"),
                         ("responsible_party", "participation")):
        if scope in scopes or party == "responsible_party":
            record_decision(actor, referral, party=party, scope=scope, decision="granted", method="in_person")


def prepare_for_circle(actor, referral, facilitators=None) -> None:
    """What the readiness gate asks before a circle: acknowledgement, both preparation meetings held (booked four days
    ago, held yesterday, by the referral's facilitators unless others are named), an assessment."""
    now = clock.now()
    with clock.travel(now - timedelta(days=4)):
        meetings = [book_session(actor, referral, kind=kind, fmt="video", start=clock.now() + timedelta(hours=hours),
                                 end=clock.now() + timedelta(hours=hours + 1),
                                 facilitator_ids=facilitators or sorted(referral.facilitator_ids, key=str))
                    for kind, hours in (("pre_conference_survivor", 50), ("pre_conference_responsible", 54))]
    with clock.travel(now - timedelta(days=1)):
        for meeting, party in zip(meetings, ("survivor", "responsible_party"), strict=True):
            mark_held(actor, meeting, [party])
    record_acknowledgement(actor, referral, "plea", "Plea hearing, 2 March")
    record_assessment(actor, referral, LOW_RISK, "Fictional test assessment.")


def make_ready(actor, referral) -> None:
    """Walk a referral still before `ready` to it: consents, preparation meetings, an assessment, then the move."""
    grant_consents(actor, referral)
    for target in {"received": ("screening", "preparation"), "screening": ("preparation",)}.get(referral.status, ()):
        workflow.transition(actor, referral, target)
    prepare_for_circle(actor, referral)
    workflow.transition(actor, referral, "ready")


def book(actor, referral, kind: str, start, hours: int = 2, facilitators=None):
    """Book a session by video through the service, held by the referral's facilitators unless others are named."""
    return book_session(actor, referral, kind=kind, fmt="video", start=start, end=start + timedelta(hours=hours),
                        facilitator_ids=list(facilitators or sorted(referral.facilitator_ids, key=str)))


def book_circle(actor, referral):
    """The referral's circle, by video two days and an hour ahead, with its lead and co-facilitator."""
    return book(actor, referral, "circle", clock.now() + timedelta(days=2, hours=1))


def hold_circle(actor, referral) -> None:
    """Book the circle and, once it has begun, record it held with both parties there."""
    circle = book_circle(actor, referral)
    with clock.travel(circle.starts_at + timedelta(hours=3)):
        mark_held(actor, circle, ["survivor", "responsible_party"])


def agree(actor, referral, completed: bool = False) -> None:
    """An apology and a programme, drafted after the circle and accepted by both parties; kept if `completed`."""
    due = clock.today() + timedelta(days=30)
    agreement, _created = draft_agreement(actor, referral, [ItemDraft("apology", "A written apology (fictional).", due),
                                                           ItemDraft("programme", "A fictional programme.", due)])
    for party in ("survivor", "responsible_party"):
        accept(actor, agreement, party, "in_person")
    if completed:
        for item in items_of(agreement):
            record_progress(actor, item, "completed", None)


LOW_RISK = {item.code: item.answers[0].code for item in current_instrument().items}


PATH = ["screening", "preparation", "ready", "circle_scheduled", "circle_held", "monitoring", "completed"]


def walk_to(status: str | None) -> list[tuple[str, str | None]]:
    """The moves from `received` to `status`."""
    if status in (None, "received"):
        return []
    if status == "paused":
        return [("screening", None), ("paused", "facilitator_stop")]
    if status == "closed":
        return [("closed", "not_suitable")]
    return [(target, None) for target in PATH[: PATH.index(status) + 1]]


CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


class Browser:
    """A staff member's browser: forms are posted with the CSRF token the pages carry."""

    def __init__(self, client):
        self.client = client
        self.signed_in = False

    def csrf(self) -> str:
        """A valid CSRF token for this browser's session."""
        page = self.client.get("/account" if self.signed_in else "/login", follow_redirects=True)
        return CSRF.search(page.get_data(as_text=True)).group(1)

    def login(self, email: str, password: str = PASSWORD):
        """Sign in through the login form."""
        response = self.client.post("/login", data={"csrf_token": self.csrf(), "email": email,
                                                    "password": password})
        self.signed_in = response.status_code == 302
        return response

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        """Post a form, with this session's CSRF token unless `csrf=False`."""
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        return self.client.post(url, data=data, **kwargs)
