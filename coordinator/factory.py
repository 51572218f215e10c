"""The application factory: `create_app()` binds the extensions, blueprints, hooks and commands."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import session
from flask_babel import lazy_gettext as _l
from flask_openapi3 import Info, OpenAPI
from sqlalchemy.orm import configure_mappers
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, config_for_environment
from coordinator import commands, i18n
from coordinator.accounts import admin_views as account_admin_views
from coordinator.accounts import views as account_views
from coordinator.accounts.sessions import resume_session
from coordinator.agreements import api as agreement_api
from coordinator.agreements import views as agreement_views
from coordinator.api import SECURITY_SCHEMES, ErrorEnvelope, public, validation_error_response
from coordinator.audit import views as audit_views
from coordinator.cases import api as case_api
from coordinator.cases import identity_api, identity_views, report_views
from coordinator.cases import views as case_views
from coordinator.consent import api as consent_api
from coordinator.consent import views as consent_views
from coordinator.crypto import Keyring
from coordinator.db import db
from coordinator.error_handlers import register_error_handlers
from coordinator.extensions import babel, csrf, limiter, login_manager
from coordinator.feedback import register_feedback
from coordinator.health import bp as health_bp
from coordinator.health import require_redis
from coordinator.inputs import register_input_checks
from coordinator.logs import install_log_redaction
from coordinator.notifications import views as notification_views
from coordinator.notifications.transports import init_transports
from coordinator.portal import api as link_api
from coordinator.portal import appointments as appointment_views
from coordinator.portal import links as link_views
from coordinator.portal import translations as translation_views
from coordinator.portal import views as portal_views
from coordinator.prosecution import api as prosecution_api
from coordinator.prosecution import views as prosecution_views
from coordinator.referrals import api as referral_api
from coordinator.referrals import views as referral_views
from coordinator.retention import api as retention_api
from coordinator.retention import views as retention_views
from coordinator.roster import api as roster_api
from coordinator.roster import venue_api
from coordinator.roster import views as roster_views
from coordinator.safety import api as safety_api
from coordinator.safety import views as safety_views
from coordinator.security import register_security_headers
from coordinator.sessions import api as session_api
from coordinator.sessions import calendar_views, unavailability_api
from coordinator.sessions import views as session_views
from coordinator.statistics import views as statistics_views
from coordinator.tasks import api as task_api
from coordinator.tasks import views as task_views
from coordinator.templating import register_template_helpers

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> OpenAPI:
    """Build the WSGI app for one configuration (the environment's when none is given)."""
    config = config or config_for_environment()
    app = OpenAPI(
        # The package's name, not this module's: the app's logger is "coordinator", whose records are redacted.
        "coordinator",
        info=Info(title="Circlekeeper API", version="1"),
        security_schemes=SECURITY_SCHEMES,
        validation_error_status=400,
        validation_error_model=ErrorEnvelope,
        validation_error_callback=validation_error_response,
        doc_ui=False,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config)
    if hops := app.config["TRUSTED_PROXIES"]:
        # Flask's documented way to add WSGI middleware; its types declare `wsgi_app` a method, not an attribute.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["keyring"] = Keyring(app.config["ENCRYPTION_KEYS"])
    require_redis(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()

    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_commands(app)
    # Mapper relationships are resolved now rather than by the first request, so a worker starts whole.
    configure_mappers()
    return app


def register_extensions(app: OpenAPI) -> None:
    """Bind the unbound extensions."""
    db.init_app(app)
    init_transports(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # live sessions are checked server-side instead
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(lambda user_id: resume_session(user_id, session.get("sid")))


def register_blueprints(app: OpenAPI) -> None:
    """Pages, then the JSON API."""
    app.register_blueprint(i18n.bp)
    app.register_blueprint(account_views.auth)
    app.register_blueprint(account_views.account)
    app.register_blueprint(account_admin_views.admin)
    app.register_blueprint(referral_views.bp)
    app.register_blueprint(consent_views.bp)
    app.register_blueprint(safety_views.bp)
    app.register_blueprint(session_views.bp)
    app.register_blueprint(roster_views.bp)
    app.register_blueprint(calendar_views.bp)
    app.register_blueprint(link_views.bp)
    app.register_blueprint(notification_views.bp)
    app.register_blueprint(agreement_views.bp)
    app.register_blueprint(case_views.bp)
    app.register_blueprint(identity_views.bp)
    app.register_blueprint(report_views.bp)
    app.register_blueprint(statistics_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(prosecution_views.bp)
    app.register_blueprint(retention_views.bp)
    app.register_blueprint(task_views.bp)
    app.register_blueprint(portal_views.bp)
    app.register_blueprint(appointment_views.bp)
    app.register_blueprint(translation_views.bp)
    app.register_blueprint(public)
    app.register_blueprint(health_bp)
    for api in (referral_api, consent_api, link_api, safety_api, session_api, unavailability_api, roster_api, venue_api,
                agreement_api, case_api, identity_api, prosecution_api, retention_api, task_api):
        app.register_api(api.bp)


def register_hooks(app: OpenAPI) -> None:
    """Security headers, error pages, template helpers and the checks every request's input passes."""
    register_security_headers(app)
    register_input_checks(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_feedback(app)


def register_commands(app: OpenAPI) -> None:
    """The `flask --app app ...` commands of docs/api.md."""
    commands.register(app)
