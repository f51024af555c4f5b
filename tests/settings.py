"""Test settings: the real settings, with fast password hashing, plain static storage and eager Celery tasks.

DATABASE_URL / REDIS_URL select PostgreSQL and Redis exactly as in production (``.ci/run`` sets both)."""

from shop.settings import *  # noqa: F403
from shop.settings import STORAGES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_SETTINGS_REUSE_SECONDS = 0  # every e-mail reads the settings the test just saved
MEDIA_ROOT = VAR_DIR / "test-media"

STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Login rate limiting is switched on by the tests that check it (client.login() passes no request).
AXES_ENABLED = False
