"""Factory helpers: build what a test needs through the real services, and a signed-in browser."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from coordinator import clock
from coordinator.accounts import service as accounts
from coordinator.accounts.models import SYSTEM, Role
from coordinator.consent.service import record_decision
from coordinator.db import db
from coordinator.referrals import service as referrals
from coordinator.referrals import workflow
from coordinator.referrals.schemas import ReferralIn
from coordinator.referrals.service import record_acknowledgement
from coordinator.roster.profiles import set_facilitator_profile
from coordinator.safety.instrument import current_instrument
from coordinator.safety.service import record_assessment
from coordinator.sessions.service import record_held_session

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

    def referral(self, *, by=None, prosecutor=None, facilitators=None, status: str | None = None, **overrides):
        """A referral received by a coordinator, optionally assigned and walked to `status`."""
        by = by or self.user(Role.coordinator)
        if prosecutor is not None:
            overrides.setdefault("case", {})["prosecutor_email"] = prosecutor.email
        with self.app.app_context():
            actor = db.session.merge(by)
            referral = referrals.create_referral(actor, ReferralIn.model_validate(referral_payload(**overrides)))
            if facilitators:
                referrals.assign_facilitators(actor, referral, facilitators[0].id, facilitators[1].id)
            for step in walk_to(status):
                target, reason = step
                if target == "preparation":
                    grant_consents(actor, referral)
                if target == "ready":
                    prepare_for_circle(actor, referral)
                automatic = target in ("circle_scheduled", "circle_held", "monitoring", "completed")
                workflow.transition(SYSTEM if automatic else actor, referral, target, reason=reason,
                                    automatic=automatic)
            db.session.commit()
            return referral


def grant_consents(actor, referral, scopes=("participation", "contact_other_party")) -> None:
    """Both parties agree in person to what a referral needs to move past screening (survivor first)."""
    for party, scope in (("survivor", "participation"), ("survivor", "contact_other_party"),
                         ("responsible_party", "participation")):
        if scope in scopes or party == "responsible_party":
            record_decision(actor, referral, party=party, scope=scope, decision="granted", method="in_person")


def prepare_for_circle(actor, referral) -> None:
    """What the readiness gate asks before a circle: acknowledgement, both preparation meetings, an assessment."""
    record_acknowledgement(actor, referral, "plea", "Plea hearing, 2 March")
    yesterday = clock.now() - timedelta(days=1)
    for kind in ("pre_conference_survivor", "pre_conference_responsible"):
        record_held_session(actor, referral, kind, "in_person", yesterday)
    record_assessment(actor, referral, LOW_RISK, "Fictional test assessment.")


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
        page = self.client.get("/account" if self.signed_in else "/login")
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
