"""``ActionLog``: who switched, banned or changed what, and when."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ActionLog(models.Model):
    """What was done about spam, and when: closures, reopenings, bans, lifts.

    The "measures taken" of a report. Written by formguard's signal receivers
    whichever way the action was taken (admin, command, automatic).
    """

    class Action(models.TextChoices):
        # What someone did (「フォームを停止」), not the state an incident names (「フォーム停止中」).
        CLOSED = "closed", pgettext_lazy("action log", "form closed")
        REOPENED = "reopened", pgettext_lazy("action log", "form reopened")
        BANNED = "banned", _("IP banned")
        ALLOWED = "allowed", _("IP allowlisted")
        LIFTED = "lifted", _("rule lifted")
        # Under a flood: the captcha for everyone (escalation.py), and back.
        ESCALATED = "escalated", _("captcha for everyone (flood)")
        ESCALATION_ENDED = "escalation_ended", _("flood measures ended")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    target = models.CharField(_("form or IP"), max_length=100)
    automatic = models.BooleanField(_("automatic"), default=False)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    # Who: "user:<username>", "cli:<OS user>" or "auto" (see actors.py).
    actor = models.CharField(_("by"), max_length=160, blank=True)
    # Until when a closure or a rule lasts; shown in the reader's language and time zone.
    until = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("action log entry")
        verbose_name_plural = _("action log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_action_display()} {self.target}"

    def actor_display(self) -> str:
        from ..actors import describe

        return describe(self.actor, automatic=self.automatic)
