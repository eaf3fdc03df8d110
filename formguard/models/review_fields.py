"""A form policy's fields for what is held, what the owner-taught filter does, and 営業お断り.

An abstract model that ``FormPolicy`` builds on, kept apart because it is one
concern: the third outcome (hold for review) and the owner's say over it. Like
the other policy values, a form's row left empty takes the site-wide value.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .inherited import action, filter_action, inherited


class ReviewFields(models.Model):
    hold_retention_days = inherited(
        models.PositiveSmallIntegerField,
        _("keep held messages for (days)"),
        _("Held messages, and delivered ones the filter may learn from, are deleted after this many days."),
        minimum=1,
        maximum=365,
    )
    japanese_foreign_action = action(
        _("Japanese required: visitors who do not read Japanese"),
        _(
            "On a page shown in another language, or for a browser that does not ask for Japanese, a message "
            "without Japanese gets this instead of the rule above."
        ),
    )
    filter_enabled = inherited(
        models.BooleanField,
        _("learn from labels (迷惑・営業・お客様)"),
        _(
            "The filter scores every message and learns from the labels you give. It only suggests until it "
            "has enough labels of each kind."
        ),
    )
    filter_min_labels = inherited(
        models.PositiveSmallIntegerField,
        _("labels of each kind before the filter acts"),
        minimum=5,
        maximum=1000,
    )
    filter_spam_action = filter_action(_("judged spam"))
    filter_sales_action = filter_action(_("judged a sales pitch"))
    filter_tag_address = inherited(
        models.EmailField,
        _("send marked messages to"),
        _("Empty: marked messages go to the usual address with the mark in the subject."),
    )
    sales_notice = inherited(
        models.BooleanField,
        _("show “no sales pitches” (営業お断り)"),
        _("A notice at the top of the form; form-sales tools that look for it skip the form."),
    )
    sales_notice_text = inherited(
        models.TextField,
        _("“no sales pitches” notice"),
        _("Empty: 「営業・勧誘目的のご連絡はご遠慮ください。」 (in English on English pages)."),
    )

    class Meta:
        abstract = True
