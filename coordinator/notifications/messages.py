"""Every kind of message the service sends: its subject, its in-app text and where its link points.

Outgoing texts are neutral: they carry a link, never names, charges or case details (docs/design.md section 6).
Staff emails live in templates/emails/<code>.txt and .html, in the staff languages. What a party receives speaks
the thirteen party languages (docs/design.md section 7): its subject and SMS text are in the party domain, its
bodies in templates/emails/party/<code>.txt and .html. A party's message may say when (the domain that owns the
rule supplies it through `message_context`), never where: "open your page for the place".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from coordinator.party_i18n import _lp


@dataclass(frozen=True)
class MessageKind:
    """One kind of message."""

    code: str
    path: Callable[[dict], str]
    subject: LazyString | None = None  # a staff member's email subject
    notice: LazyString | None = None  # in-app text for staff; may use the notice's params
    party_subject: LazyString | None = None  # a party's email subject (party domain)
    sms: LazyString | None = None  # a party's text (party domain); %(link)s is the only placeholder


# Extra template context of a party's message, by code: a function of the message's params and the party, called in
# the party's language. The domain that owns what it says registers it (the sessions domain, a session's time).
MESSAGE_CONTEXT: dict[str, Callable[[dict, Any], dict]] = {}


def message_context(*codes: str) -> Callable:
    """Register the function that adds context to the party messages `codes` (a decorator)."""
    def register(builder: Callable[[dict, Any], dict]) -> Callable[[dict, Any], dict]:
        for code in codes:
            MESSAGE_CONTEXT[code] = builder
        return builder
    return register


def _referral_page(params: dict) -> str:
    return f"/referrals/{params['referral_id']}"


def _reminder_page(params: dict) -> str:
    # Staff reminders lead to the referral; a party's (queued without params) to the portal's landing page.
    return _referral_page(params) if "referral_id" in params else "/p/"


MESSAGES: dict[str, MessageKind] = {
    kind.code: kind
    for kind in [
        MessageKind(
            code="referral_received",
            subject=_l("A new referral has arrived"),
            notice=_l("Referral %(reference)s has arrived."),
            path=_referral_page,
        ),
        MessageKind(
            code="referral_assigned",
            subject=_l("You have been assigned to a referral"),
            notice=_l("You are now a facilitator of referral %(reference)s."),
            path=_referral_page,
        ),
        MessageKind(
            code="party_update",
            party_subject=_lp("You have a new message about your appointment"),
            sms=_lp("You have a new message about your appointment: %(link)s"),
            path=lambda _params: "/p/",
        ),
        MessageKind(
            code="session_invitation",
            party_subject=_lp("You have a new message about your appointment"),
            sms=_lp("You have a new message about your appointment: %(link)s"),
            path=lambda _params: "/p/",
        ),
        MessageKind(
            code="appointment_cancelled",
            party_subject=_lp("An appointment will not take place"),
            sms=_lp("An appointment you had with us will not take place. You do not need to do anything."),
            path=lambda _params: "/p/",
        ),
        MessageKind(
            code="consent_changed",
            subject=_l("A consent decision was recorded"),
            notice=_l("A consent decision was recorded on referral %(reference)s."),
            path=_referral_page,
        ),
        MessageKind(
            code="link_locked",
            subject=_l("A secure link was locked"),
            notice=_l("A secure link of referral %(reference)s was locked after five wrong PINs."),
            path=_referral_page,
        ),
        MessageKind(
            code="unsafe_reported",
            subject=_l("Someone reported feeling unsafe"),
            notice=_l("A party of referral %(reference)s reported feeling unsafe. Please act now."),
            # A staff text: only the on-call coordinator gets one (coordinator/tasks/service.py `raise_task`).
            sms=_l("Circlekeeper: someone reported feeling unsafe. Please act now: %(link)s"),
            path=_referral_page,
        ),
        MessageKind(
            code="circle_not_ready",
            subject=_l("A booked circle is no longer ready"),
            notice=_l("The circle of referral %(reference)s no longer meets every readiness condition."),
            path=lambda params: f"/referrals/{params['referral_id']}/safety",
        ),
        MessageKind(
            code="session_booked",
            subject=_l("A session has been booked"),
            notice=_l("A session of referral %(reference)s has been booked with you."),
            path=_referral_page,
        ),
        MessageKind(
            code="session_changed",
            subject=_l("A session has changed"),
            notice=_l("A session of referral %(reference)s was moved or cancelled."),
            path=_referral_page,
        ),
        MessageKind(
            code="session_declined",
            subject=_l("A party declined a session"),
            notice=_l("A party of referral %(reference)s declined a session."),
            path=_referral_page,
        ),
        MessageKind(
            code="session_reminder",
            subject=_l("Reminder of an appointment"),
            notice=_l("Reminder: a session of referral %(reference)s is coming up."),
            party_subject=_lp("Reminder of your appointment"),
            sms=_lp("Reminder: you have an appointment soon. Details: %(link)s"),
            path=_reminder_page,
        ),
        MessageKind(
            code="regrant_after_withdrawal",
            subject=_l("A party agreed again after withdrawing"),
            notice=_l("A party of referral %(reference)s agreed again after withdrawing. Nothing restarted by itself: "
                      "please contact them."),
            path=_referral_page,
        ),
        MessageKind(
            code="audit_chain_broken",
            subject=_l("The audit log check found a problem"),
            notice=_l("The daily audit log check failed at entry %(seq)s. Ask your administrator to investigate."),
            path=lambda _params: "/notifications",
        ),
        MessageKind(
            code="agreement_item_overdue",
            subject=_l("An agreement item is overdue"),
            notice=_l("An item of the agreement of referral %(reference)s is overdue."),
            path=_referral_page,
        ),
        MessageKind(
            code="erasure_due",
            subject=_l("A referral's data will soon be erased"),
            notice=_l("The personal data of referral %(reference)s is due to be erased on %(due)s. Set a legal hold "
                      "before then if it must be kept."),
            path=_referral_page,
        ),
        MessageKind(
            code="court_report_prepared",
            subject=_l("A court report is ready for a sentencing hearing"),
            notice=_l("The court report of referral %(reference)s is ready for its sentencing hearing."),
            path=_referral_page,
        ),
        MessageKind(
            code="password_reset",  # its link (coordinator/accounts/resets.py) is kept encrypted until sent
            subject=_l("Choose a new password"),
            path=lambda _params: "/login",
        ),
    ]
}
