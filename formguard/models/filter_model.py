"""``FilterModel``: the owner-taught filter's model, one row for the site.

The classifier (``formguard.classifier``) is a pure library; its learnt counts
have to live somewhere every process reads. One row holds them, as the
engine's own compact bytes (``NaiveBayes.to_bytes``, never a pickle): labels
are rare (a person gives each), scores are many, so a label writes the row
under a row lock and every process keeps the bytes in memory behind a
generation (``formguard.learning``), as policies are kept.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The one row's key; a field, not a constant primary key, so that a per-form
# model can come later without a migration of the data.
SITE_MODEL = "site"


class FilterModel(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True, default=SITE_MODEL)
    model = models.BinaryField(_("learnt model"), default=bytes)
    # {label: count}, beside the bytes so the admin can show them without decoding.
    label_counts = models.JSONField(_("labels learnt"), default=dict, blank=True)
    updated = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("filter model")
        verbose_name_plural = _("filter models")

    def __str__(self) -> str:
        return self.name
