"""The service's base: health check, OpenAPI document, configuration and the language of pages."""

from __future__ import annotations

import json

import pytest

import config
from config import ConfigError, ProductionConfig, config_for_environment, generate_encryption_key


def test_healthz(browser):
    """200 {"status": "ok"} while the database answers."""
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


def test_production_refuses_to_start_without_secrets():
    """The error names what is missing."""
    with pytest.raises(ConfigError) as refused:
        config_for_environment({"COORDINATOR_ENV": "production"})
    for name in ("SECRET_KEY", "COORDINATOR_ENCRYPTION_KEYS", "COORDINATOR_BASE_URL", "COORDINATOR_TIMEZONE"):
        assert name in str(refused.value)
    with pytest.raises(ConfigError):
        config_for_environment({})  # unset means production


def test_production_starts_with_its_secrets():
    """With every secret given, the production config sets the Secure cookie flag."""
    settings = config_for_environment({"COORDINATOR_ENV": "production", "SECRET_KEY": "s" * 40,
                                       "COORDINATOR_ENCRYPTION_KEYS": generate_encryption_key(),
                                       "COORDINATOR_BASE_URL": "https://rj.example.org/",
                                       "COORDINATOR_TIMEZONE": "Europe/Madrid"})
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
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0
    assert not first.SESSION_COOKIE_SECURE


def test_unknown_environment_is_refused():
    """A typo in COORDINATOR_ENV stops the start."""
    with pytest.raises(ConfigError):
        config_for_environment({"COORDINATOR_ENV": "staging"})
