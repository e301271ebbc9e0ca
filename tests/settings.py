"""Settings for the test suite: kehu's own settings with a fixed test key and a fast password hasher."""

import os

os.environ.setdefault("KEHU_SECRET_KEY", "tests-only-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("KEHU_DEBUG", "false")
os.environ.setdefault("KEHU_ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("KEHU_HTTPS", "false")
# Fixed test keys (never used anywhere else): k2 encrypts, k1 still decrypts.
os.environ.setdefault(
    "KEHU_ENCRYPTION_KEYS",
    "k2:dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS10d28tLS0=,k1:dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS1vbmUtLS0=",
)
os.environ.setdefault("KEHU_BLIND_INDEX_KEY", "dGVzdHMtb25seS1ibGluZC1pbmRleC1rZXktLS0tLS0=")
# Most tests sign in with force_login; the two-factor tests turn the requirement on themselves.
os.environ.setdefault("KEHU_TWO_FACTOR_ROLES", "none")
# Workers started by the tests run only the jobs the tests queue (the nightly analytics test sets its own time).
os.environ.setdefault("KEHU_ANALYTICS_NIGHTLY_AT", "off")
os.environ.setdefault("KEHU_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from kehu.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Production serves hashed files from `kehu collectstatic`; the tests render templates without running it.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - WhiteNoise warns about a missing one
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
