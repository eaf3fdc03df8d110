"""Settings of the HTTP bench (bench/http_flood.py): the demo's own settings
(caches, FORMGUARD_REDIS_URL, DEMO_DB and all) plus the bench's URLconf, which
adds an unguarded copy of the contact form as the baseline.
"""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
