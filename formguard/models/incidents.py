"""``Incident``: one refusal (or request let through on the record), as the log keeps it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .reasons import Reason


class Incident(models.Model):
    """Refusals of one client for one reason on one form, aggregated with a count."""

    first_seen = models.DateTimeField(_("first seen"), default=timezone.now, db_index=True)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    count = models.PositiveBigIntegerField(_("count"), default=1)
    ip = models.GenericIPAddressField(_("IP"))
    ip_bucket = models.CharField(
        _("IP group"), max_length=50, db_index=True, help_text=_("The IP, or its IPv6 prefix, counted as one client.")
    )
    country = models.CharField(_("country"), max_length=2, blank=True)
    form_key = models.CharField(_("form key"), max_length=100, db_index=True)
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices, db_index=True)
    monitor_only = models.BooleanField(
        _("monitor only"), default=False, help_text=_("Recorded in monitor-only mode: nothing was refused.")
    )
    method = models.CharField(_("method"), max_length=10, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    sample = models.JSONField(_("submitted sample"), default=dict, blank=True)
    # Window, mode, reason, client and form: the refusals this row counts.
    # Unique, so that the processes that flush counts meet on one row; NULL
    # (not "") for rows recorded before keys existed, which must not collide.
    key = models.CharField(max_length=250, unique=True, null=True, editable=False)  # noqa: DJ001
    # The block rule that refused (its hit count moves with this count).
    rule_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["ip_bucket", "form_key", "reason", "first_seen"])]

    def __str__(self) -> str:
        return f"{self.ip} {self.get_reason_display()} ×{self.count}"
