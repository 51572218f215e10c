"""Information sheets (docs/design.md rule 2 and section 7): the current version of every sheet exists in all thirteen
party languages with the same structure, and the English ones are plain language, at or below grade 6."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import textstat

from coordinator.consent.models import Scope
from coordinator.consent.sheets import LANGUAGES, all_sheets, current_sheet, current_version
from coordinator.party_i18n import PARTY_LANGUAGES

GRADE = 6


class Blocks(HTMLParser):
    """A sheet's text, one sentence-ending block per heading, paragraph and list item."""

    def __init__(self):
        super().__init__()
        self.blocks: list[str] = []
        self.current: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3", "p", "li"):
            self.flush()

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "p", "li"):
            self.flush()

    def handle_data(self, data):
        self.current.append(data)

    def flush(self):
        text = " ".join("".join(self.current).split())
        if text:  # a heading is a sentence of its own, whether or not it ends with a stop
            self.blocks.append(text if text[-1] in ".!?:。" else text + ".")
        self.current = []


def plain_text(sheet) -> str:
    """The sheet as a reader reads it: title, headings and paragraphs, each a sentence."""
    parser = Blocks()
    parser.feed(f"<h1>{sheet.title}</h1>{sheet.html}")
    parser.flush()
    return " ".join(parser.blocks)


def test_every_party_language_has_every_current_sheet():
    """Thirteen languages, three scopes, one current version: the same number of headings in each language."""
    assert tuple(PARTY_LANGUAGES) == LANGUAGES
    for scope in Scope:
        version = current_version(scope)
        english = all_sheets()[(scope.value, version, "en")]
        for code in LANGUAGES:
            sheet = all_sheets().get((scope.value, version, code))
            assert sheet is not None, (scope, version, code)
            assert sheet.html.count("<h2>") == english.html.count("<h2>"), (scope, code)
            assert sheet.html.count("<strong>") >= 1 and len(plain_text(sheet)) > 150, (scope, code)


@pytest.mark.parametrize("scope", list(Scope))
def test_english_sheets_are_at_most_grade_six(scope):
    """Flesch-Kincaid grade (textstat) of the current English sheet, headings counted as sentences."""
    grade = textstat.flesch_kincaid_grade(plain_text(current_sheet(scope, "en")))
    assert grade <= GRADE, f"{scope}: grade {grade:.1f}"


def test_a_language_without_a_portal_reads_the_english_sheet():
    """Hungarian has no sheet: the English one is shown (and staff are warned, tests/referrals/test_language_gaps)."""
    assert current_sheet(Scope.participation, "hu").language == "en"
    assert current_sheet(Scope.participation, "ar").language == "ar"
    assert re.search(r"[\u0600-\u06ff]", current_sheet(Scope.participation, "ar").title)
