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


def test_dummy_cache_counts_nothing():
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}):
        assert "formguard.E004" in ids()


@pytest.mark.parametrize(
    "formguard",
    [{"TRUSTED_PROXY": ["10.0.0.1"]}, {"DEFAULT_POLICY": {"rate_limit": "lots"}}, {"DEFAULT_POLICY": {"rate": "5/m"}}],
)
def test_unknown_keys_and_bad_rates(formguard):
    with override_settings(FORMGUARD=formguard):
        assert "formguard.E005" in ids()


def test_unimportable_resolver():
    with override_settings(FORMGUARD={"CLIENT_IP_RESOLVER": "nowhere.resolve"}):
        assert "formguard.E006" in ids()


def test_prefix_range():
    with override_settings(FORMGUARD={"IPV6_PREFIX": 129}):
        assert "formguard.E007" in ids()


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.filebased.FileBasedCache", True),
        ("django.core.cache.backends.db.DatabaseCache", True),
        ("django.core.cache.backends.redis.RedisCache", False),
    ],
)
def test_non_shared_cache_is_a_deploy_warning(backend, warned):
    config = {"BACKEND": backend, "LOCATION": "x", "OPTIONS": {}}
    if backend.endswith("RedisCache"):
        config["OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
    with override_settings(CACHES={"default": config}):
        assert ("formguard.W001" in ids(include_deployment_checks=True)) is warned
        assert "formguard.W001" not in ids()


def test_redis_without_timeouts():
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379"}
    with override_settings(CACHES={"default": redis}):
        assert "formguard.W003" in ids()
    redis["OPTIONS"] = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    with override_settings(CACHES={"default": redis}):
        assert "formguard.W003" not in ids()


def test_ratelimit_disabled_globally():
    with override_settings(RATELIMIT_ENABLE=False):
        assert "formguard.W002" in ids()


def test_counters_follow_ratelimit_use_cache():
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with override_settings(CACHES=caches, RATELIMIT_USE_CACHE="local"):
        assert "formguard.W001" in ids(include_deployment_checks=True)
