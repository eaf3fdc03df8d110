from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormGuardConfig(AppConfig):
    name = "formguard"
    verbose_name = _("formguard: inquiry form protection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, receivers  # noqa: F401  (registers system checks and receivers)
