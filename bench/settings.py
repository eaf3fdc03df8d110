"""Settings of the in-process bench (bench/flood_cost.py): the test settings plus
the bench's URLconf and one cache alias per backend the peers run on.

BENCH_REDIS_URL (set by the script once its Redis answers) adds "bench-redis".
"""

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

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
