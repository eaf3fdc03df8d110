"""Settings of the Django REST framework test API: the suite's settings plus rest_framework."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework"]  # noqa: F405
ROOT_URLCONF = "tests.drf_site.urls"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
