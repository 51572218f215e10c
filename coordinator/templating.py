"""What every template may use: labels, the language list, dates in the reader's language, page links."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from flask import Flask, has_request_context, request, url_for
from flask_babel import format_currency, format_date, get_locale, get_timezone, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from coordinator import times
from coordinator.accounts.models import ROLE_LABELS
from coordinator.agreements.models import (
    ACCEPTANCE_METHOD_LABELS,
    AGREEMENT_STATUS_LABELS,
    ITEM_KIND_LABELS,
    ITEM_STATUS_LABELS,
)
from coordinator.audit.models import ACTION_LABELS
from coordinator.audit.search import action_label
from coordinator.cases.models import HEARING_KIND_LABELS
from coordinator.consent.models import METHOD_LABELS, SCOPE_LABELS
from coordinator.consent.models import STATUS_LABELS as CONSENT_STATUS_LABELS
from coordinator.i18n import LANGUAGE_NAMES, language_label
from coordinator.notifications.models import DELIVERY_LABELS
from coordinator.notifications.service import unread_count
from coordinator.party_i18n import PARTY_LANGUAGES, _p, language_for_locale, party_domain
from coordinator.portal.models import CHANNEL_LABELS
from coordinator.referrals.models import (
    BASIS_LABELS,
    MOVE_LABELS,
    PARTY_LABELS,
    PROSECUTION_STAGE_LABELS,
    REASON_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
)
from coordinator.referrals.workflow import prosecution_stage
from coordinator.safety.models import INCIDENT_LABELS, LEVEL_LABELS, MEASURE_LABELS
from coordinator.sessions.models import (
    CIRCLE_STATUS_LABELS,
    FORMAT_LABELS,
    KIND_LABELS,
    RESPONSE_LABELS,
    SESSION_STATUS_LABELS,
)
from coordinator.tasks.service import open_counts


class Labels(Mapping[str, str]):
    """A label table as templates read it: each label is translated once per language, not once per row (a list
    of 232 referrals asks for over a thousand labels, and each lazy string looks its catalogue up again)."""

    def __init__(self, labels: Mapping) -> None:
        self._labels = labels
        self._translated: dict[tuple[str, object], str] = {}

    def __getitem__(self, key: object) -> str:
        language = str(get_locale() or "en")
        found = self._translated.get((language, key))
        if found is None:
            found = self._translated[(language, key)] = str(self._labels[key])
        return found

    def __iter__(self) -> Iterator:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


def page_url(page: int) -> str:
    """The current list's URL at another page, keeping its filters."""
    if request.endpoint is None:
        raise RuntimeError("page_url is for pages, and this request matched none")
    args = {**(request.view_args or {}), **request.args.to_dict(), "page": page}
    return url_for(request.endpoint, **args)


def datetime_label(value: datetime | None, style: str = "medium") -> str:
    """A time in the reader's language and time zone (see i18n.select_timezone), without seconds."""
    return times.date_and_time(value, get_timezone(), get_locale() or "en", style) if value else ""


def span_label(start: datetime | None, end: datetime | None) -> str:
    """A session's date, start and end in the reader's zone, named once: one zone per line, no seconds."""
    if not start or not end:
        return ""
    parts = times.span(start, end, get_timezone(), get_locale() or "en")
    return _("%(date)s, %(start)s – %(end)s (%(zone)s)", date=parts.date, start=parts.start, end=parts.end,
             zone=parts.zone)


def clock_label(value: datetime | None) -> str:
    """A time of day in the reader's zone, without seconds."""
    return times.clock_time(value, get_timezone(), get_locale() or "en") if value else ""


def shown_timezone() -> str:
    """The reader's time zone as people say it, with its IANA name: "Central European Time (Europe/Paris)"."""
    zone = get_timezone()
    return f"{times.zone_label(zone, get_locale() or 'en')} ({zone})"


def date_label(value, style: str = "medium") -> str:
    """A date in the reader's language."""
    return format_date(value, style) if value else ""


def money_label(amount_cents: int | None, currency: str | None) -> str:
    """An amount kept in cents, in the reader's language: 1.234,50 € or €1,234.50."""
    return format_currency(amount_cents / 100, currency) if amount_cents is not None and currency else ""


def prosecution_stage_label(referral) -> str:
    """The coarse stage a prosecutor sees of a referral, in words (the one rule: workflow.prosecution_stage)."""
    return str(PROSECUTION_STAGE_LABELS[prosecution_stage(referral)])


