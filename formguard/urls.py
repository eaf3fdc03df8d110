"""formguard's own URLs, for the site's URLconf: ``path("formguard/", include("formguard.urls"))``.

Only the page the label links in the staff's mail open (``formguard.views.label``);
the admin has the rest.
"""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "formguard"

urlpatterns = [
    path("label/<str:token>/", views.label, name="label"),
]
