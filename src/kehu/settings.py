"""kehu settings: every value comes from a KEHU_* environment variable through a typed helper."""

from __future__ import annotations

import re
import secrets
import zoneinfo
from pathlib import Path
from typing import Any

import dj_database_url

from kehu.core.crypto import KeyringError, key_decode, key_generate, keyring_parse
from kehu.core.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("KEHU_VAR_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("KEHU_DEBUG", False)


def _secret_key() -> str:
    configured = env_secret("KEHU_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ConfigurationError("KEHU_SECRET_KEY must be at least 32 characters")
        return configured
    if not DEBUG:
        raise ConfigurationError(
            "KEHU_SECRET_KEY (or KEHU_SECRET_KEY_FILE) is required when KEHU_DEBUG is off; "
            "a development key is generated into var/ only with KEHU_DEBUG=true"
        )
    # Development only: one random key per checkout, kept out of git under var/.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()


def _development_key(name: str, file_name: str, make: str) -> str:
    """Development only: a key generated once into var/, like the secret key."""
    if not DEBUG:
        raise ConfigurationError(
            f"{name} (or {name}_FILE) is required when KEHU_DEBUG is off; see docs/guide/en/operations.md "
            "(keys are generated into var/ only with KEHU_DEBUG=true)"
        )
    key_file = VAR_DIR / file_name
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(make, encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


# Field encryption (kehu.core.crypto): the first key encrypts, all of them decrypt; ids travel with each value.
# The blind-index key makes lookups of encrypted values possible; it never rotates with the encryption keys.
try:
    KEHU_ENCRYPTION_KEYS = keyring_parse(
        env_secret("KEHU_ENCRYPTION_KEYS")
        or _development_key("KEHU_ENCRYPTION_KEYS", "encryption-keys", f"k1:{key_generate()}\n")
    )
    KEHU_BLIND_INDEX_KEY = key_decode(
        env_secret("KEHU_BLIND_INDEX_KEY")
        or _development_key("KEHU_BLIND_INDEX_KEY", "blind-index-key", key_generate()),
        name="KEHU_BLIND_INDEX_KEY",
    )
except KeyringError as error:
    raise ConfigurationError(str(error)) from None
# Which optional groups of personal fields are encrypted (kehu.privacy.classification.PROTECTED_GROUPS);
# ID numbers and bank accounts always are. After changing it, `kehu keys rotate` converts stored values.
KEHU_ENCRYPTED_FIELDS = frozenset(env_list("KEHU_ENCRYPTED_FIELDS", ["contact", "address", "birthday"]))
if KEHU_ENCRYPTED_FIELDS - {"contact", "address", "birthday"} - {"none"}:
    raise ConfigurationError(
        f"KEHU_ENCRYPTED_FIELDS: {', '.join(sorted(KEHU_ENCRYPTED_FIELDS))} — use contact, address, birthday or none"
    )
# Rows refused by an import are kept whole for the report, webhook secrets are credentials, and a merge keeps the
# records it replaced for its undo: always encrypted.
KEHU_ENCRYPTED_FIELDS = (KEHU_ENCRYPTED_FIELDS - {"none"}) | {"id_number", "bank_account", "import", "secret", "merge"}
ALLOWED_HOSTS = env_list("KEHU_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])

TIME_ZONE = env_str("KEHU_TIME_ZONE", "Asia/Shanghai")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ConfigurationError(f"KEHU_TIME_ZONE={TIME_ZONE!r} is not a known time zone") from None
USE_TZ = True

LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_CODE = env_choice("KEHU_LANGUAGE", "zh-hans", {code for code, _ in LANGUAGES})
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]

KEHU_CURRENCY = env_str("KEHU_CURRENCY", "CNY").upper()
if len(KEHU_CURRENCY) != 3 or not KEHU_CURRENCY.isalpha():
    raise ConfigurationError(f"KEHU_CURRENCY={KEHU_CURRENCY!r} is not an ISO 4217 code such as CNY")

KEHU_PHONE_REGION = env_str("KEHU_PHONE_REGION", "CN").upper()

# The audit chain's head is also written here, outside the database, so that a database rewritten or
# restored from an older copy is detected by `kehu audit verify`. Keep it on other storage than the database.
KEHU_AUDIT_HEAD_FILE = Path(env_str("KEHU_AUDIT_HEAD_FILE", str(VAR_DIR / "audit-head.json")))

# Data-subject requests are due this many days after receipt (PIPL leaves it to "promptly"; GB/T 35273 says 15
# working days, GDPR one month). Retention anonymises only what its report flagged this many days before.
KEHU_SUBJECT_REQUEST_DAYS = env_int("KEHU_SUBJECT_REQUEST_DAYS", 15, minimum=1)
KEHU_RETENTION_GRACE_DAYS = env_int("KEHU_RETENTION_GRACE_DAYS", 14, minimum=0)
# Where duplicate linkage runs (kehu.dedup.engines): DuckDB in memory here, or Spark (pip install pyspark; Java 17)
# for a base beyond one machine, at KEHU_SPARK_MASTER (spark://host:7077, or local[*] to try it on this one).
KEHU_DEDUP_ENGINE = env_choice("KEHU_DEDUP_ENGINE", "duckdb", {"duckdb", "spark"})
KEHU_SPARK_MASTER = env_str("KEHU_SPARK_MASTER", "local[*]")
# Where customer analytics computes its features (kehu.analytics.features): an in-memory DuckDB fed through Arrow,
# inside PostgreSQL when kehu runs on it, or Spark (KEHU_SPARK_MASTER).
KEHU_ANALYTICS_BACKEND = env_choice("KEHU_ANALYTICS_BACKEND", "duckdb", {"duckdb", "postgres", "pyspark"})
# The worker queues an analytics run every night at this local time (HH:MM; "off": only on demand), acting as
# KEHU_ANALYTICS_NIGHTLY_AS (a username; default: the first active administrator).
KEHU_ANALYTICS_NIGHTLY_AT = env_str("KEHU_ANALYTICS_NIGHTLY_AT", "02:00").strip().lower()
if KEHU_ANALYTICS_NIGHTLY_AT != "off" and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", KEHU_ANALYTICS_NIGHTLY_AT):
    raise ConfigurationError(f"KEHU_ANALYTICS_NIGHTLY_AT={KEHU_ANALYTICS_NIGHTLY_AT!r} is not HH:MM or off")
KEHU_ANALYTICS_NIGHTLY_AS = env_str("KEHU_ANALYTICS_NIGHTLY_AS", "")
# Backups are sealed with the current encryption key unless turned off (kehu.ops.backup).
KEHU_BACKUP_ENCRYPT = env_bool("KEHU_BACKUP_ENCRYPT", True)
# Erasures are also noted here (public ids only), outside the database: restoring an older backup erases them again.
KEHU_ERASURE_JOURNAL = Path(env_str("KEHU_ERASURE_JOURNAL", str(VAR_DIR / "erasure-journal.jsonl")))

# Background jobs (kehu.core.jobs) run in `kehu worker` through django-tasks' database backend: no extra service.
# A running job whose worker has sent no heartbeat for this long (or, on the same machine, whose process is
# gone) is resumed from its checkpoint by another worker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
KEHU_JOB_STALE_SECONDS = env_int("KEHU_JOB_STALE_SECONDS", 300, minimum=5)
# Uploaded files (imports) are kept here, encrypted, until their job's report is deleted.
KEHU_UPLOAD_DIR = Path(env_str("KEHU_UPLOAD_DIR", str(VAR_DIR / "uploads")))
KEHU_UPLOAD_MAX_BYTES = env_int("KEHU_UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
# Uploaded files and finished exports hold personal data: the worker deletes them this many days after their
# job ended (the import report's refused rows stay with the job).
KEHU_UPLOAD_KEEP_DAYS = env_int("KEHU_UPLOAD_KEEP_DAYS", 7, minimum=1)


# SQLite reads through a memory map of up to this many bytes (the most SQLite maps: its default
# SQLITE_MAX_MMAP_SIZE), on kehu's own connections and on analytics' ADBC reads alike
KEHU_SQLITE_MMAP_BYTES = 2_147_418_112


def _database() -> dict[str, Any]:
    default_url = f"sqlite:///{VAR_DIR / 'kehu.sqlite3'}"
    url = env_str("KEHU_DATABASE_URL", default_url)
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as error:
        raise ConfigurationError(f"KEHU_DATABASE_URL is not a database URL kehu understands: {error}") from None
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets readers run beside the one writer; IMMEDIATE makes every write transaction
            # take the write lock at BEGIN, so the audit hash chain can never fork.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
                # Reads through a memory map of up to 2 GiB: each request opens a new connection, whose own page
                # cache starts empty; the map shares the operating system's cache instead (list pages 2-3x faster).
                f"PRAGMA mmap_size={KEHU_SQLITE_MMAP_BYTES}; "
                # Deleted and overwritten content is zeroed, so erased personal data does not linger in the file.
                "PRAGMA secure_delete=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("KEHU_SQLITE_BUSY_TIMEOUT", 20, minimum=1),
        }
    elif engine != "django.db.backends.postgresql":
        raise ConfigurationError(f"KEHU_DATABASE_URL: only sqlite:// and postgres:// are supported, not {engine}")
    test_name = env_str("KEHU_TEST_DATABASE_NAME", "")
    config["TEST"] = {"NAME": test_name} if test_name else {}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "ninja",  # serves Swagger UI from its own static files: the docs work with no internet
    "kehu.core",
    "kehu.accounts",
    "kehu.audit",
    "kehu.customers",
    "kehu.commerce",
    "kehu.interactions",
    "kehu.web",
    "kehu.ops",
    "kehu.privacy",
    "kehu.ingest",
    "kehu.dedup",
    "kehu.analytics",
    "django_tasks",
    "django_tasks_db",
]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    INSTALLED_APPS.append("django.contrib.postgres")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kehu.web.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kehu.accounts.middleware.SessionTimeoutMiddleware",
    "kehu.accounts.middleware.TwoFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kehu.api.RejectNulCharactersMiddleware",
    "kehu.api.ApiLanguageMiddleware",
    "kehu.api.ApiAuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kehu.web.context_processors.navigation",
            ],
        },
    },
]

