"""Test settings: the demo project, in memory, plus a few test-only views."""

from project.settings import *  # noqa: F403

DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["NAME"] = ":memory:"  # noqa: F405

ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
LANGUAGE_CODE = "en"

TEMPLATES[0]["DIRS"] = [BASE_DIR / "tests" / "templates"]  # noqa: F405

# The demo's captcha (ALTCHA, on by default) is off for the suite, whose
# tests post the form without solving anything; tests of the captcha switch
# it on with override_settings (tests/test_altcha.py: the demo's own settings).
DEMO_FORMGUARD = FORMGUARD  # noqa: F405
FORMGUARD = {k: v for k, v in FORMGUARD.items() if k != "CAPTCHA"}  # noqa: F405
