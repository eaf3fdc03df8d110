from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "project.contact"
    label = "contact"
    default_auto_field = "django.db.models.BigAutoField"
