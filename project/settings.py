"""Settings of the formguard demo site: runs with nothing but Python.

SQLite, formguard's embedded state store, the console email backend.
Environment variables switch the scale-out parts on: FORMGUARD_REDIS_URL
(formguard's state in Redis) and FORMGUARD_PG_* (PostgreSQL) -- see README
"Where formguard keeps its state".
"""

import hashlib
import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Country names in the visitor's language (its translations load only as an app).
    "django_countries",
    "formguard",
    "project.contact",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: a closed form or a banned IP is refused before the CSRF
    # check parses the request body. After LocaleMiddleware: refusal pages
    # speak the visitor's language.
    "formguard.middleware.FormGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

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
                # formguard_reply_hint on the thanks page (reply hints).
                "formguard.context_processors.reply_hint",
            ],
        },
    },
]

WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

if os.environ.get("FORMGUARD_PG_NAME"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["FORMGUARD_PG_NAME"],
            "USER": os.environ.get("FORMGUARD_PG_USER", "postgres"),
            "PASSWORD": os.environ.get("FORMGUARD_PG_PASSWORD", ""),
            "HOST": os.environ.get("FORMGUARD_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("FORMGUARD_PG_PORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DEMO_DB", BASE_DIR / "demo.sqlite3"),
        }
    }

# The site's own cache (pages, sessions if it wants): formguard does not use
# it. formguard keeps its counters and switches in its embedded store, which
# every process of this machine shares (runserver and manage.py beside it,
# gunicorn's workers), or in Redis when FORMGUARD["CACHE"] names one.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("FORMGUARD_REDIS_URL"):
    CACHES["formguard"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["FORMGUARD_REDIS_URL"],
        # A dead or black-holed Redis must not hang a worker.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "project" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploads from the admin: the QR code of a WeChat official account. The demo
# serves them itself while DEBUG is on (project/urls.py); a real site lets
# its web server serve MEDIA_ROOT.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DEMO_MEDIA_ROOT", BASE_DIR / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The console backend prints each inquiry mail in the terminal.
_MAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_MAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {
            "BACKEND": _MAIL_BACKEND,
            "OPTIONS": {"file_path": _MAIL_FILE_PATH} if _MAIL_BACKEND.endswith("filebased.EmailBackend") else {},
        }
    }
else:
    EMAIL_BACKEND = _MAIL_BACKEND
    EMAIL_FILE_PATH = _MAIL_FILE_PATH
DEFAULT_FROM_EMAIL = "webmaster@example.jp"
CONTACT_STAFF_EMAILS = ["staff@example.jp"]

FORMGUARD = {
    # formguard's pages for refused visitors look like the shop's own.
    "BASE_TEMPLATE": "contact/base.html",
    "TRUSTED_PROXIES": [p for p in os.environ.get("FORMGUARD_TRUSTED_PROXIES", "").split(",") if p],
    "CACHE": "formguard" if "formguard" in CACHES else None,
    # The demo is a Japanese shop (values of the site-wide policy row when it
    # is first created; the admin changes them later):
    "DEFAULT_POLICY": {
        # a message of 20 characters or more must have kana in it;
        "japanese_action": "refuse",
        # a bot that fills the hidden field is told "sent" and nothing is mailed;
        "honeypot_action": "fake_success",
        # more than 200 submissions in 10 minutes from everyone together (a
        # busy day brings a few dozen) put the captcha on every POST for 30
        # minutes; the form stays open (README "Under a flood").
        "flood_limit": "200/10m",
        "flood_close_minutes": 30,
        # 営業お断り: a notice at the top of the form that form-sales tools read.
        "sales_notice": True,
    },
}
if os.environ.get("FORMGUARD_STATE_PATH"):
    FORMGUARD["STATE_PATH"] = os.environ["FORMGUARD_STATE_PATH"]

# The GeoLite2 database that the maxminddb-geolite2 package ships (2018), so
# the country filter works with no download or licence key. A real site
# points GEOIP_PATH at a current GeoLite2-Country.mmdb (README: geoipupdate).
try:
    from _maxminddb_geolite2 import geolite2_database

    FORMGUARD["GEOIP_PATH"] = os.environ.get("FORMGUARD_GEOIP_PATH", geolite2_database())
except ImportError:
    FORMGUARD["GEOIP_PATH"] = os.environ.get("FORMGUARD_GEOIP_PATH")

# The demo's captcha is the self-hosted proof of work (ALTCHA): no keys to
# register, no outside service, works offline and from mainland China. Its
# HMAC key comes from the environment (FORMGUARD_CAPTCHA_SECRET_KEY) or, for
# the demo only, is derived from Django's SECRET_KEY.
# FORMGUARD_DEMO_CAPTCHA=google-test uses Google's published reCAPTCHA test
# keys instead, served from www.recaptcha.net (reachable from mainland China);
# FORMGUARD_DEMO_CAPTCHA=off switches the captcha off.
_DEMO_CAPTCHA = os.environ.get("FORMGUARD_DEMO_CAPTCHA", "altcha")
if _DEMO_CAPTCHA == "google-test":
    FORMGUARD["CAPTCHA"] = {
        "PROVIDER": "recaptcha_v2",
        "SITE_KEY": "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
        "SECRET_KEY": "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe",
        "SCRIPT_HOST": "https://www.recaptcha.net",
    }
elif _DEMO_CAPTCHA == "altcha":
    FORMGUARD["CAPTCHA"] = {
        "PROVIDER": "altcha",
        "SECRET_KEY": os.environ.get("FORMGUARD_CAPTCHA_SECRET_KEY")
        or hashlib.sha256(f"formguard-demo-altcha:{SECRET_KEY}".encode()).hexdigest(),
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"formguard": {"handlers": ["console"], "level": "INFO"}},
}
