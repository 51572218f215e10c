"""The words a party reads for the service's codes: consent, appointments, agreements (docs/design.md section 7).

Staff labels live beside each domain's models in the staff catalogues; these are the parties' own, in the party
domain and the thirteen party languages, and they never say "survivor" or "responsible party".
"""

from __future__ import annotations

from flask_babel.speaklater import LazyString

from coordinator.party_i18n import _lp

SCOPE: dict[str, LazyString] = {
    "participation": _lp("Taking part"),
    "contact_other_party": _lp("Contact with the other person"),
    "share_outcome_with_court": _lp("Telling the court about the agreement"),
}

CONSENT_STATUS: dict[str, LazyString] = {
    "not_requested": _lp("Not asked yet"),
    "pending": _lp("Waiting for a decision"),
    "granted": _lp("Agreed"),
    "withdrawn": _lp("Withdrawn"),
    "expired": _lp("Expired"),
}

SESSION_KIND: dict[str, LazyString] = {
    "pre_conference_survivor": _lp("Preparation meeting"),
    "pre_conference_responsible": _lp("Preparation meeting"),
    "circle": _lp("Circle meeting"),
    "follow_up": _lp("Follow-up meeting"),
}

FORMAT: dict[str, LazyString] = {
    "in_person": _lp("In person"),
    "video": _lp("By video"),
    "shuttle": _lp("Through your facilitators"),
    "letter": _lp("By letter"),
}

RESPONSE: dict[str, LazyString] = {
    "pending": _lp("not answered yet"),
    "confirmed": _lp("confirmed"),
    "declined": _lp("declined"),
}

ITEM_KIND: dict[str, LazyString] = {
    "apology": _lp("Apology"),
    "restitution": _lp("Paying back"),
    "service": _lp("Work to repair the harm"),
    "programme": _lp("A course or programme"),
    "no_contact": _lp("No contact"),
    "other": _lp("Something else"),
}

ITEM_STATUS: dict[str, LazyString] = {
    "open": _lp("Not done yet"),
    "completed": _lp("Done"),
    "missed": _lp("Not done in time"),
    "waived": _lp("No longer needed"),
}

TEMPLATE_GLOBALS = {
    "PARTY_SCOPE": SCOPE,
    "PARTY_CONSENT_STATUS": CONSENT_STATUS,
    "PARTY_SESSION_KIND": SESSION_KIND,
    "PARTY_FORMAT": FORMAT,
    "PARTY_RESPONSE": RESPONSE,
    "PARTY_ITEM_KIND": ITEM_KIND,
    "PARTY_ITEM_STATUS": ITEM_STATUS,
}
