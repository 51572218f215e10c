"""Information sheets (docs/design.md rule 2): versioned Markdown files per scope and language, in this package.

`sheets/<scope>/v<N>.<language>.md`, one per party language (docs/design.md section 7); the first line is the
title. Each sheet's review status (`reviewed` or `draft`) is in its language's review.json (coordinator/party_i18n.py).
A decision records the version and the language of the sheet the party was shown, so a new version never changes
what an earlier decision meant.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from coordinator.consent.models import Scope
from coordinator.party_i18n import PARTY_LANGUAGES

SHEETS_DIR = Path(__file__).resolve().parent / "sheets"
SHEET_FILE = re.compile(r"^v(?P<number>\d+)\.(?P<language>[a-z]{2})\.md$")
LANGUAGES = tuple(PARTY_LANGUAGES)  # every current sheet exists in each of them (tests/consent/test_sheets.py)


@dataclass(frozen=True)
class Sheet:
    """One version of one scope's sheet in one language."""

    scope: str
    version: str
    language: str
    title: str
    html: str
    digest: str


@functools.cache
def all_sheets() -> dict[tuple[str, str, str], Sheet]:
    """Every sheet on disk, keyed by (scope, version, language)."""
    from markdown import markdown  # noqa: PLC0415 -- needed once, on first use: not at worker start

    sheets = {}
    for scope in Scope:
        for path in sorted((SHEETS_DIR / scope).glob("v*.md")):
            match = SHEET_FILE.match(path.name)
            if not match:
                continue
            source = path.read_text(encoding="utf-8")
            title, _, body = source.partition("\n")
            version = f"v{match['number']}"
            sheets[(scope.value, version, match["language"])] = Sheet(
                scope=scope.value,
                version=version,
                language=match["language"],
                title=title.lstrip("# ").strip(),
                html=markdown(body, output_format="html"),
                digest=hashlib.sha256(source.encode("utf-8")).hexdigest(),
            )
    return sheets


def current_version(scope: str) -> str:
    """The newest version of a scope's sheet."""
    versions = {version for (sheet_scope, version, _language) in all_sheets() if sheet_scope == scope}
    return max(versions, key=lambda version: int(version[1:]))


def sheet_language(language: str | None) -> str:
    """The sheet language for a reader: theirs when a sheet exists in it, English otherwise."""
    return language if language in LANGUAGES else "en"


def current_sheet(scope: str, language: str | None) -> Sheet:
    """The newest sheet of a scope in the reader's language."""
    return all_sheets()[(scope, current_version(scope), sheet_language(language))]


def find_sheet(scope: str, version: str, language: str) -> Sheet | None:
    """A given version in a given language, if it exists."""
    return all_sheets().get((scope, version, language))
