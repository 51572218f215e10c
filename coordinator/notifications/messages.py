"""Every kind of message the service sends: its subject, its in-app text and where its link points.

Outgoing texts are neutral: they carry a link, never names, charges or case details (docs/design.md section 6).
Their bodies live in templates/emails/<code>.txt and .html; the SMS body is the `sms` text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class MessageKind:
    """One kind of message."""

    code: str
    subject: LazyString
    path: Callable[[dict], str]
    notice: LazyString | None = None  # in-app text for staff; may use the notice's params
    sms: LazyString | None = None  # for parties; %(link)s is the only placeholder


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
            subject=_l("You have a new message about your appointment"),
            sms=_l("You have a new message about your appointment: %(link)s"),
            path=lambda _params: "/p/",
        ),
        MessageKind(
            code="appointment_cancelled",
            subject=_l("An appointment will not take place"),
            sms=_l("An appointment you had with us will not take place. You do not need to do anything."),
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
            sms=_l("Reminder: you have an appointment soon. Details: %(link)s"),
            path=_reminder_page,
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
    ]
}
