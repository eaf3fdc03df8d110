from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/contact/", permanent=False)),
    path("admin/", admin.site.urls),
    path("contact/", include("project.contact.urls")),
    # The page the label links in the staff's mail open (formguard.mail).
    path("formguard/", include("formguard.urls")),
    # Uploaded QR codes, while DEBUG is on (static() adds nothing otherwise).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]
