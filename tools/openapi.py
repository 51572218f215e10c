"""Write coordinator/openapi.json: the OpenAPI document of /api/v1, generated from the routes' models.

    .venv/bin/python -m tools.openapi [PATH]      (or `make openapi`)

A worker builds its API blueprints without their description: flask-openapi3 would keep every route's schemas in
each worker, about 3 MB (issue 15), for a document few requests ask for. This builds the app once with its routes
described and writes the document the service serves (coordinator/api.py); a test fails when the file and the
routes disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from coordinator import api


def generate() -> dict[str, Any]:
    """The document as the routes describe it, with the text rule every request passes written into its strings.
    Only in a process of its own: the API blueprints must be built after this call, not before."""
    if "coordinator.factory" in sys.modules:
        raise RuntimeError("the API blueprints were built undescribed: run `python -m tools.openapi`")
    api.DESCRIBE_ROUTES = True
    from config import TestConfig  # noqa: PLC0415 — the blueprints are built here, now that they are described
    from coordinator.factory import create_app  # noqa: PLC0415
    from coordinator.inputs import document_input_rules  # noqa: PLC0415

    app = create_app(TestConfig({"DATABASE_URL": "sqlite://"}))
    return document_input_rules(app.api_doc)


def serialise(document: dict[str, Any]) -> str:
    """One stable text for a document: keys sorted, one member a line, so a change reads as a diff."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(arguments: list[str]) -> int:
    """`python -m tools.openapi [PATH]`: write the document to PATH (coordinator/openapi.json by default)."""
    target = Path(arguments[0]) if arguments else api.OPENAPI_DOCUMENT
    target.write_text(serialise(generate()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
