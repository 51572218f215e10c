"""What a party reads (docs/design.md section 7): thirteen languages, in a translation domain of their own.

Staff pages speak English, Spanish and French (domain `messages`, coordinator/translations/). Everything a party
reads (the portal, the information sheets, every message they receive, their calendar files) speaks the thirteen
languages of PARTY_LANGUAGES, from the domain `party` (coordinator/party_translations/<locale>/LC_MESSAGES/party.po).
Party-facing text is marked `_p(...)` (`_lp(...)` where it waits for the reader's language), so `make messages`
extracts each domain on its own and the staff catalogues do not grow thirteen-fold.

Each party catalogue and each information sheet carries a review status, `reviewed` or `draft`, in
coordinator/party_translations/<locale>/review.json; a translator changes it there (README, "Languages").
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from flask_babel import Domain

PARTY_TRANSLATIONS = Path(__file__).resolve().parent / "party_translations"
REVIEWED, DRAFT = "reviewed", "draft"
REVIEW_STATES = (REVIEWED, DRAFT)


@dataclass(frozen=True)
class PartyLanguage:
    """A language a party can read everything in."""

    code: str  # as a party's preferred_language stores it (ISO 639-1)
    locale: str  # Babel's locale: the catalogue's folder, dates and times
    tag: str  # BCP 47, for <html lang>
    name: str  # in the language itself, for the portal's language switch
    rtl: bool = False


PARTY_LANGUAGES: dict[str, PartyLanguage] = {language.code: language for language in [
    PartyLanguage("en", "en", "en", "English"),
    PartyLanguage("es", "es", "es", "Español"),
    PartyLanguage("fr", "fr", "fr", "Français"),
    PartyLanguage("pt", "pt", "pt", "Português"),
    PartyLanguage("ro", "ro", "ro", "Română"),
    PartyLanguage("bg", "bg", "bg", "Български"),
    PartyLanguage("uk", "uk", "uk", "Українська"),
    PartyLanguage("ru", "ru", "ru", "Русский"),
    PartyLanguage("vi", "vi", "vi", "Tiếng Việt"),
    PartyLanguage("zh", "zh_Hans", "zh-Hans", "简体中文"),
    PartyLanguage("th", "th", "th", "ไทย"),
    PartyLanguage("tl", "fil", "tl", "Tagalog"),
    PartyLanguage("ar", "ar", "ar", "العربية", rtl=True),
]}
SOURCE = PARTY_LANGUAGES["en"]

party_domain = Domain(translation_directories=[str(PARTY_TRANSLATIONS)], domain="party")
_p = party_domain.gettext
_lp = party_domain.lazy_gettext


def offered(code: str | None) -> bool:
    """True when the portal, the sheets and the messages exist in this language."""
    return code in PARTY_LANGUAGES


def party_language(code: str | None) -> PartyLanguage:
    """The language a party reads: theirs when it is offered, English otherwise (staff see that gap)."""
    return PARTY_LANGUAGES.get(code or "", SOURCE)


def language_for_locale(locale: object) -> PartyLanguage:
    """The party language of a Babel locale (the portal's current one)."""
    name = str(locale)
    for language in PARTY_LANGUAGES.values():
        if name == language.locale or name.split("_")[0] == language.locale.split("_")[0]:
            return language
    return SOURCE


@dataclass(frozen=True)
class Review:
    """Whether a language's catalogue and sheets were checked by a person who reads it."""

    language: PartyLanguage
    catalogue: str
    sheets: dict[str, str]  # "scope/vN" -> reviewed | draft

    def sheet(self, scope: str, version: str) -> str:
        """A sheet's status; a sheet the file does not name is a draft."""
        return self.sheets.get(f"{scope}/{version}", DRAFT)


@functools.cache
def review_of(code: str) -> Review:
    """The review status of one party language, read from its review.json (a missing entry counts as a draft)."""
    language = party_language(code)
    path = PARTY_TRANSLATIONS / language.locale / "review.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    catalogue = str(data["catalogue"]) if data.get("catalogue") in REVIEW_STATES else DRAFT
    sheets = {key: value for key, value in (data.get("sheets") or {}).items() if value in REVIEW_STATES}
    return Review(language, catalogue, sheets)
