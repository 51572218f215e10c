"""Keep secrets out of logs (DESIGN.md section 5): a link's token never reaches a log line.

Two places write request lines: Werkzeug's development server and gunicorn's access log. Both are filtered
here; gunicorn picks its logger class up from gunicorn.conf.py.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

LINK_TOKEN = re.compile(r"/p/[A-Za-z0-9_\-]{16,}")
REDACTED = "/p/[redacted]"


def redact(text: str) -> str:
    """Replace every secure-link token in `text`."""
    return LINK_TOKEN.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """A logging filter that redacts tokens from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install_log_redaction() -> None:
    """Filter the development server's request log (and anything else logging through `werkzeug`)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
        logger.addFilter(RedactTokens())


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger, with tokens redacted from every access-log atom (request line, path, referer)."""

    def atoms(self, resp, req, environ, request_time):
        values = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in values.items()}
