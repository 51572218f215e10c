"""Configuration read from the environment: one class per environment (docs/api.md, "Set-up and configuration")."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
ENVIRONMENTS = ("production", "development", "testing")
TUNABLE_NUMBERS = ("CONSENT_VALID_DAYS", "ASSESSMENT_VALID_DAYS", "LINK_VALID_DAYS", "PORTAL_SESSION_MINUTES",
                   "OUTBOX_DISPATCH_SECONDS", "OUTBOX_BATCH_SIZE", "OUTBOX_MAX_ATTEMPTS", "OUTBOX_RETRY_BASE_SECONDS",
                   "OUTBOX_CLAIM_LEASE_SECONDS", "OUTBOX_CONNECTIONS",
                   "SCHEDULER_LOCK_LEASE_SECONDS", "SCHEDULER_POLL_SECONDS", "SESSION_SWEEP_SECONDS",
                   "SLOT_NOTICE_HOURS", "SLOT_HORIZON_DAYS", "SLOT_STEP_MINUTES", "SESSION_BUFFER_MINUTES",
                   "STAGGER_MINUTES", "RETENTION_CLOSED_MONTHS", "RETENTION_DECLINED_MONTHS", "RETENTION_LINK_DAYS",
                   "RETENTION_OUTBOX_DAYS", "RETENTION_NOTICE_DAYS", "RETENTION_WARNING_DAYS", "RETENTION_BATCH_SIZE",
                   "STATISTICS_REFRESH_SECONDS", "STATISTICS_CHECK_SECONDS")


DEMO_TIMEZONE = "Europe/Paris"  # where the demo's venues are (coordinator/demo.py VENUES): `make run` uses it


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


@functools.cache
def canonical_timezones() -> frozenset[str]:
    """The time zone names the service accepts: the zone database's zones, the places its country tables name
    (Europe/Amsterdam stays a choice after becoming a link), and UTC.

    Never `posix/` or `right/` copies, nor backward-compatible aliases (`US/Eastern`, `Asia/Calcutta`): each accepted
    name is read the same way by the whole stack (zoneinfo, Babel, calendars). Read from the pinned tzdata package,
    so every machine accepts the same names.
    """
    data = resources.files("tzdata").joinpath("zoneinfo")
    zones = {line.split()[1] for line in data.joinpath("tzdata.zi").read_text(encoding="utf-8").splitlines()
             if line.startswith("Z ")}
    for table in ("zone.tab", "zone1970.tab"):
        zones |= {line.split("\t")[2] for line in data.joinpath(table).read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#")}
    return frozenset(zones | {"UTC"})


def is_canonical_timezone(name: object) -> bool:
    """True for a name of `canonical_timezones()`, such as Europe/Madrid."""
    return isinstance(name, str) and name in canonical_timezones()


def generate_encryption_key() -> str:
    """Return a new 32-byte key, base64url-encoded as COORDINATOR_ENCRYPTION_KEYS expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def generate_signing_key() -> str:
    """Return a new Ed25519 private key (its 32-byte seed), base64url-encoded as COORDINATOR_AUDIT_SIGNING_KEY
    expects."""
    return generate_encryption_key()


def parse_signing_key(value: str) -> bytes:
    """Decode COORDINATOR_AUDIT_SIGNING_KEY: 32 bytes, base64url (standard base64 accepted too)."""
    text = value.strip()
    try:
        key = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError("COORDINATOR_AUDIT_SIGNING_KEY is not base64.") from None
    if len(key) != 32:
        raise ConfigError(f"COORDINATOR_AUDIT_SIGNING_KEY is {len(key)} bytes, not 32 (an Ed25519 private key's "
                          "seed; `flask --app app audit generate-key` prints one).")
    return key


def parse_encryption_keys(value: str) -> list[bytes]:
    """Decode the comma-separated keys (newest first); each must be 32 bytes, base64url-encoded."""
    keys = []
    for number, text in enumerate((part.strip() for part in value.split(",")), start=1):
        if not text:
            continue
        try:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise ConfigError(f"COORDINATOR_ENCRYPTION_KEYS: key {number} is not base64url.") from None
        if len(key) != 32:
            raise ConfigError(f"COORDINATOR_ENCRYPTION_KEYS: key {number} is {len(key)} bytes, not 32.")
        keys.append(key)
    if not keys:
        raise ConfigError("COORDINATOR_ENCRYPTION_KEYS holds no key.")
    return keys


