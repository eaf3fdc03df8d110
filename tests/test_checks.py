"""System checks, by id."""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from project import settings as demo_settings

# Django 6.1's model checks ask the database what it supports.
pytestmark = pytest.mark.django_db


def ids(include_deployment_checks=False):
    return {
        m.id for m in run_checks(include_deployment_checks=include_deployment_checks) if m.id.startswith("formguard")
    }


@override_settings(ROOT_URLCONF="project.urls")  # the demo's views (the suite adds plain test views)
def test_demo_is_clean():
    assert ids() == set()
    call_command("check")  # raises SystemCheckError on any error


def test_missing_middleware():
    middleware = [m for m in demo_settings.MIDDLEWARE if "formguard" not in m]
    with override_settings(MIDDLEWARE=middleware):
        assert "formguard.E001" in ids()


def test_middleware_before_locale_middleware():
    middleware = [m for m in demo_settings.MIDDLEWARE if "formguard" not in m]
    with override_settings(MIDDLEWARE=["formguard.middleware.FormGuardMiddleware", *middleware]):
        assert "formguard.W006" in ids()


def test_bad_trusted_proxy():
    with override_settings(FORMGUARD={"TRUSTED_PROXIES": ["10.0.0.0/8", "proxy.example.com"]}):
        assert "formguard.E002" in ids()


def test_bad_cache_failure_value():
    with override_settings(FORMGUARD={"CACHE_FAILURE": "maybe"}):
        assert "formguard.E003" in ids()


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_a_cache_that_cannot_hold_counters_is_an_error(backend, tmp_path):
    fg = {"BACKEND": backend, "LOCATION": str(tmp_path / "cache")}
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "fg": fg}
    with override_settings(CACHES=caches, FORMGUARD={"CACHE": "fg"}):
        assert "formguard.E004" in ids()
    with override_settings(CACHES=caches, FORMGUARD={"CACHE": "missing"}):
        assert "formguard.E004" in ids()


@pytest.mark.parametrize(
    "formguard",
    [
        {"TRUSTED_PROXY": ["10.0.0.1"]},
        {"DEFAULT_POLICY": {"rate_limit": "lots"}},
        {"DEFAULT_POLICY": {"rate": "5/m"}},
        # Fake success is only for the honeypot and NG words; rates as the admin takes them.
        {"DEFAULT_POLICY": {"japanese_action": "fake_success"}},
        {"DEFAULT_POLICY": {"flood_limit": "many"}},
        {"DEFAULT_POLICY": {"recipient_limit": "0/d"}},
    ],
)
def test_unknown_keys_and_bad_rates(formguard):
    with override_settings(FORMGUARD=formguard):
        assert "formguard.E005" in ids()


def test_the_demos_default_policy_is_valid():
    assert "formguard.E005" not in ids()


def test_unimportable_resolver():
    with override_settings(FORMGUARD={"CLIENT_IP_RESOLVER": "nowhere.resolve"}):
        assert "formguard.E006" in ids()


def test_prefix_range():
    with override_settings(FORMGUARD={"IPV6_PREFIX": 129}):
        assert "formguard.E007" in ids()


REDIS_BACKENDS = {
    "django": ("django.core.cache.backends.redis.RedisCache", "socket_connect_timeout", "socket_timeout"),
    "django-redis": ("django_redis.cache.RedisCache", "SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT"),
}


@pytest.mark.parametrize("flavour", REDIS_BACKENDS)
def test_redis_without_timeouts(flavour):
    backend, connect, read = REDIS_BACKENDS[flavour]
    redis = {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:9/0"}
    # The other backend's spelling of the options does not count.
    other = next(names for key, names in REDIS_BACKENDS.items() if key != flavour)
    for options, warned in [
        ({}, True),
        ({other[1]: 0.5, other[2]: 0.5}, True),
        ({connect: 0.5}, True),
        ({connect: 0.5, read: 0.5}, False),
    ]:
        caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "fg": {**redis}}
        caches["fg"]["OPTIONS"] = options
        with override_settings(CACHES=caches, FORMGUARD={"CACHE": "fg"}):
            found = run_checks(tags=["caches"])
            assert ("formguard.W003" in {m.id for m in found}) is warned, options
            hints = [m.hint for m in found if m.id == "formguard.W003"]
            assert all(f"'{connect}'" in hint and f"'{read}'" in hint for hint in hints)


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_embedded_store_with_a_server_database_is_a_deploy_warning():
    from django.conf import settings

    postgres = {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}
    with override_settings(DATABASES={**settings.DATABASES, "default": postgres}):
        assert "formguard.W001" in ids(include_deployment_checks=True)
    assert "formguard.W001" not in ids(include_deployment_checks=True)
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "fg": redis}
    with override_settings(
        DATABASES={**settings.DATABASES, "default": postgres}, CACHES=caches, FORMGUARD={"CACHE": "fg"}
    ):
        assert "formguard.W001" not in {m.id for m in run_checks(include_deployment_checks=True, tags=["caches"])}


def test_a_store_that_cannot_be_opened_is_a_warning():
    with override_settings(FORMGUARD={"STATE_PATH": "/proc/formguard-dead/state.sqlite3"}):
        assert "formguard.W002" in ids()
    assert "formguard.W002" not in ids()
