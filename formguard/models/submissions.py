"""``Submission``: what a visitor sent, kept where a check may have been wrong about a person.

Two kinds of rows. A *held* submission was caught by a check that judges its
content (a trap, a rule, the owner-taught filter) and is kept, whole, until the
owner releases it (then the site's own view runs on it, as if it had passed),
discards it, or it expires. A *delivered* one passed and reached the staff; it is
kept (when the owner-taught filter is on) so that a label given later, in the
admin or from the staff's mail, has the text to learn from.

Either way the row holds a visitor's words: admin only, never logged, purged
after the policy's retention (``expires_at``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Label(models.TextChoices):
    """What the owner says a submission was (迷惑・営業・お客様)."""

    SPAM = "spam", _("spam")
    SALES = "sales", _("sales pitch")
    CUSTOMER = "customer", _("customer")


class SubmissionStatus(models.TextChoices):
    HELD = "held", _("held for review")
    RELEASED = "released", _("released")
    DISCARDED = "discarded", _("discarded")
    DELIVERED = "delivered", _("delivered")


class Submission(models.Model):
    """One submission, held for review or delivered, with everything the visitor sent."""

    created = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("kept until"), db_index=True)
    form_key = models.CharField(_("form key"), max_length=100, db_index=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=SubmissionStatus.choices, db_index=True)
    # Why it was held: a ``Reason`` value, or "filter" for the owner-taught filter.
    reason = models.CharField(_("why held"), max_length=30, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    # [[name, value], ...] in the order sent (a name may repeat), secrets and
    # formguard's own tokens left out; files are not kept.
    fields = models.JSONField(_("submitted fields"), default=list, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    page_language = models.CharField(_("page language"), max_length=20, blank=True)
    accept_language = models.CharField(_("browser languages"), max_length=200, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    fill_seconds = models.FloatField(_("time to fill in (seconds)"), null=True, blank=True)
    # The owner-taught filter's scores when it was received ({label: probability}).
    scores = models.JSONField(_("filter scores"), default=dict, blank=True)
    label = models.CharField(_("label"), max_length=10, choices=Label.choices, blank=True, db_index=True)
    labelled_at = models.DateTimeField(_("labelled"), null=True, blank=True)
    labelled_by = models.CharField(_("labelled by"), max_length=150, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "-created"])]

    def __str__(self) -> str:
        return f"{self.form_key} {self.get_status_display()} {self.created:%Y-%m-%d %H:%M}"

    def value(self, name: str) -> str:
        """The first value sent under ``name`` ("" when none)."""
        return next((value for field, value in self.fields if field == name), "")
