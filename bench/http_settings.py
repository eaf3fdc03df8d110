"""Settings of the HTTP bench (bench/http_flood.py): the demo's own settings
(caches, FORMGUARD_REDIS_URL, DEMO_DB and all) plus the bench's URLconf, which
adds an unguarded copy of the contact form as the baseline.
"""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The pass path as before the demo had a captcha (bench/captcha_cost.py measures that).
FORMGUARD = {k: v for k, v in FORMGUARD.items() if k != "CAPTCHA"}  # noqa: F405
