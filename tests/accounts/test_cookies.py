"""The session cookie's flags, and production refusing to start without its secrets."""

from __future__ import annotations

import pytest

import config as settings
from config import (
    ConfigError,
    ProductionConfig,
    config_for_environment,
    generate_encryption_key,
    generate_signing_key,
)
from coordinator.accounts.models import Role
from coordinator.factory import create_app
from tests.factories import PASSWORD, Browser

PRODUCTION_SECRETS = ("SECRET_KEY", "COORDINATOR_ENCRYPTION_KEYS", "COORDINATOR_BASE_URL", "COORDINATOR_TIMEZONE")


def cookie_attributes(response, name: str = "ck_session") -> set[str]:
    """The attributes of the `name` cookie's Set-Cookie header, lower-cased."""
    [header] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    return {part.strip().lower() for part in header.split(";")[1:]}


def sign_in_response(app, email: str):
    """The answer to a successful login post on `app`."""
    staff = Browser(app.test_client())
    response = staff.login(email, PASSWORD)
    assert response.status_code == 302
    return response


@pytest.fixture
def build_app():
    """Create extra apps on the test database and dispose of their engines afterwards."""
    built = []

    def build(config):
        built.append(create_app(config))
        return built[-1]

    yield build
    for extra in built:
        extra.extensions["db_engine"].dispose()


def production_environment(database_url: str) -> dict[str, str]:
    """Everything ProductionConfig needs to start."""
    return {"SECRET_KEY": "a-production-secret-key-for-tests", "COORDINATOR_ENCRYPTION_KEYS": generate_encryption_key(),
            "COORDINATOR_BASE_URL": "https://rj.example", "DATABASE_URL": database_url,
            "COORDINATOR_TIMEZONE": "Europe/Madrid", "COORDINATOR_AUDIT_SIGNING_KEY": generate_signing_key()}


def test_session_cookie_is_httponly_and_samesite_lax(app, factory):
    """Scripts cannot read the cookie and other sites' posts do not carry it."""
    user = factory.user(Role.coordinator)

    attributes = cookie_attributes(sign_in_response(app, user.email))

    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_session_cookie_is_secure_when_configured(app, factory, database_url, build_app):
    """With SESSION_COOKIE_SECURE the cookie is only ever sent over HTTPS."""
    user = factory.user(Role.coordinator)
    config = settings.TestConfig({"DATABASE_URL": database_url})
    config.SESSION_COOKIE_SECURE = True
    secure_app = build_app(config)

    attributes = cookie_attributes(sign_in_response(secure_app, user.email))

    assert {"secure", "httponly", "samesite=lax"} <= attributes


def test_production_config_makes_the_cookie_secure(app, factory, database_url, build_app):
    """The production configuration signs staff in with a Secure, HttpOnly, SameSite=Lax cookie."""
    user = factory.user(Role.coordinator)
    config = config_for_environment({"COORDINATOR_ENV": "production", **production_environment(database_url)})
    production_app = build_app(config)

    attributes = cookie_attributes(sign_in_response(production_app, user.email))

    assert isinstance(config, ProductionConfig)
    assert {"secure", "httponly", "samesite=lax"} <= attributes


@pytest.mark.parametrize("environment", [{"COORDINATOR_ENV": "production"}, {}])
def test_production_refuses_to_start_without_secrets(environment):
    """Production (also the default environment) names every missing secret."""
    with pytest.raises(ConfigError) as refused:
        config_for_environment({**environment, "DATABASE_URL": "sqlite://"})

    for name in PRODUCTION_SECRETS:
        assert name in str(refused.value)


@pytest.mark.parametrize("missing", PRODUCTION_SECRETS)
def test_production_names_the_one_missing_secret(database_url, missing):
    """With all secrets but one, the error names exactly that one."""
    environment = {"COORDINATOR_ENV": "production", **production_environment(database_url)}
    del environment[missing]

    with pytest.raises(ConfigError) as refused:
        config_for_environment(environment)

    assert missing in str(refused.value)
    assert [name for name in PRODUCTION_SECRETS if name in str(refused.value)] == [missing]


def test_production_refuses_a_malformed_encryption_key(database_url):
    """A key that is not 32 bytes of base64url stops start-up."""
    environment = {**production_environment(database_url), "COORDINATOR_ENCRYPTION_KEYS": "too-short"}

    with pytest.raises(ConfigError, match="COORDINATOR_ENCRYPTION_KEYS"):
        ProductionConfig(environment)
