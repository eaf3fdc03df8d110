"""What a Redis alias names (issue 26), read from settings without a server: one server,
Sentinel or Cluster. With servers: tests/test_scale_out*.py."""

import pytest
from django.test import override_settings

from formguard.store.topology import CLUSTER, SENTINEL, SINGLE, connect, kind_of

TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def alias(location, backend="django.core.cache.backends.redis.RedisCache", **options):
    return override_settings(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "fg": {"BACKEND": backend, "LOCATION": location, "OPTIONS": options or TIMEOUTS},
        }
    )


@pytest.mark.parametrize(
    ("location", "named"),
    [
        ("redis://10.0.0.5:6379/0", (SINGLE, "")),
        # Django's own list: a writer, then readers.
        ("redis://10.0.0.5:6379/0,redis://10.0.0.6:6379/0", (SINGLE, "")),
        ("redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/mymaster/0", (SENTINEL, "mymaster")),
        ("redis+sentinel://:secret@10.0.0.5:26379/shop", (SENTINEL, "shop")),
        ("redis+cluster://10.0.0.5:6379,10.0.0.6:6379", (CLUSTER, "")),
    ],
)
def test_the_location_names_the_topology(location, named):
    with alias(location):
        assert kind_of("fg") == named


def test_django_redis_sentinel_client_names_its_service():
    options = {"CLIENT_CLASS": "django_redis.client.SentinelClient", "SENTINELS": [("10.0.0.5", 26379)]}
    with alias("redis://mymaster/0", "django_redis.cache.RedisCache", **options):
        assert kind_of("fg") == (SENTINEL, "mymaster")


def test_sentinels_with_a_password_and_the_demo_timeouts_without_connecting():
    with alias("redis+sentinel://:s%40cret@10.0.0.5:26379,10.0.0.6:26380/mymaster/2"):
        topology = connect("fg")
    assert topology.kind == SENTINEL and topology.service == "mymaster"
    sentinels = [c.connection_pool.connection_kwargs for c in topology.sentinel.sentinels]
    assert [(s["host"], s["port"], s["socket_timeout"]) for s in sentinels] == [
        ("10.0.0.5", 26379, 0.5),
        ("10.0.0.6", 26380, 0.5),
    ]
    master = topology.client.connection_pool.connection_kwargs
    assert (master["password"], master["db"], master["socket_connect_timeout"]) == ("s@cret", 2, 0.5)


def test_a_sentinel_location_without_its_service_is_refused():
    with alias("redis+sentinel://10.0.0.5:26379"), pytest.raises(ValueError, match="service"):
        connect("fg")
