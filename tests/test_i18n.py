"""English, Spanish and French: complete catalogues, and pages in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale

from coordinator.accounts.models import User
from coordinator.db import db
from coordinator.referrals.models import PROSECUTION_STAGE_LABELS

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "coordinator" / "translations"
LANGUAGES = ("en", "es", "fr")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("coordinator/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]


def source_messages() -> set[str]:
    """Every translatable string in the code and templates, extracted as `make messages` does."""
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords={**KEYWORDS}, options_map={"templates/**.html": {}, "templates/**.txt": {}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue(language: str):
    """One language's catalogue."""
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_complete(language):
    """Every source string is in the catalogue, translated, and nothing is fuzzy."""
    messages = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalogue(language) if m.id}
    missing = sorted(source_messages() - set(messages))
    assert not missing, f"{language}: run `make messages` and translate: {missing[:10]}"
    untranslated = [key for key, m in messages.items()
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [key for key, m in messages.items() if m.fuzzy]
    assert not untranslated, f"{language}: untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy[:10]}"


@pytest.mark.parametrize("language", ["es", "fr"])
def test_placeholders_survive_translation(language):
    """A translation keeps every %(name)s of its source, or formatting would fail at run time."""
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for message in catalogue(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(placeholder.findall(sources[-1]))
        for string in strings:
            assert set(placeholder.findall(string)) <= expected | set(placeholder.findall(sources[0])), message.id
            assert expected - {"%(num)d"} <= set(placeholder.findall(string)), message.id


def test_compiled_catalogues_are_current():
    """`make` compiles every catalogue; a stale .mo would show old text."""
    for language in LANGUAGES:
        po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"run `make translations` ({language})"


@pytest.mark.parametrize(("language", "sign_in"), [("en", "Sign in"), ("es", "Iniciar sesión"),
                                                    ("fr", "Se connecter")])
def test_visitors_get_their_browser_language(browser, language, sign_in):
    """The sign-in page follows Accept-Language."""
    page = browser().get("/login", headers={"Accept-Language": f"{language},en;q=0.5"})
    body = page.get_data(as_text=True)
    assert f'<html lang="{language}">' in body and sign_in in body


@pytest.mark.parametrize(("language", "title"), [("es", "Página no encontrada"), ("fr", "Page introuvable")])
def test_error_pages_are_in_the_readers_language(browser, language, title):
    """A 404 page in Spanish or French."""
    page = browser().get("/no-such-page", headers={"Accept-Language": language})
    assert page.status_code == 404 and title in page.get_data(as_text=True)


def test_the_language_switch_is_remembered_for_staff(app, factory, browser):
    """Switching to French changes the pages and the account's language."""
    user = factory.user("coordinator", language="en")
    staff = browser(user)
    response = staff.post("/language", {"language": "fr", "next": "/referrals"})
    assert response.status_code == 302 and response.headers["Location"] == "/referrals"
    assert "Nouvelle orientation" in staff.get("/referrals").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).language == "fr"


def test_the_language_switch_never_redirects_elsewhere(browser):
    """`next` pointing to another site falls back to the start page."""
    visitor = browser()
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = visitor.post("/language", {"language": "es", "next": target})
        assert response.headers["Location"] == "/"


def test_label_tables_translate_once_per_language_and_follow_the_reader(app):
    """Templates read labels through `Labels`: a Spanish reader after an English one still reads Spanish, and the
    second lookup in a language is the first one's string, not a new translation."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        labels = app.jinja_env.globals["PROSECUTION_STAGE_LABELS"]
        with force_locale("es"):
            spanish = labels["intake"]
            assert spanish == "Admisión" and labels["intake"] is spanish
        with force_locale("en"):
            assert labels["intake"] == "Intake"
        with force_locale("fr"):
            assert labels["intake"] not in ("Intake", "Admisión")
        assert set(labels) == set(PROSECUTION_STAGE_LABELS) and len(labels) == len(PROSECUTION_STAGE_LABELS)


# Jinja's own newstyle callables over Flask-Babel's catalogue: what `bound_gettext` must render exactly as.
SAMPLE = ("{{ _('Case %(docket)s', docket=docket) }}|{{ ngettext('%(num)d referral', '%(num)d referrals', 3) }}|"
          "{{ _p('Not found.') }}|{{ gettext.__module__ }}")
EXPECTED = {"en": ("Case &lt;b&gt;CR-1&lt;/b&gt;", "3 referrals", "Not found."),
            "es": ("Causa &lt;b&gt;CR-1&lt;/b&gt;", "3 derivaciones", "No se ha encontrado."),
            "fr": ("Affaire &lt;b&gt;CR-1&lt;/b&gt;", "3 orientations", "Introuvable.")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_translate_through_the_catalogue_bound_at_each_render(app, language):
    """`_()`, `ngettext` and `_p` in a page come from the catalogues the context processor binds at each render: the
    text, escaping and formatting of Flask-Babel's own callables, in the render's language, even one forced
    mid-request."""
    from flask import render_template_string  # noqa: PLC0415 — a page render, with its context processors

    with app.test_request_context(headers={"Accept-Language": "en"}):
        with force_locale(language):
            *own, own_callable = app.jinja_env.from_string(SAMPLE).render(docket="<b>CR-1</b>").split("|")
            *bound, bound_callable = render_template_string(SAMPLE, docket="<b>CR-1</b>").split("|")
        assert (own_callable, bound_callable) == ("jinja2.ext", "coordinator.templating")
        assert tuple(bound) == tuple(own) == EXPECTED[language]
        assert render_template_string("{{ _('Case %(docket)s', docket=1) }}") == "Case 1"  # the forced language ended
