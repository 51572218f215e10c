"""Read what a PDF shows, for tests that check what a generated document says (and does not say)."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """The text of every page, as a reader would copy it (fonts' Unicode maps applied)."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
