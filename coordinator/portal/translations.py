"""The coordinators' page of the party languages: each catalogue's and sheet's review status, and how complete
each catalogue is (docs/design.md section 7, "Each catalogue is marked reviewed or draft")."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from babel.messages.pofile import read_po
from flask import Blueprint, render_template
from flask_babel import lazy_pgettext

from coordinator.accounts.models import Role
from coordinator.consent.models import Scope
from coordinator.consent.sheets import current_version, find_sheet
from coordinator.pages import role_required
from coordinator.party_i18n import PARTY_LANGUAGES, PARTY_TRANSLATIONS, PartyLanguage, Review, review_of

bp = Blueprint("translations", __name__)
REVIEW_LABELS = {"reviewed": lazy_pgettext("translation review", "Reviewed"),
                 "draft": lazy_pgettext("translation review", "Draft")}


@dataclass(frozen=True)
class SheetState:
    """One current sheet in one language."""

    scope: str
    version: str
    present: bool
    status: str


@dataclass(frozen=True)
class LanguageState:
    """A party language: its catalogue's completeness and review, and its current sheets."""

    language: PartyLanguage
    review: Review
    translated: int
    total: int
    sheets: list[SheetState]


@functools.cache
def catalogue_counts(locale: str) -> tuple[int, int]:
    """How many of the catalogue's messages are translated (fuzzy ones do not count), and how many there are."""
    path = PARTY_TRANSLATIONS / locale / "LC_MESSAGES" / "party.po"
    with path.open("rb") as handle:
        messages = [message for message in read_po(handle) if message.id]
    done = [message for message in messages if message.string and not message.fuzzy]
    return len(done), len(messages)


def language_states() -> list[LanguageState]:
    """Every party language, in the order the portal offers them."""
    states = []
    for language in PARTY_LANGUAGES.values():
        review = review_of(language.code)
        translated, total = catalogue_counts(language.locale)
        sheets = []
        for scope in Scope:
            version = current_version(scope)
            present = find_sheet(scope, version, language.code) is not None
            sheets.append(SheetState(scope.value, version, present, review.sheet(scope, version)))
        states.append(LanguageState(language, review, translated, total, sheets))
    return states


@bp.get("/languages")
@role_required(Role.coordinator, Role.admin)
def index():
    """What parties can read in each language, and which translations a person has checked."""
    return render_template("translations/index.html", states=language_states(), REVIEW_LABELS=REVIEW_LABELS)
