"""Settings, read from the environment in one place (django-environ).

The embedded default (no variables set) is a development set-up: SQLite in
``var/db.sqlite3``, keys in ``var/keys/``, releases in ``var/releases/``.
Production sets ``DJANGO_ENV=production``; then every secret must come from
the environment and a missing one raises ``ImproperlyConfigured``.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

VAR_DIR = Path(env.str("DEID_VAR_DIR", default=str(BASE_DIR / "var")))

if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # raises ImproperlyConfigured when missing
else:
    # Development only: a fixed, clearly non-secret key. Never used in production.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-not-for-production")

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # backup codes for the staff's second factor (django-two-factor-auth's pages)
    "django_otp.plugins.otp_static",
    "formtools",
    "two_factor",
    "axes",
    "csp",
    "django_q",
    "audit",
    "governance",
]

MIDDLEWARE = [
    # The client address and scheme only through configured proxies (before anything reads them).
    "governance.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the application server itself (gunicorn; no separate file server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every response (django-csp).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Korean and English: the language from the session (the switch), else the
    # browser's Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.portal.context.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for the writer lock instead of failing at once (worker + web server).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # Take the write lock when a transaction begins: an audited transaction that reads
    # before it writes must wait for the lock, not fail with "database is locked".
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    _sqlite_name = str(DATABASES["default"].get("NAME", ""))
    if _sqlite_name and _sqlite_name != ":memory:" and not _sqlite_name.startswith("file:"):
        # The embedded default keeps its state in var/: make the folder on first use.
        Path(_sqlite_name).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Failed logins are rate-limited per username and client address (django-axes).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# the address governance.middleware resolved (X-Forwarded-For only through trusted proxies)
AXES_CLIENT_IP_CALLABLE = "governance.middleware.remote_addr"
# Second factor (TOTP) for legal reviewers, data stewards and administrators in the admin
# (enforced by governance.admin_site.GovernanceAdminSite); the issuer names authenticator entries.
OTP_TOTP_ISSUER = "Gangwon data governance"
# Staff log in at /account/login/ (django-two-factor-auth): password, then the 6-digit code
# in the same flow; enrolment by QR code and backup codes at /account/two_factor/.
LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/admin/"
TWO_FACTOR_REMEMBER_COOKIE_AGE = None  # never skip the code on a remembered browser

LANGUAGE_CODE = "en"
LANGUAGES = [("ko", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# Mail: notifications to whoever acts next. The embedded default writes each message to
# a file under var/mail/; production sets EMAIL_BACKEND / EMAIL_HOST (django-environ).
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@gangwon-deid.example")

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# whitenoise serves collected files (production) or the apps' static folders (development)
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing folder
MEDIA_ROOT = Path(env.str("DEID_MEDIA_ROOT", default=str(VAR_DIR / "documents")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DEID_MAX_DOCUMENT_BYTES = env.int("DEID_MAX_DOCUMENT_BYTES", default=20 * 1024 * 1024)

# --- The engine's places and keys -------------------------------------------
# The synthetic (or real) CDW the engine reads, as an SQLAlchemy URL.
DEID_CDW_URL = env.str("DEID_CDW_URL", default=f"sqlite:///{VAR_DIR / 'cdw.sqlite3'}")
# The genomics company's feed (cohort *.vcf.gz + .tbi, and the platform's linkage.csv)
# and the lifelog institution's feed (minutes.parquet and linkage.csv).
DEID_GENOME_DIR = Path(env.str("DEID_GENOME_DIR", default=str(VAR_DIR / "genome")))
DEID_LIFELOG_DIR = Path(env.str("DEID_LIFELOG_DIR", default=str(VAR_DIR / "lifelog")))
DEID_RELEASES_DIR = Path(env.str("DEID_RELEASES_DIR", default=str(VAR_DIR / "releases")))
DEID_KEYS_DIR = Path(env.str("DEID_KEYS_DIR", default=str(VAR_DIR / "keys")))
# Release builds: the executor (local | spark), rows per batch, the Spark master and the
# JDBC driver JAR for a PostgreSQL CDW, when a running build counts as stale, retries.
DEID_BUILD_ENGINE = env.str("DEID_BUILD_ENGINE", default="local")
DEID_BUILD_BATCH_ROWS = env.int("DEID_BUILD_BATCH_ROWS", default=65536)
DEID_BUILD_STALE_SECONDS = env.int("DEID_BUILD_STALE_SECONDS", default=300)
DEID_BUILD_RETRIES = env.int("DEID_BUILD_RETRIES", default=2)
DEID_SPARK_MASTER = env.str("DEID_SPARK_MASTER", default="local[2]")
DEID_SPARK_JDBC_JAR = env.str("DEID_SPARK_JDBC_JAR", default="")
# The master secret: DEID_MASTER_KEY (hex or base64) or DEID_MASTER_KEY_FILE.
# Development falls back to a generated file in var/keys/ (created by `manage.py demo`).
DEID_MASTER_KEY_FILE = Path(
    env.str("DEID_MASTER_KEY_FILE", default=str(DEID_KEYS_DIR / "master.key"))
)
# Only whether the secret is in the environment: the engine reads it there itself, so the
# secret never sits in the settings object.
DEID_MASTER_KEY_IN_ENV = bool(env.str("DEID_MASTER_KEY", default=""))
# Ed25519 signing key for audit checkpoints, kept outside the database.
AUDIT_SIGNING_KEY_FILE = Path(
    env.str("AUDIT_SIGNING_KEY_FILE", default=str(DEID_KEYS_DIR / "audit_signing.key"))
)
# How audit events get their place in the chain (audit/sequencer.py): "inline" (under the
# head's lock, in the caller's transaction) or "batched" (pending at once, sealed in batches
# after the commit; PostgreSQL only, SQLite is always inline).
AUDIT_SEQUENCER = env.str("AUDIT_SEQUENCER", default="batched" if PRODUCTION else "inline")
if AUDIT_SEQUENCER not in ("inline", "batched"):
    raise ImproperlyConfigured(
        f"AUDIT_SEQUENCER: expected inline or batched, got {AUDIT_SEQUENCER!r}"
    )
if PRODUCTION:
    for _name in ("DEID_MASTER_KEY_FILE", "AUDIT_SIGNING_KEY_FILE", "DATABASE_URL"):
        if _name not in env:
            raise ImproperlyConfigured(f"Set the {_name} environment variable in production.")

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Bearer first: its WWW-Authenticate makes unauthenticated calls 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["governance.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("DEID_API_RATE", default="600/min"),
        "download": env.str("DEID_DOWNLOAD_RATE", default="120/min"),
    },
    "EXCEPTION_HANDLER": "governance.api.exceptions.api_exception_handler",
    # throttle by REMOTE_ADDR, which governance.middleware set from trusted proxies only
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gangwon clinical data release API",
    "DESCRIPTION": "Data access requests and approved, de-identified releases for recipients.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc served from this server (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "governance.models.core.RequestState",
        "ReleaseStateEnum": "governance.models.core.ReleaseState",
        "PurposeCodeEnum": "governance.models.core.DataAccessRequest.Purpose",
    },
}

# --- Background jobs (django-q2, ORM broker: no broker needed by default) ---
Q_CLUSTER = {
    "name": "deid",
    "workers": env.int("DEID_WORKERS", default=1),
    "timeout": env.int("DEID_JOB_TIMEOUT", default=6 * 3600),
    "retry": env.int("DEID_JOB_RETRY", default=6 * 3600 + 60),
    "max_attempts": env.int("DEID_JOB_MAX_ATTEMPTS", default=2),
    "orm": "default",
    "catch_up": False,
}
if env.str("REDIS_URL", default=""):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env.str("REDIS_URL")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Behind a reverse proxy -------------------------------------------------
# Addresses or networks of the reverse proxies (e.g. "10.0.0.5,10.1.0.0/16"). Only from
# them are X-Forwarded-For (the client address for lockouts, throttling and the audit
# log) and X-Forwarded-Proto (HTTPS) believed: governance.middleware strips the headers
# from anyone else, which is what makes SECURE_PROXY_SSL_HEADER safe to set.
DEID_TRUSTED_PROXIES = env.list("DEID_TRUSTED_PROXIES", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # hashed, compressed static files (collectstatic runs in `make serve-prod`)
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# --- Content-Security-Policy (django-csp) on every page: admin, portal, API docs ---------
# Scripts only from this server (no inline script: the API docs use Swagger UI's split
# view, the admin and the portal have none); inline styles are allowed because Django's
# admin and Swagger UI use style attributes; Redoc renders in a blob: worker.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
