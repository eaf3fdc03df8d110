from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormGuardConfig(AppConfig):
    name = "formguard"
    verbose_name = _("formguard: inquiry form protection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks, learning, receivers  # noqa: F401  (registers system checks and receivers)

        post_migrate.connect(receivers.create_policy_rows, sender=self, dispatch_uid="formguard.create_policy_rows")