# Django's form renderer with the common widgets built in Python (same HTML; see kehu/web/renderer.py).
FORM_RENDERER = "kehu.web.renderer.FastWidgetRenderer"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # `kehu collectstatic` fills it; WhiteNoise serves it, compressed and cached
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# HTTPS is assumed outside development: redirect, HSTS, secure cookies. KEHU_HTTPS=false serves plain HTTP
# (a trusted intranet only); KEHU_BEHIND_PROXY=true trusts X-Forwarded-Proto from the reverse proxy.
KEHU_HTTPS = env_bool("KEHU_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = KEHU_HTTPS
SECURE_HSTS_SECONDS = env_int("KEHU_HSTS_SECONDS", 31536000 if KEHU_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KEHU_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("KEHU_HSTS_PRELOAD", False)
# kehu often runs on one host of a company domain whose other hosts it cannot vouch for: HSTS for
# subdomains and the browsers' preload list are the administrator's decision, not a default.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
if env_bool("KEHU_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = KEHU_HTTPS
CSRF_COOKIE_SECURE = KEHU_HTTPS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts only from kehu itself (no inline scripts); inline style attributes are allowed for the API docs.
KEHU_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("KEHU_MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)

# Sign-in throttling (OWASP ASVS 2.2): this many failures within the window lock a user name for the window;
# an address gets four times as many tries, so one office behind NAT is not locked out by one user.
KEHU_SIGNIN_MAX_FAILURES = env_int("KEHU_SIGNIN_MAX_FAILURES", 5, minimum=1)
KEHU_SIGNIN_LOCK_MINUTES = env_int("KEHU_SIGNIN_LOCK_MINUTES", 15, minimum=1)
# Sessions end after this much inactivity, and in any case this long after signing in.
KEHU_SESSION_IDLE_MINUTES = env_int("KEHU_SESSION_IDLE_MINUTES", 30, minimum=1)
KEHU_SESSION_ABSOLUTE_HOURS = env_int("KEHU_SESSION_ABSOLUTE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = KEHU_SESSION_ABSOLUTE_HOURS * 3600
# Changing one's password, email or phone asks for the password (and code) again unless given this recently.
KEHU_REAUTH_MINUTES = env_int("KEHU_REAUTH_MINUTES", 10, minimum=1)

# Roles that must sign in with a second factor (TOTP): by default the administrator and every role that may
# reveal personal data. `none` turns the requirement off (the demo does; `check --deploy` warns about it).
_TWO_FACTOR_DEFAULT = ["admin", "manager", "sales_rep", "service_agent"]
KEHU_TWO_FACTOR_ROLES = frozenset(env_list("KEHU_TWO_FACTOR_ROLES", _TWO_FACTOR_DEFAULT)) - {"none"}
OTP_TOTP_ISSUER = env_str("KEHU_TWO_FACTOR_ISSUER", "kehu")

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"personal_data": {"()": "kehu.core.logging.PersonalDataFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["personal_data"]}},
    "root": {"handlers": ["console"], "level": env_str("KEHU_LOG_LEVEL", "INFO").upper()},
}
