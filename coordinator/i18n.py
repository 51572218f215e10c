"""Languages (docs/design.md section 7): who sees which language, and the switch on every page."""

from __future__ import annotations

from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from flask import Blueprint, current_app, g, has_request_context, redirect, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from coordinator.accounts.service import set_language
from coordinator.db import db
from coordinator.roster.models import FacilitatorProfile

LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français"}

bp = Blueprint("i18n", __name__)


def language_label(code: str) -> str:
    """A language's name in the reader's language, e.g. 'espagnol' for es in French."""
    try:
        return Locale.parse(code).get_display_name(get_locale()) or code
    except (ValueError, UnknownLocaleError):
        return code


def select_locale() -> str:
    """API callers get their account's language; staff theirs; visitors their choice, else their browser's."""
    languages = current_app.config["LANGUAGES"]
    if forced := g.get("locale"):
        return forced
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if api_user := g.get("api_user"):
        return api_user.language
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or "en"
    if current_user.is_authenticated:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return request.accept_languages.best_match(languages) or "en"


def select_timezone() -> str:
    """Facilitators see times in their own zone; everyone else, and every party, in the programme's."""
    if has_request_context() and not g.get("visit") and current_user.is_authenticated:
        if "profile_timezone" not in g:
            g.profile_timezone = db.session.execute(select(FacilitatorProfile.timezone).where(
                FacilitatorProfile.user_id == current_user.id)).scalar()
        if g.profile_timezone:
            return g.profile_timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def safe_next(target: str | None, fallback: str = "/") -> str:
    """A same-site path to return to; anything else (another host, a scheme, //) goes to `fallback`."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


@bp.post("/language")
def switch_language():
    """Change the page language and go back to where the switch was pressed."""
    language = request.form.get("language", "")
    if language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated:
            set_language(current_user, language)
    return redirect(safe_next(request.form.get("next")))
