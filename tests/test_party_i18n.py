"""The parties' translation domain (docs/design.md section 7): thirteen complete catalogues, compiled and current, each
with a review status; staff text never in it and party text never in the staff's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from coordinator.party_i18n import PARTY_LANGUAGES, PARTY_TRANSLATIONS, REVIEW_STATES, review_of

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("coordinator/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
THIRTEEN = ("en", "es", "fr", "pt", "ro", "bg", "uk", "ru", "vi", "zh", "th", "tl", "ar")


def extracted(keywords: dict) -> set[str]:
    """Every string marked with `keywords` in the code and templates, as `make messages` extracts it."""
    return {message for _f, _l, message, _c, _x in extract_from_dir(
        str(ROOT), METHODS, keywords=keywords, options_map={"templates/**.html": {}, "templates/**.txt": {}})}


def catalogue(code: str):
    """A party language's catalogue."""
    with (PARTY_TRANSLATIONS / PARTY_LANGUAGES[code].locale / "LC_MESSAGES" / "party.po").open("rb") as handle:
        return read_po(handle)


def test_the_thirteen_languages_are_offered():
    """The issue's list, Arabic right to left and no other."""
    assert tuple(PARTY_LANGUAGES) == THIRTEEN
    assert [code for code, language in PARTY_LANGUAGES.items() if language.rtl] == ["ar"]


@pytest.mark.parametrize("code", THIRTEEN)
def test_each_party_catalogue_is_complete(code):
    """Every party string is there, translated, not fuzzy, with its placeholders, and compiled since."""
    wanted = extracted({"_p": None, "_lp": None})
    messages = {message.id: message for message in catalogue(code) if message.id}
    assert wanted and not wanted - set(messages), f"{code}: run `make messages`: {sorted(wanted - set(messages))[:5]}"
    assert not set(messages) - wanted, f"{code}: obsolete: {sorted(set(messages) - wanted)[:5]}"
    for msgid, message in messages.items():
        assert message.string and not message.fuzzy, f"{code}: untranslated {msgid!r}"
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(msgid)), (code, msgid)
    po = PARTY_TRANSLATIONS / PARTY_LANGUAGES[code].locale / "LC_MESSAGES" / "party.po"
    mo = po.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make translations` ({code})"


def test_party_text_and_staff_text_stay_in_their_own_domains():
    """Nothing a party reads is in the staff catalogues, which stay in three languages."""
    party = extracted({"_p": None, "_lp": None})
    with (ROOT / "coordinator" / "translations" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        staff = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(handle) if m.id}
    assert "Leave this page quickly" in party and "Leave this page quickly" not in staff
    assert sorted(path.name for path in (ROOT / "coordinator" / "translations").iterdir() if path.is_dir()) == \
        ["en", "es", "fr"]


@pytest.mark.parametrize("code", THIRTEEN)
def test_each_language_says_what_a_person_has_reviewed(code):
    """review.json names the catalogue and every sheet file of the language as reviewed or draft; English, Spanish
    and French are reviewed, the ten others start as drafts."""
    language = PARTY_LANGUAGES[code]
    data = json.loads((PARTY_TRANSLATIONS / language.locale / "review.json").read_text(encoding="utf-8"))
    assert data["language"] == code and data["catalogue"] in REVIEW_STATES
    sheets = {f"{path.parent.name}/{path.name.split('.')[0]}"
              for path in (ROOT / "coordinator" / "consent" / "sheets").glob(f"*/v*.{code}.md")}
    assert sheets and set(data["sheets"]) == sheets and set(data["sheets"].values()) <= set(REVIEW_STATES)
    expected = "reviewed" if code in ("en", "es", "fr") else "draft"
    assert review_of(code).catalogue == expected
    assert set(data["sheets"].values()) == {expected}
