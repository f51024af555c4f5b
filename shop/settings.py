"""Settings for the shop, read from the environment (12-factor).

With no variable set you get the embedded default: a SQLite file under ``var/``, Celery tasks run in-process,
e-mails written as files under ``var/mail/``. Production sets ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``
(Celery broker and cache), ``SECRET_KEY``, ``ALLOWED_HOSTS`` and the SMTP variables. See README.md.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import certifi
import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment; the embedded default keeps a random one in var/ (never in the repo)."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
# The technical error page (DEBUG on) hides secrets as error reports do (shop/debug.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "shop.debug.SecretsHiddenFilter"
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "shop",  # before WhiteNoise: its runserver wraps WhiteNoise's and runs the beat schedule in-process
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "shop.catalog",
    "shop.cart",
    "shop.checkout",
    "shop.backoffice",
    "orders",
    "payments",
    "notifications",
]

MIDDLEWARE = [
    "payments.middleware.ProviderBudgetMiddleware",  # first: the budget counts from the request's start
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shop.middleware.FormBodyIsUTF8Middleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "shop.cart.middleware.CartMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp): every script, style sheet, frame and connection comes from the shop itself,
# nothing inline (no inline script or style attribute; htmx's indicator styles are in shop.css). Forms may post
# anywhere: checkout redirects to the payment providers' pages after its POST, which form-action would refuse.
# Images also from SITE_URL (the e-mail previews show the logo by its absolute address). Django's admin, which has
# inline scripts of its own, is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/django-admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
    },
}

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
            "builtins": ["shop.catalog.templatetags.money"],
        },
    }
]

# Database: DATABASE_URL (postgres://…) in production, a SQLite file by default.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'shop.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent shoppers on the embedded default: WAL lets readers run beside the writer, the busy timeout makes a
    # writer wait for the lock instead of failing, and IMMEDIATE transactions take the write lock up front so that a
    # transaction never has to upgrade a read lock (the upgrade is what fails with "database is locked").
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and the cache. Without it, tasks run in-process and the cache is per process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = int(os.environ.get("CELERY_WORKER_PREFETCH_MULTIPLIER", "1"))
# Celery's Django fix-up closes the database connection around every task unless told to reuse it: a new PostgreSQL
# connection per e-mail would cost more than the e-mail. Connections are still recycled after this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = "Europe/Zurich"
CELERY_BEAT_SCHEDULE = {
    "purge-stale-carts": {"task": "shop.cart.tasks.purge_stale_carts", "schedule": 60 * 60},
    # Abandoned-cart reminders (when switched on under Settings → Email, on the Standard plan).
    "send-cart-reminders": {"task": "shop.cart.tasks.send_cart_reminders", "schedule": 5 * 60},
    # E-mails that never reached the broker (Redis down at commit) or whose retries were lost; exhausted ones fail.
    "sweep-outbox": {"task": "notifications.tasks.sweep_outbox", "schedule": 60},
    # Verified webhook events stored but never processed (broker down when they arrived, a worker lost).
    "sweep-webhooks": {"task": "payments.tasks.sweep_webhook_events", "schedule": 60},
    # Online payments pending for over 30 minutes: ask the provider what became of them.
    "reconcile-payments": {"task": "payments.tasks.reconcile_payments", "schedule": 5 * 60},
    # Refund reservations a crash left pending: settled from the provider's list of refunds, or given back.
    "settle-stale-refunds": {"task": "payments.tasks.settle_stale_refunds", "schedule": 15 * 60},
}
# Without beat (the embedded default), the process that serves runs this schedule itself: shop/periodic.py.
PERIODIC_IN_PROCESS = env_bool("PERIODIC_IN_PROCESS", not REDIS_URL)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/backoffice/login/"
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Failed logins are rate-limited (django-axes): 5 failures for a user name from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "backoffice/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Languages: French, German and English everywhere; URLs carry the language (/de/, /fr/, /en/), "/" redirects.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Zurich"
USE_I18N = True
USE_TZ = True
# Dates as a Swiss shop writes them in each language ("1 Dec 2026", "1. Dezember 2026", "01.12.2026"): shop/formats/.
FORMAT_MODULE_PATH = ["shop.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Product images are uploaded files; a production set-up usually serves them from its proxy or object storage.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# E-mail: SMTP when EMAIL_HOST is set, otherwise files under var/mail/ that the developer can read.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@localhost")
# A worker sending a burst of e-mails reads the store and e-mail settings once per this many seconds.
EMAIL_SETTINGS_REUSE_SECONDS = 5.0
# Where the shop is reached from outside: the links and images of e-mails are built on it.
SITE_URL = os.environ.get("SITE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}").rstrip("/")
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(SITE_URL)  # the logo in e-mail previews
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Cookies are marked Secure when the site runs behind HTTPS (SECURE_COOKIES=true in production).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_ENGINE = "shop.sessions"  # database sessions that take only keys Django could have made
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
MESSAGE_STORAGE = "django.contrib.messages.storage.fallback.FallbackStorage"

# Shop.
SHOP_CURRENCY = "CHF"
CART_COOKIE_NAME = "cart"
CART_COOKIE_AGE = 30 * 24 * 60 * 60  # 30 days, in seconds
# A cart with items and an e-mail, without an order, is abandoned once its shopper has done nothing with it this long.
CART_ABANDONED_AFTER_MINUTES = int(os.environ.get("CART_ABANDONED_AFTER_MINUTES", "120"))
CART_MAX_QUANTITY = 99
LOW_STOCK_THRESHOLD = 5

# Payment providers: secrets come from the environment only. The test provider's signing secret defaults to one
# derived from SECRET_KEY, so that it is never stored anywhere.
TEST_PROVIDER_SECRET = (
    os.environ.get("TEST_PROVIDER_SECRET")
    or hmac.new(SECRET_KEY.encode(), b"shop.payments.test-provider", hashlib.sha256).hexdigest()
)
# Stripe (Checkout Sessions): the secret key (sk_test_… is the sandbox, sk_live_… live), the webhook endpoint's
# signing secret (whsec_…), and STRIPE_API_BASE to point the shop at a local stand-in of Stripe's API.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "").strip()
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "").strip()
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").strip().rstrip("/")
# Datatrans (cards, TWINT, PostFinance through its Payment Page): the merchant id and the API password of the
# merchant's account (Basic auth), the HMAC key of its webhook signing (hex, as Datatrans shows it), sandbox or live,
# and DATATRANS_API_BASE / DATATRANS_PAY_BASE to point the shop at a local stand-in of its API and payment page.
DATATRANS_MERCHANT_ID = os.environ.get("DATATRANS_MERCHANT_ID", "").strip()
DATATRANS_PASSWORD = os.environ.get("DATATRANS_PASSWORD", "").strip()
DATATRANS_HMAC_KEY = os.environ.get("DATATRANS_HMAC_KEY", "").strip()
DATATRANS_MODE = os.environ.get("DATATRANS_MODE", "sandbox").strip().lower() or "sandbox"
DATATRANS_API_BASE = os.environ.get("DATATRANS_API_BASE", "").strip().rstrip("/")
DATATRANS_PAY_BASE = os.environ.get("DATATRANS_PAY_BASE", "").strip().rstrip("/")
# TWINT takes CHF only, up to this amount per payment (CHF; TWINT's standard limit for online shops).
TWINT_LIMIT_CHF = int(os.environ.get("TWINT_LIMIT_CHF", "5000"))
# The payment method codes Datatrans's page offers for "PostFinance", comma-separated: PFC (PostFinance Card, paid in
# PostFinance's app as PostFinance Pay) and PEF (PostFinance E-Finance), as Datatrans documents them; keep those
# Datatrans activated for your merchant id (anything but three letters is left out).
DATATRANS_POSTFINANCE_METHODS = [
    code
    for code in (part.strip().upper() for part in os.environ.get("DATATRANS_POSTFINANCE_METHODS", "").split(","))
    if len(code) == 3 and code.isalpha()
] or ["PFC", "PEF"]
# PayPal (Orders v2 through paypal-server-sdk): the REST app's client id and secret, the id of the webhook
# registered for /webhooks/paypal/ (its events are verified against it), sandbox or live, and PAYPAL_API_BASE to
# point the shop at a local stand-in of PayPal's API.
PAYPAL_CLIENT_ID = os.environ.get("PAYPAL_CLIENT_ID", "").strip()
PAYPAL_CLIENT_SECRET = os.environ.get("PAYPAL_CLIENT_SECRET", "").strip()
PAYPAL_WEBHOOK_ID = os.environ.get("PAYPAL_WEBHOOK_ID", "").strip()
PAYPAL_MODE = os.environ.get("PAYPAL_MODE", "sandbox").strip().lower() or "sandbox"
PAYPAL_API_BASE = os.environ.get("PAYPAL_API_BASE", "").strip().rstrip("/")
# The roots PayPal's webhook certificates must chain to (a PEM bundle): by default certifi's (Mozilla's), which hold
# the DigiCert roots PayPal's own SDKs ship; the PayPal stand-in prints its own for trying the shop against it.
PAYPAL_CERT_TRUST_STORE = os.environ.get("PAYPAL_CERT_TRUST_STORE", "").strip() or certifi.where()
# Time budgets of the calls to the payment providers' APIs (payments/providers/budget.py), all far inside gunicorn's
# worker time-out (30 s: docker-compose.yml, README): one attempt (connect, send, the whole answer) takes at most
# PROVIDER_TIMEOUT seconds; all the provider calls of one web request together, retries and their pauses included, at
# most PROVIDER_BUDGET seconds from the request's start, after which the user is told the provider can't be reached.
# Background tasks (a webhook event applied, a payment reconciled, a pending refund settled) have
# PROVIDER_TASK_BUDGET seconds for each event or payment.
PROVIDER_TIMEOUT = float(os.environ.get("PROVIDER_TIMEOUT", "15"))
PROVIDER_BUDGET = float(os.environ.get("PROVIDER_BUDGET", "10"))
PROVIDER_TASK_BUDGET = float(os.environ.get("PROVIDER_TASK_BUDGET", "60"))
# Online payments still pending this long are looked up at the provider, until the provider's session expires.
RECONCILE_AFTER_MINUTES = 30
PRODUCTS_PER_PAGE = 24

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
