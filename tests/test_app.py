"""The service's base: health check, OpenAPI document, configuration and the language of pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import (
    ConfigError,
    ProductionConfig,
    config_for_environment,
    generate_encryption_key,
    generate_signing_key,
)


def test_healthz(browser):
    """200 {"status": "ok"} while the process answers."""
    response = browser().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_openapi_document_describes_every_api_route(app, browser):
    """Generated from the route models: every /api/v1 route is in it, with its request and response schemas."""
    document = browser().get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    api_paths = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
    }
    assert api_paths <= set(document["paths"])
    create = document["paths"]["/api/v1/referrals"]["post"]
    assert "ReferralIn" in json.dumps(create["requestBody"])
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "ErrorEnvelope" in document["components"]["schemas"]


def test_the_served_document_is_the_one_the_routes_generate(app, browser, tmp_path):
    """coordinator/openapi.json is what the routes' models describe today (`make openapi` after changing an API), and
    a worker keeps no description of its routes in memory: only the generation builds them described."""
    generated = tmp_path / "openapi.json"
    subprocess.run([sys.executable, "-m", "tools.openapi", str(generated)], check=True,
                   cwd=Path(__file__).resolve().parents[1], capture_output=True)
    served = browser().get("/api/v1/openapi.json")
    assert served.mimetype == "application/json"
    assert served.get_json() == json.loads(generated.read_text()), "coordinator/openapi.json is stale: make openapi"
    assert app.paths == {} and app.components_schemas == {}


def test_the_document_is_generated_only_before_the_blueprints_are_built(app):
    """Once the API blueprints exist undescribed, generating in this process would give an empty document: refused."""
    from tools import openapi  # noqa: PLC0415 — the generator is not part of the app

    with pytest.raises(RuntimeError, match="undescribed"):
        openapi.generate()


def test_production_refuses_to_start_without_secrets():
    """The error names what is missing."""
    with pytest.raises(ConfigError) as refused:
        config_for_environment({"COORDINATOR_ENV": "production"})
    for name in ("SECRET_KEY", "COORDINATOR_ENCRYPTION_KEYS", "COORDINATOR_BASE_URL", "COORDINATOR_TIMEZONE",
                 "COORDINATOR_AUDIT_SIGNING_KEY"):
        assert name in str(refused.value)
    with pytest.raises(ConfigError):
        config_for_environment({})  # unset means production


def test_production_starts_with_its_secrets():
    """With every secret given, the production config sets the Secure cookie flag."""
    settings = config_for_environment({"COORDINATOR_ENV": "production", "SECRET_KEY": "s" * 40,
                                       "COORDINATOR_ENCRYPTION_KEYS": generate_encryption_key(),
                                       "COORDINATOR_BASE_URL": "https://rj.example.org/",
                                       "COORDINATOR_TIMEZONE": "Europe/Madrid",
                                       "COORDINATOR_AUDIT_SIGNING_KEY": generate_signing_key()})
    assert isinstance(settings, ProductionConfig)
    assert settings.SESSION_COOKIE_SECURE and settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.COORDINATOR_BASE_URL == "https://rj.example.org"


def test_development_generates_missing_secrets_once(tmp_path, monkeypatch):
    """The first start writes instance/secrets.json; the next one reuses it."""
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config_for_environment({"COORDINATOR_ENV": "development"})
    second = config_for_environment({"COORDINATOR_ENV": "development"})
    assert first.SECRET_KEY and first.SECRET_KEY == second.SECRET_KEY
    assert first.COORDINATOR_ENCRYPTION_KEYS == second.COORDINATOR_ENCRYPTION_KEYS
    assert first.AUDIT_SIGNING_KEY == second.AUDIT_SIGNING_KEY and len(first.AUDIT_SIGNING_KEY) == 32
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert not first.SESSION_COOKIE_SECURE


def test_unknown_environment_is_refused():
    """A typo in COORDINATOR_ENV stops the start."""
    with pytest.raises(ConfigError):
        config_for_environment({"COORDINATOR_ENV": "staging"})


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("DELETE", "/api/v1/referrals", {"GET", "POST"}),
    ("PATCH", "/api/v1/referrals/anything", {"GET"}),
    ("TRACE", "/api/v1/venues", {"GET", "POST"}),
    ("PUT", "/referrals", {"GET"}),
    ("DELETE", "/healthz", {"GET"}),
    ("POST", "/portal/exit", {"GET"}),
])
def test_an_undeclared_method_is_405_with_allow(browser, method, url, allowed):
    """RFC 9110: a 405 names the methods the resource has, in the envelope for the API and on a page otherwise."""
    response = browser().client.open(url, method=method)
    assert response.status_code == 405
    assert allowed <= {name.strip() for name in response.headers["Allow"].split(",")}
    if url.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_every_model_the_api_documents_has_a_name_of_its_own(app):
    """flask-openapi3 names a component by its class: two classes with one name would document one with the
    other's schema (the risk instrument's items were documented as an agreement's)."""
    from pydantic import BaseModel  # noqa: PLC0415  (only this test walks every model)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {model for model in subclasses(BaseModel) if model.__module__.startswith("coordinator.")
            and not model.__name__.startswith("_")}
    names = [model.__name__ for model in ours if "[" not in model.__name__]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


def test_the_risk_instrument_is_documented_with_its_own_schema(browser, factory, api):
    """GET /risk/instrument: its items carry `question` and `answers`, as the document says."""
    document = browser().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    item = schemas["InstrumentItemOut"]
    assert set(item["properties"]) == {"code", "question", "answers"}
    body = api(factory.user("coordinator")).get("/api/v1/risk/instrument").get_json()
    assert set(body["items"][0]) == set(item["properties"])


def test_the_document_states_the_text_rule_for_every_free_text_input(browser):
    """Query and path strings, and request-body strings, carry the pattern that refuses control characters."""
    document = browser().get("/api/v1/openapi.json").get_json()
    search = document["paths"]["/api/v1/referrals"]["get"]["parameters"]
    q = next(parameter for parameter in search if parameter["name"] == "q")
    assert "\\x00" in json.dumps(q["schema"])
    notes = document["components"]["schemas"]["ReferralIn"]["properties"]["notes"]
    assert "\\x00" in json.dumps(notes)
