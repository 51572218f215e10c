"""Catalogue upkeep for `make messages`: English is the source language, so its catalogues mirror the source.

Both domains: the staff's (`messages`, coordinator/translations/) and the parties' (`party`,
coordinator/party_translations/, docs/design.md section 7).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
PARTY_TRANSLATIONS = Path(__file__).resolve().parent / "party_translations"
ENGLISH = {"messages": TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po",
           "party": PARTY_TRANSLATIONS / "en" / "LC_MESSAGES" / "party.po"}


def fill_english(domain: str = "messages") -> int:
    """Set every English message of a domain to its source text; returns how many were filled."""
    path = ENGLISH[domain]
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale="en")
    filled = 0
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            if message.string is None or not all(message.string):
                message.string = (message.id[0], message.id[1])
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalogue, omit_header=False, sort_output=True, no_location=True)
    return filled


if __name__ == "__main__":
    if sys.argv[1:] != ["fill-english"]:
        raise SystemExit("usage: python -m coordinator.i18n_catalogues fill-english")
    for name in ENGLISH:  # a command-line report
        print(f"English catalogue ({name}): {fill_english(name)} messages filled from the source.")  # noqa: T201
