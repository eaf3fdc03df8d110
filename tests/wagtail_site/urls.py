from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("formguard/", include("formguard.urls")),
    # Every other path is a Wagtail page: the form page among them.
    path("", include(wagtail_urls)),
]
