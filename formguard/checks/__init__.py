"""System checks, one fixed id per condition (listed in the README), one module per concern.

Importing this package registers every check (``FormGuardConfig.ready``).

| id              | condition                                                        |
|-----------------|------------------------------------------------------------------|
| formguard.E001  | ``FormGuardMiddleware`` is not in ``MIDDLEWARE``                  |
| formguard.E002  | a ``TRUSTED_PROXIES`` entry is not an IP or CIDR                 |
| formguard.E003  | ``CACHE_FAILURE`` is neither "open" nor "closed"                 |
| formguard.E004  | the counter cache is ``DummyCache``: nothing would ever count    |
| formguard.E005  | ``DEFAULT_POLICY`` has an unreadable rate or an unknown key      |
| formguard.E006  | ``CLIENT_IP_RESOLVER`` cannot be imported                        |
| formguard.E007  | ``IPV6_PREFIX`` / ``IPV4_PREFIX`` out of range                   |
| formguard.W001  | (deploy) the counter cache is not shared between processes       |
| formguard.W006  | ``FormGuardMiddleware`` before ``LocaleMiddleware``               |
| formguard.W003  | the counter cache is Redis without socket timeouts              |
| formguard.W002  | the state store does not answer, or answers but cannot be written |
| formguard.E016  | the Redis alias names a cluster node or a sentinel as one server |
| formguard.W008  | little free space where the embedded store writes                |
| formguard.W009  | the flood limit is on but no captcha is configured               |
| formguard.E008  | ``CAPTCHA["PROVIDER"]`` is unknown or not a CaptchaProvider       |
| formguard.E009  | only one of the captcha site key and secret key is set           |
| formguard.E010  | ``CAPTCHA["ON_UNAVAILABLE"]`` is neither "open" nor "closed"     |
| formguard.W004  | (deploy) no captcha keys: the captcha check is off               |
| formguard.E011  | (deploy) published captcha test keys with ``DEBUG = False``       |
| formguard.E013  | the self-hosted captcha (ALTCHA) has no HMAC key                  |
| formguard.E014  | the self-hosted captcha's HMAC key is weak (< 32 characters)     |
| formguard.E012  | ``GEOIP_PATH`` is set but the file is missing or not an .mmdb    |
| formguard.W005  | (deploy) the GeoIP database is older than ``GEOIP_MAX_AGE_DAYS``  |
| formguard.W007  | a form is hidden from some countries but no alternative contact   |
|                 | exists: those visitors have no way to reach the business          |
| formguard.W010  | no alternative contact for every country (no row of no country):  |
|                 | banned, rate-limited and closed-form visitors are shown none      |
| formguard.W011  | a plain ``@guard_form`` view: its form has no traps, no captcha   |
| formguard.E015  | a ``ConsentField`` is declared pre-ticked (``initial=True``)      |
"""

# Each module registers its checks when imported; the names are kept here, where
# they were before the checks had modules of their own.
from .captcha import check_captcha, check_captcha_deploy
from .consent import check_consent_fields
from .contacts import check_refusals_without_contacts
from .forms import check_plain_form_views
from .geoip import check_geoip, check_geoip_age
from .policies import check_flood_without_captcha, check_hidden_without_contacts
from .setup import check_middleware, check_settings
from .store import check_cache_timeouts, check_state_scope, check_store_answers

__all__ = [
    "check_cache_timeouts",
    "check_captcha",
    "check_captcha_deploy",
    "check_consent_fields",
    "check_flood_without_captcha",
    "check_geoip",
    "check_geoip_age",
    "check_hidden_without_contacts",
    "check_middleware",
    "check_plain_form_views",
    "check_refusals_without_contacts",
    "check_settings",
    "check_state_scope",
    "check_store_answers",
]
