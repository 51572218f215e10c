"""The demo programme: every role, a dozen referrals across the states, and each role's scope."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from config import ProductionConfig, generate_encryption_key, generate_signing_key
from coordinator.accounts.models import User
from coordinator.audit.models import AuditEntry
from coordinator.audit.search import action_label
from coordinator.db import db
from coordinator.demo import DEMO_PASSWORD, REFERRALS, email_of
from coordinator.factory import create_app
from coordinator.referrals.models import Referral, ReferralStatus


def seed(app):
    """Run `flask --app app seed-demo --if-empty`."""
    return app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])


def test_seed_builds_every_role_and_every_state(app):
    """Users of every role; referrals in every status of the machine."""
    result = seed(app)
    assert result.exit_code == 0, result.output
    assert "coordinator@circlekeeper.example" in result.output and DEMO_PASSWORD in result.output
    with app.app_context():
        roles = Counter(db.session.execute(select(User.role)).scalars())
        statuses = set(db.session.execute(select(Referral.status)).scalars())
    assert set(roles) == {"admin", "coordinator", "facilitator", "prosecutor"}
    assert statuses == {status.value for status in ReferralStatus}
    assert len(REFERRALS) >= 12


def test_seeding_twice_changes_nothing(app):
    """--if-empty leaves an existing programme alone."""
    seed(app)
    with app.app_context():
        before = len(db.session.execute(select(Referral.id)).all())
    assert "Demo programme created" not in seed(app).output
    with app.app_context():
        assert len(db.session.execute(select(Referral.id)).all()) == before


def test_each_demo_login_sees_exactly_its_scope(app, browser):
    """Coordinator: all; facilitator: assigned; prosecutor: their cases; admin: none."""
    seed(app)
    with app.app_context():
        referrals = db.session.execute(select(Referral)).scalars().all()
        users = {user.email: user for user in db.session.execute(select(User)).scalars()}
        facilitator = users[email_of("facilitator")]
        prosecutor = users[email_of("prosecutor")]
        expected = {
            "coordinator": {r.reference for r in referrals},
            "facilitator": {r.reference for r in referrals if facilitator.id in r.facilitator_ids},
            "prosecutor": {r.reference for r in referrals if r.case.prosecutor_id == prosecutor.id},
        }
    assert 0 < len(expected["facilitator"]) < len(expected["coordinator"])
    assert 0 < len(expected["prosecutor"]) < len(expected["coordinator"])
    for login, references in expected.items():
        staff = browser()
        staff.login(email_of(login), DEMO_PASSWORD)
        body = staff.get("/referrals").get_data(as_text=True)
        shown = {r.reference for r in referrals if r.reference in body}
        assert shown == references, login
    admin = browser()
    admin.login(email_of("admin"), DEMO_PASSWORD)
    assert admin.get("/referrals").status_code == 403
    assert admin.get("/admin/users").status_code == 200


def test_demo_is_refused_in_production(database_url):
    """No known passwords in a production database."""
    app = create_app(ProductionConfig({"SECRET_KEY": "x" * 40, "COORDINATOR_ENCRYPTION_KEYS": generate_encryption_key(),
                                       "COORDINATOR_BASE_URL": "https://rj.example.org",
                                       "COORDINATOR_TIMEZONE": "Europe/Paris", "DATABASE_URL": database_url,
                                       "COORDINATOR_AUDIT_SIGNING_KEY": generate_signing_key()}))
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused in production" in result.output
    app.extensions["db_engine"].dispose()


def test_every_action_on_a_referral_trail_reads_as_words(app):
    """The referral page's audit trail shows a label, never a raw action code, for what the demo records."""
    seed(app)
    with app.app_context():
        actions = set(db.session.execute(select(AuditEntry.action).where(AuditEntry.referral_id.is_not(None)))
                      .scalars())
    assert {"referral.create", "referral.transition", "session.book"} <= actions
    assert {action for action in actions if action_label(action) == action} == set()
    assert "referral.caseload_override" in actions  # the demo's seventh referral for one keeper
