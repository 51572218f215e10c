"""Keep secrets out of logs (docs/design.md section 5): no link or calendar-feed token ever reaches a log line.

Request paths reach logs in four places: Werkzeug's development server, gunicorn's access log, gunicorn's error
log (a malformed request line, an error escaping the app) and Flask's own "Exception on <path>" on the app's
logger. All are filtered here; gunicorn picks its logger class up from gunicorn.conf.py.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

# A party's secure link (/p/<token>), a facilitator's calendar feed (/calendar/feed/<token>.ics) and a staff
# password-reset link (/password/reset/<token>): the path up to the token is kept, so a log still says which kind of
# request it was.
SECRET_PATH = re.compile(r"(/p/|/calendar/feed/|/password/reset/)[A-Za-z0-9_\-]{16,}")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    """Replace every secure-link and calendar-feed token in `text`."""
    return SECRET_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """A logging filter that redacts tokens from a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


# The development server's request log, and the app's logger (Flask names it after the app's package and logs
# "Exception on <path> [METHOD]" there when a request fails outside its view, e.g. at the commit).
REDACTED_LOGGERS = ("werkzeug", "coordinator")


def add_redaction(logger: logging.Logger) -> None:
    """Filter every record logged through `logger` (once)."""
    if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
        logger.addFilter(RedactTokens())


def install_log_redaction() -> None:
    """Filter the development server's request log and the app's own logger."""
    for name in REDACTED_LOGGERS:
        add_redaction(logging.getLogger(name))


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger, with tokens redacted from every access-log atom (request line, path, referer) and from
    the error log, which quotes the request line or URI of a malformed or failed request."""

    def setup(self, cfg):
        super().setup(cfg)
        add_redaction(self.error_log)

    def atoms(self, resp, req, environ, request_time):
        values = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in values.items()}
