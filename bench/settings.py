"""Settings of the in-process bench (bench/flood_cost.py): the test settings plus
the bench's URLconf and one cache alias per backend the peers run on.

BENCH_REDIS_URL (set by the script once its Redis answers) adds "bench-redis"
(Django's RedisCache) and "bench-django-redis" (django-redis), on the same server.
"""

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# bench/lean.py's small template (bench/views.py).
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]  # noqa: F405

CACHES = {
    # As the demo has it: LocMemCache with its default size.
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "bench-locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench-locmem"},
}
if os.environ.get("BENCH_REDIS_URL"):
    CACHES["bench-redis"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["BENCH_REDIS_URL"],
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    CACHES["bench-django-redis"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["BENCH_REDIS_URL"],
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
