"""Settings of the Wagtail test site: the suite's settings plus Wagtail and its form builder."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "wagtail.contrib.forms",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.images",
    "wagtail.documents",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "tests.wagtail_site",
]
ROOT_URLCONF = "tests.wagtail_site.urls"
WAGTAIL_SITE_NAME = "formguard test shop"
WAGTAILADMIN_BASE_URL = "http://testserver"
# formguard's refusal pages in the site's own frame.
FORMGUARD = {**FORMGUARD, "BASE_TEMPLATE": "wagtail_site/base.html"}  # noqa: F405
