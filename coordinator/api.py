"""The /api/v1 base (docs/api.md): bearer-token authentication, the error envelope, the OpenAPI document."""

from __future__ import annotations

import uuid
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_openapi3 import APIBlueprint, Tag
from flask_openapi3.types import ResponseDict, SecuritySchemesDict
from pydantic import BaseModel, ValidationError

from coordinator.accounts.models import User
from coordinator.accounts.service import authenticate_token, sha256_hex
from coordinator.extensions import csrf, limiter

API_PREFIX = "/api/v1"
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
SECURITY_SCHEMES: SecuritySchemesDict = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API token from `users token`"}}
# The OpenAPI document is generated from the routes by `make openapi` (tools/openapi.py) and served from this
# file; only that generation builds the blueprints with their description (DESCRIBE_ROUTES), which every worker
# would otherwise keep in memory.
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")
DESCRIBE_ROUTES = False
STATUS_CODES = {400: "invalid_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "invalid_request", 415: "invalid_request",
                429: "rate_limited"}


class ErrorBody(BaseModel):
    """The error itself: a fixed code, a message for people, and details for programs."""

    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """Every API error: `{"error": {"code", "message", "details"}}`."""

    error: ErrorBody


class DeletedOut(BaseModel):
    """What was removed."""

    id: uuid.UUID
    deleted: bool


ERROR_RESPONSES: ResponseDict = {
    str(status): ErrorEnvelope for status in (400, 401, 403, 404, 409, 429)}


def is_api_request() -> bool:
    """True for requests to the JSON API, which answer errors with the envelope instead of a page."""
    return request.path.startswith(API_PREFIX + "/")


def error_response(status: int, code: str | None = None, message: str | None = None, details: Any = None):
    """The error envelope with its status."""
    body = {"code": code or STATUS_CODES.get(status, "error"), "message": message or "", "details": details}
    response = jsonify(error=body)
    response.status_code = status
    return response


def validation_error_response(error: ValidationError):
    """flask-openapi3's hook for bodies, paths and queries that fail their model: 400 with field errors."""
    if request.method in ("POST", "PUT", "PATCH") and request.get_json(silent=True) is None:
        return error_response(400, "invalid_request", _("The request body must be JSON with Content-Type "
                                                          "application/json."), {"body": [_("Not valid JSON.")]})
    fields: dict[str, list[str]] = {}
    for problem in error.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in problem["loc"]) or "body"
        fields.setdefault(path, []).append(problem["msg"])
    return error_response(400, "invalid_request", _("Some fields are missing or invalid."), fields)


def api_blueprint(name: str, import_name: str, tag: str) -> APIBlueprint:
    """A blueprint of authenticated JSON routes under /api/v1: bearer tokens only, so no CSRF and no cookies."""
    blueprint = APIBlueprint(name, import_name, url_prefix=API_PREFIX, abp_tags=[Tag(name=tag)],
                             abp_security=SECURITY, abp_responses=ERROR_RESPONSES, doc_ui=DESCRIBE_ROUTES)
    blueprint.before_request(_authenticate)
    csrf.exempt(blueprint)
    # One budget per token across the whole API (a shared scope), not one per route.
    limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=_token_key)(blueprint)
    # Failed authentications, per address across the whole API, checked before any token is looked up: guessing
    # tokens stops at the limit (429) instead of costing a lookup each.
    limiter.shared_limit(lambda: current_app.config["API_UNAUTHENTICATED_RATE_LIMIT"], scope="api-unauthenticated",
                         key_func=_address_key, deduct_when=lambda response: response.status_code == 401)(blueprint)
    return blueprint


def _token_key() -> str:
    # The header is hashed: a rate-limit key (a Redis key name) never holds a secret.
    return "api:" + sha256_hex(request.headers.get("Authorization", "") or request.remote_addr or "")


def _address_key() -> str:
    return "api-unauthenticated:" + (request.remote_addr or "")


def _authenticate():
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    user = authenticate_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        return error_response(401, "unauthenticated", _("Send a valid API token as 'Authorization: Bearer …'."))
    g.api_user = user
    return None


def api_actor() -> User:
    """The staff member behind the current API request."""
    return g.api_user


public = Blueprint("api_public", __name__)
csrf.exempt(public)


@public.get(API_PREFIX + "/openapi.json")
def openapi_document():
    """The OpenAPI 3 document, generated by flask-openapi3 from the models the routes validate with, and the text
    rule every request passes (coordinator/inputs.py) written into its strings (tools/openapi.py)."""
    return current_app.response_class(_document_bytes(), mimetype="application/json")


@cache
def _document_bytes() -> bytes:
    return OPENAPI_DOCUMENT.read_bytes()
