"""``BlockRule``: an address or network banned or allowed, by hand or by the burst check."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..ip import network_text, parse_network


class BlockRule(models.Model):
    """One IP or CIDR range, on the blacklist or the allowlist."""

    class Kind(models.TextChoices):
        BLOCK = "block", _("blacklist")
        ALLOW = "allow", _("allowlist")

    class Source(models.TextChoices):
        MANUAL = "manual", _("manual")
        AUTOMATIC = "auto", _("automatic")

    network = models.CharField(_("IP or CIDR"), max_length=50, db_index=True)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind.choices, default=Kind.BLOCK)
    source = models.CharField(_("source"), max_length=6, choices=Source.choices, default=Source.MANUAL)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    form_key = models.CharField(
        _("form key"), max_length=100, blank=True, help_text=_("For automatic bans: the form that was flooded.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, db_index=True, help_text=_("Empty: never expires.")
    )
    offence = models.PositiveIntegerField(
        _("offence number"), default=1, help_text=_("For automatic bans: how many times this IP has been banned.")
    )
    hits = models.PositiveBigIntegerField(_("requests stopped"), default=0)
    # Every process's index fetches the rules changed since its last sync by this.
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("block rule")
        verbose_name_plural = _("block rules")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.network}"

    def save(self, *args, **kwargs) -> None:
        self.network = network_text(parse_network(self.network))
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            self.network = network_text(parse_network(self.network))
        except ValueError as exc:
            raise ValidationError({"network": _("Not an IP address or CIDR range: %s") % exc}) from exc

    @property
    def ip_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return parse_network(self.network)

    def is_active_at(self, now) -> bool:
        return self.expires_at is None or now < self.expires_at
