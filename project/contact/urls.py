from django.urls import path

from .views import ContactView, ThanksView, contact_api

app_name = "contact"
urlpatterns = [
    path("", ContactView.as_view(), name="form"),
    path("thanks/", ThanksView.as_view(), name="thanks"),
    path("api/", contact_api, name="api"),
]