def bound_gettext() -> dict[str, Any]:
    """`gettext`, `ngettext` and `_p` for one render, bound to the catalogues of the language it renders in.

    Flask-Babel looks a catalogue up again for every string, through three context lookups (about 20 µs each time):
    a list page asks for hundreds. These behave as the callables they stand for (Jinja's newstyle `gettext` and
    `ngettext`: escaped when autoescaping, always %-formatted, `num` given to ngettext; `_p` as the party domain's
    gettext), and templates find them in the render's context (`_()` and `{% trans %}` too). They are bound at each
    `render_template`, so a language switched before a render, by `refresh()` or `force_locale()`, is the one it
    speaks; a template rendered without a context (an imported macro, a bare `Template.render`) keeps Flask-Babel's.
    """
    catalogue, party_catalogue = get_translations(), party_domain.get_translations()

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        return _formatted(context, catalogue.ugettext(string), variables)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        return _formatted(context, catalogue.ungettext(singular, plural, num), {"num": num, **variables})

    def party_gettext(string: str, **variables: Any) -> str:
        text = party_catalogue.ugettext(string)
        return text % variables if variables else text

    return {"gettext": gettext, "ngettext": ngettext, "_p": party_gettext}


def _formatted(context: Context, text: str, variables: dict[str, Any]) -> str:
    # The catalogue's text is the project's own, trusted as Jinja trusts it; Markup's % escapes every variable.
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704


def register_template_helpers(app: Flask) -> None:
    """Expose labels and helpers to templates."""
    app.jinja_env.filters["datetime"] = datetime_label
    app.jinja_env.filters["span"] = span_label
    app.jinja_env.filters["clock"] = clock_label
    app.jinja_env.filters["date"] = date_label
    app.jinja_env.filters["language"] = language_label
    app.jinja_env.filters["money"] = money_label
    app.jinja_env.filters["prosecution_stage"] = prosecution_stage_label

    app.jinja_env.globals.update(
        shown_timezone=shown_timezone,
        AUDIT_ACTION_LABELS=Labels(ACTION_LABELS),
        audit_action_label=action_label,
        CONSENT_SCOPE_LABELS=Labels(SCOPE_LABELS),
        CONSENT_STATUS_LABELS=Labels(CONSENT_STATUS_LABELS),
        CONSENT_METHOD_LABELS=Labels(METHOD_LABELS),
        LINK_CHANNEL_LABELS=Labels(CHANNEL_LABELS),
        SESSION_KIND_LABELS=Labels(KIND_LABELS),
        SESSION_STATUS_LABELS=Labels(SESSION_STATUS_LABELS),
        RESPONSE_LABELS=Labels(RESPONSE_LABELS),
        CIRCLE_STATUS_LABELS=Labels(CIRCLE_STATUS_LABELS),
        RISK_LEVEL_LABELS=Labels(LEVEL_LABELS),
        MEASURE_LABELS=Labels(MEASURE_LABELS),
        INCIDENT_LABELS=Labels(INCIDENT_LABELS),
        BASIS_LABELS=Labels(BASIS_LABELS),
        FORMAT_LABELS=Labels(FORMAT_LABELS),
        DELIVERY_LABELS=Labels(DELIVERY_LABELS),
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        ROLE_LABELS=Labels(ROLE_LABELS),
        STATUS_LABELS=Labels(STATUS_LABELS),
        MOVE_LABELS=Labels(MOVE_LABELS),
        REASON_LABELS=Labels(REASON_LABELS),
        SOURCE_LABELS=Labels(SOURCE_LABELS),
        STAGE_LABELS=Labels(STAGE_LABELS),
        PARTY_LABELS=Labels(PARTY_LABELS),
        PROSECUTION_STAGE_LABELS=Labels(PROSECUTION_STAGE_LABELS),
        HEARING_KIND_LABELS=Labels(HEARING_KIND_LABELS),
        AGREEMENT_STATUS_LABELS=Labels(AGREEMENT_STATUS_LABELS),
        AGREEMENT_ITEM_KIND_LABELS=Labels(ITEM_KIND_LABELS),
        AGREEMENT_ITEM_STATUS_LABELS=Labels(ITEM_STATUS_LABELS),
        ACCEPTANCE_METHOD_LABELS=Labels(ACCEPTANCE_METHOD_LABELS),
        page_url=page_url,
        _p=_p,
        party_lang=lambda: language_for_locale(get_locale()),
        PARTY_LANGUAGES=PARTY_LANGUAGES,
    )

    @app.context_processor
    def per_request():
        signed_in = has_request_context() and current_user.is_authenticated
        unread = unread_count(current_user) if signed_in else 0
        return {"current_locale": str(get_locale()), "unread_notices": unread,
                "open_tasks": open_counts(current_user) if signed_in else (0, 0), **bound_gettext()}