def normalise_database_url(url: str) -> str:
    """Point plain postgresql:// URLs at psycopg 3, the driver this project installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Settings shared by every environment; secrets and URLs come from the environment."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False

    LANGUAGES = ("en", "es", "fr")  # the staff's; a party reads one of thirteen (coordinator/party_i18n.py)
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"  # the programme's time zone (COORDINATOR_TIMEZONE), for parties and staff
    REQUIRE_TIMEZONE = False  # production must name the programme's zone: a silent UTC shows parties wrong times
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "coordinator" / "translations")
    WTF_I18N_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the staff session, which has its own limits

    # Staff sessions (OWASP ASVS 5.0 V7): server-side records behind a signed cookie.
    SESSION_COOKIE_NAME = "ck_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)

    # argon2id parameters: RFC 9106 second recommended option (64 MiB, t=3, p=4).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    LOGIN_RATE_LIMIT = "20 per minute"  # per client address, every post; failures are throttled in the database
    LOGIN_FAILURE_LIMIT = "5 per 15 minutes"  # wrong current passwords on the account page, per account
    REQUIRE_MFA = True  # COORDINATOR_REQUIRE_MFA: TOTP for admins, coordinators and prosecutors
    PASSWORD_RESET_MINUTES = 30  # how long an emailed reset link works
    RESET_REQUEST_RATE_LIMIT = "5 per minute; 30 per hour"  # per client address, on "Forgot password"
    API_RATE_LIMIT = "600 per minute"  # per token, across the whole API
    API_UNAUTHENTICATED_RATE_LIMIT = "30 per minute; 300 per hour"  # failed API authentications, per client address
    # No X-RateLimit-* headers on every answer: each costs two more reads of the counters per request. A 429
    # still says when to come back (Retry-After, coordinator/error_handlers.py).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # when Redis goes away, limits go on in memory (coordinator/health.py)
    RATELIMIT_SWALLOW_ERRORS = True  # a counter that cannot be written never turns a request into a 500

    MAIL_SERVER: str | None = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Circlekeeper <no-reply@localhost>"
    SMS_PROVIDER = "none"  # none (texts wait, parked), log (development), record (tests)

    # The outbox (docs/design.md section 6) and the scheduler; each can be tuned from the environment by its name.
    OUTBOX_DISPATCH_SECONDS = 10
    OUTBOX_BATCH_SIZE = 100
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_RETRY_BASE_SECONDS = 60
    OUTBOX_CLAIM_LEASE_SECONDS = 45  # with the 10 s dispatch interval, a standby takes over within a minute
    OUTBOX_CONNECTIONS = 4  # parallel SMTP connections (threads) per dispatcher
    SCHEDULER_LOCK_LEASE_SECONDS = 30
    SCHEDULER_POLL_SECONDS = 5
    SESSION_SWEEP_SECONDS = 300
    STATISTICS_REFRESH_SECONDS = 900  # how old the statistics rollup may grow before it is rebuilt (the page says)
    STATISTICS_CHECK_SECONDS = 60  # how often the job looks: a coordinator's "Count again now" waits at most this

    PER_PAGE = 50
    MAX_PER_PAGE = 200
    MAX_CONTENT_LENGTH = 1024 * 1024  # bytes of a request body; larger ones are refused with 413

    # Consent and the parties' portal (docs/design.md sections 1 and 5).
    CONSENT_VALID_DAYS = 90
    ASSESSMENT_VALID_DAYS = 30
    LINK_VALID_DAYS = 7
    PORTAL_SESSION_MINUTES = 30
    LINK_RATE_LIMIT = "30 per minute; 300 per day"  # per client address, on /p/<token>
    PORTAL_EXIT_URL = "https://www.bbc.com/weather"  # where quick exit leads: a neutral, everyday site

    # Scheduling (docs/design.md section 4).
    SLOT_NOTICE_HOURS = 48
    SLOT_HORIZON_DAYS = 90
    SLOT_STEP_MINUTES = 30
    SESSION_BUFFER_MINUTES = 30
    STAGGER_MINUTES = 20  # the responsible party arrives this much earlier and leaves this much later
    REMINDER_HOURS = (48, 2)

    # The retention schedule (docs/design.md rule 11): how long each kind of personal data is kept.
    RETENTION_CLOSED_MONTHS = 24  # a referral that ended (completed, or closed but not declined)
    RETENTION_DECLINED_MONTHS = 6  # a referral closed as not suitable
    RETENTION_LINK_DAYS = 30  # secure links (their PIN and use) and portal sessions, after they end
    RETENTION_OUTBOX_DAYS = 30  # an outbox message's parameters and link, after it was sent
    RETENTION_NOTICE_DAYS = 90  # staff notices
    RETENTION_WARNING_DAYS = 30  # how far ahead coordinators are shown and told what will be erased
    RETENTION_BATCH_SIZE = 200  # referrals erased per transaction
    CALENDAR_FEED_RATE_LIMIT = "30 per minute; 600 per hour"  # per client address, on /calendar/feed/<token>.ics

    def __init__(self, environ: Mapping[str, str] | None = None):
        env = dict(os.environ if environ is None else environ)
        self.SECRET_KEY = env.get("SECRET_KEY")
        self.COORDINATOR_ENCRYPTION_KEYS = env.get("COORDINATOR_ENCRYPTION_KEYS")
        self.COORDINATOR_BASE_URL = env.get("COORDINATOR_BASE_URL")
        # The audit chain's head is signed with this key and anchored outside the database (docs/design.md rule 7).
        self.COORDINATOR_AUDIT_SIGNING_KEY = env.get("COORDINATOR_AUDIT_SIGNING_KEY")
        self.AUDIT_CHECKPOINT_PATH = env.get("COORDINATOR_AUDIT_CHECKPOINT_PATH") or self.default_checkpoint_path()
        self.DATABASE_URL = normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'circlekeeper.db'}"
        )
        self.REDIS_URL = env.get("REDIS_URL") or None
        # SQLite only: where the referrals' data keys are kept (default: beside the database, name-keys.db).
        self.KEYSTORE_PATH = env.get("COORDINATOR_KEYSTORE_PATH") or None
        # How many reverse proxies sit in front (X-Forwarded-For/-Proto are trusted from that many hops only).
        self.TRUSTED_PROXIES = int(env.get("COORDINATOR_TRUSTED_PROXIES") or 0)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        if self.REDIS_URL:
            # Redis gone after start-up: count in each process's memory meanwhile (coordinator/health.py), and give
            # up on an unreachable server after a second rather than holding the request.
            self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
        for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER"):
            if env.get(name):
                setattr(self, name, env[name])
        if env.get("MAIL_PORT"):
            self.MAIL_PORT = int(env["MAIL_PORT"])
        if env.get("MAIL_USE_TLS"):
            self.MAIL_USE_TLS = env["MAIL_USE_TLS"].lower() in ("1", "true", "yes", "on")
        if env.get("SMS_PROVIDER"):
            self.SMS_PROVIDER = env["SMS_PROVIDER"]
        if env.get("PORTAL_EXIT_URL"):
            self.PORTAL_EXIT_URL = env["PORTAL_EXIT_URL"]
        if env.get("COORDINATOR_REQUIRE_MFA"):
            self.REQUIRE_MFA = env["COORDINATOR_REQUIRE_MFA"].strip().lower() in ("1", "true", "yes", "on")
        self.COORDINATOR_TIMEZONE = env.get("COORDINATOR_TIMEZONE") or None
        if self.COORDINATOR_TIMEZONE:
            self.BABEL_DEFAULT_TIMEZONE = self.COORDINATOR_TIMEZONE
        for name in TUNABLE_NUMBERS:
            if env.get(name):
                setattr(self, name, int(env[name]))
        self.fill_missing_secrets()
        self.check()

    def default_checkpoint_path(self) -> str | None:
        """Where signed audit checkpoints go unless COORDINATOR_AUDIT_CHECKPOINT_PATH says (JSON lines)."""
        return str(INSTANCE_DIR / "audit-checkpoints.jsonl")

    def fill_missing_secrets(self) -> None:
        """Production never invents a secret; other environments may."""

    def check(self) -> None:
        """Refuse to start without the secrets a safe service needs."""
        missing = [
            name
            for name in ("SECRET_KEY", "COORDINATOR_ENCRYPTION_KEYS", "COORDINATOR_BASE_URL",
                         "COORDINATOR_AUDIT_SIGNING_KEY")
            if not getattr(self, name)
        ] + (["COORDINATOR_TIMEZONE"] if self.REQUIRE_TIMEZONE and not self.COORDINATOR_TIMEZONE else [])
        keys, base_url = self.COORDINATOR_ENCRYPTION_KEYS, self.COORDINATOR_BASE_URL
        if missing or not keys or not base_url:
            raise ConfigError(
                "Circlekeeper will not start in production without " + ", ".join(missing)
                + ". Set them in the environment (see README.md, 'Production')."
            )
        self.ENCRYPTION_KEYS = parse_encryption_keys(keys)
        self.AUDIT_SIGNING_KEY = parse_signing_key(self.COORDINATOR_AUDIT_SIGNING_KEY or "")
        if not is_canonical_timezone(self.BABEL_DEFAULT_TIMEZONE):
            raise ConfigError(f"COORDINATOR_TIMEZONE: {self.BABEL_DEFAULT_TIMEZONE!r} is not a canonical IANA time "
                              "zone such as Europe/Madrid.")
        self.COORDINATOR_BASE_URL = base_url.rstrip("/")


class ProductionConfig(Config):
    """The default: every secret, and the programme's time zone, come from the environment."""

    REQUIRE_TIMEZONE = True


