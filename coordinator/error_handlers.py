"""Errors as pages in the reader's language, or as the API's error envelope."""

from __future__ import annotations

from flask import Flask, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from coordinator.api import error_response, is_api_request
from coordinator.errors import ServiceError

KEPT_HEADERS = ("allow", "retry-after")


def page_message(status: int) -> tuple[str, str]:
    """Title and explanation of an error page."""
    messages = {
        400: (_("Something in the request was not right"), _("Go back and try again.")),
        401: (_("Please sign in"), _("Sign in to continue.")),
        403: (_("Not available to you"), _("Your role does not give access to this page.")),
        404: (_("Page not found"), _("This page does not exist, or it is not available to you.")),
        405: (_("Not possible here"), _("This page cannot be used that way.")),
        409: (_("This cannot be done now"), _("The record changed or is in a state that does not allow it.")),
        413: (_("Too much was sent"), _("What was sent is larger than this service accepts. Send less and try again.")),
        429: (_("Too many attempts"), _("Please wait a few minutes and try again.")),
        500: (_("Something went wrong on our side"), _("Nothing you sent was saved. Please try again later.")),
    }
    return messages.get(status, messages[500 if status >= 500 else 400])


def render_error_page(status: int, detail: str | None = None):
    """The error page for `status`; the parties' portal gets its own neutral one."""
    if request.blueprint == "portal":
        return render_template("portal/error.html"), status
    title, message = page_message(status)
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status


def register_error_handlers(app: Flask) -> None:
    """One handler per kind of failure, each answering in the caller's format; the request's writes are undone."""

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        g.request_failed = True
        if is_api_request():
            return error_response(error.status, error.code, error.message, error.details)
        return render_error_page(error.status, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError):
        g.request_failed = True
        return render_error_page(400, _("This form has expired or did not come from this site. Go back, reload "
                                        "the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        g.request_failed = True
        status = error.code or 500
        if is_api_request():
            message = _("Too many requests. Wait a moment and try again.") if status == 429 else error.description
            response = error_response(status, None, message)
        else:
            response = make_response(render_error_page(status))
        # What the exception says about the next request: Allow on a 405 (RFC 9110 15.5.6), Retry-After on a 429.
        for name, value in error.get_headers():
            if name.lower() in KEPT_HEADERS:
                response.headers[name] = value
        if isinstance(error, RateLimitExceeded) and "Retry-After" not in response.headers:
            # The limit's whole window: never too early, and it costs no read of the counters.
            response.headers["Retry-After"] = str(error.limit.limit.get_expiry())
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        g.request_failed = True
        current_app.logger.exception("unhandled error: %s", type(error).__name__)
        if is_api_request():
            return error_response(500, "internal_error", _("Something went wrong on our side. Nothing was saved."))
        return render_error_page(500)