class DevelopmentConfig(Config):
    """`make run`: secrets missing from the environment are generated once into instance/."""

    ENV_NAME = "development"
    BABEL_DEFAULT_TIMEZONE = DEMO_TIMEZONE  # unless COORDINATOR_TIMEZONE says otherwise
    SESSION_COOKIE_SECURE = False
    MAIL_SERVER = None  # emails are logged (id and size only) unless MAIL_SERVER is set
    SMS_PROVIDER = "log"
    REQUIRE_MFA = False  # COORDINATOR_REQUIRE_MFA=on turns it on

    def fill_missing_secrets(self) -> None:
        """Create instance/secrets.json on first start and reuse it afterwards."""
        path = INSTANCE_DIR / "secrets.json"
        stored: dict[str, str] = {}
        if path.exists():
            stored = json.loads(path.read_text())
        generated = {
            "SECRET_KEY": stored.get("SECRET_KEY") or secrets.token_urlsafe(48),
            "COORDINATOR_ENCRYPTION_KEYS": stored.get("COORDINATOR_ENCRYPTION_KEYS") or generate_encryption_key(),
            "COORDINATOR_AUDIT_SIGNING_KEY": stored.get("COORDINATOR_AUDIT_SIGNING_KEY") or generate_signing_key(),
        }
        if generated != stored:
            INSTANCE_DIR.mkdir(exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(json.dumps(generated, indent=2))
        self.SECRET_KEY = self.SECRET_KEY or generated["SECRET_KEY"]
        self.COORDINATOR_ENCRYPTION_KEYS = self.COORDINATOR_ENCRYPTION_KEYS or generated["COORDINATOR_ENCRYPTION_KEYS"]
        self.COORDINATOR_AUDIT_SIGNING_KEY = (self.COORDINATOR_AUDIT_SIGNING_KEY
                                              or generated["COORDINATOR_AUDIT_SIGNING_KEY"])
        self.COORDINATOR_BASE_URL = self.COORDINATOR_BASE_URL or "http://127.0.0.1:5000"


class TestConfig(Config):
    """The test suite: cheap password hashing, fresh secrets per process unless given."""

    ENV_NAME = "testing"
    TESTING = True
    SESSION_COOKIE_SECURE = False
    MAIL_SERVER = None  # tests that send email start their own SMTP server and set MAIL_SERVER/MAIL_PORT
    SMS_PROVIDER = "record"
    REQUIRE_MFA = False  # tests of the second factor set COORDINATOR_REQUIRE_MFA=on
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    _process_key = generate_encryption_key()
    _process_signing_key = generate_signing_key()

    def default_checkpoint_path(self) -> str | None:
        """No checkpoints unless a test names a file: tests share a process, not a chain."""
        return None

    def fill_missing_secrets(self) -> None:
        """Tests may pass their own keys; otherwise one key per test process."""
        self.SECRET_KEY = self.SECRET_KEY or "testing-secret-key"
        self.COORDINATOR_ENCRYPTION_KEYS = self.COORDINATOR_ENCRYPTION_KEYS or self._process_key
        self.COORDINATOR_AUDIT_SIGNING_KEY = self.COORDINATOR_AUDIT_SIGNING_KEY or self._process_signing_key
        self.COORDINATOR_BASE_URL = self.COORDINATOR_BASE_URL or "http://localhost"


CONFIGS = {"production": ProductionConfig, "development": DevelopmentConfig, "testing": TestConfig}


def config_for_environment(environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration named by COORDINATOR_ENV (production when unset)."""
    env = os.environ if environ is None else environ
    name = (env.get("COORDINATOR_ENV") or "production").strip().lower()
    if name not in CONFIGS:
        raise ConfigError(f"COORDINATOR_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}.")
    return CONFIGS[name](env)
