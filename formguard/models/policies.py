"""``FormPolicy``: one form's protection as the owner set it in the admin (``*``: site-wide)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import SITE_WIDE, CountryMode, TrapAction, validate_countries
from .inherited import action, form_field, inherited, outside_country, rate
from .review_fields import ReviewFields

STANDING_JA = _("Shown to Japanese visitors whenever this form is closed. Empty: a standard apology.")
STANDING_EN = _("Shown to visitors who read English whenever this form is closed. Empty: a standard apology.")
ONE_CLOSURE = _("For this closure only, instead of the closed message below; forgotten when the form reopens.")


def closed_text(verbose_name: Any, help_text: Any) -> models.TextField:
    """A text of the closed page, in one language; empty: the next one down (or the standard apology)."""
    return models.TextField(verbose_name, blank=True, help_text=help_text)


class FormPolicy(ReviewFields, models.Model):
    """How one guarded form is protected; the row keyed ``*`` is the site default.

    On a form's row an empty field means "as the site-wide default". Closing
    the site-wide row closes every form.
    """

    form_key = models.CharField(
        _("form key"),
        max_length=100,
        unique=True,
        help_text=_("The key the view is guarded under. “*” is the site-wide default."),
    )
    enabled = inherited(
        models.BooleanField,
        _("protection enabled"),
        _("Off: the form is not checked at all (the close switch still works)."),
    )
    monitor_only = inherited(
        models.BooleanField,
        _("monitor only"),
        _("Every check runs and records what it would have done, but nothing is refused."),
    )
    closed = models.BooleanField(
        _("closed"),
        default=False,
        help_text=_(
            "Emergency close: visitors see a “closed” page instead of the form, and nothing they send reaches you."
        ),
    )
    closed_until = models.DateTimeField(
        _("closed until"),
        null=True,
        blank=True,
        help_text=_("The form reopens by itself at this time. Empty: closed until reopened by hand."),
    )
    # The standing texts: shown whenever this form is closed, by anyone or by formguard itself.
    closed_message_ja = closed_text(_("closed message (Japanese)"), STANDING_JA)
    closed_message_en = closed_text(_("closed message (English)"), STANDING_EN)
    # One closure's own words (``close --message``): they belong to that closure
    # alone, so reopening or the next closure forgets them (``save`` and ``set_closed``).
    closure_message_ja = closed_text(_("this closure's message (Japanese)"), ONE_CLOSURE)
    closure_message_en = closed_text(_("this closure's message (English)"), ONE_CLOSURE)

    rate_limit = rate(
        _("rate limit"),
        _("How many times one address may send this form, e.g. “5 per 10 minutes”, “20 per hour”."),
    )
    burst_count = inherited(
        models.PositiveIntegerField,
        _("burst: sends"),
        _("An address that sends the form more often than this within the burst window is blocked."),
        minimum=1,
    )
    burst_window = inherited(models.PositiveIntegerField, _("burst: window"), minimum=1)
    ban_duration = inherited(models.PositiveIntegerField, _("first ban"), minimum=1)
    ban_growth = inherited(
        models.FloatField,
        _("ban growth factor"),
        _("Each repeat ban of the same IP lasts this many times longer than the last."),
        minimum=1.0,
    )
    ban_max = inherited(models.PositiveIntegerField, _("longest ban"), minimum=1)
    ban_lookback = inherited(
        models.PositiveIntegerField,
        _("ban memory"),
        _(
            "An earlier automatic ban makes the next one longer only if it ended within this time. "
            "After that a reassigned address starts again with the first ban."
        ),
    )
    ipv6_network_prefix = inherited(
        models.PositiveSmallIntegerField,
        _("IPv6 network prefix"),
        _(
            "IPv6 clients are also counted together by this wider network (48: one customer's whole "
            "allocation), so that one holder cannot spread a flood over thousands of /64s."
        ),
        minimum=16,
        maximum=64,
    )
    ipv6_network_rate_limit = rate(
        _("rate limit per IPv6 network"),
        _("How many times one IPv6 network may send this form, e.g. “20 per 10 minutes”."),
    )
    ipv6_network_burst_count = inherited(
        models.PositiveIntegerField,
        _("burst per IPv6 network: sends"),
        _("An IPv6 network that sends the form more often than this within the burst window is blocked as one."),
        minimum=1,
    )

    captcha_required = inherited(
        models.BooleanField,
        _("captcha required"),
        _("Every message sent must pass the captcha (when a captcha is set up in settings)."),
    )
    captcha_min_score = inherited(
        models.FloatField,
        _("captcha: lowest score (reCAPTCHA v3)"),
        _("reCAPTCHA v3 scores run from 0.0 (a bot) to 1.0 (a person); 0.5 is Google's suggestion."),
        minimum=0.0,
        maximum=1.0,
    )
    captcha_difficulty = inherited(
        models.PositiveIntegerField,
        _("proof-of-work difficulty (ALTCHA)"),
        _(
            "The self-hosted captcha's largest number to find: the work grows with it. "
            "2000 takes about a second on a mid-range phone."
        ),
        minimum=10,
        maximum=1_000_000,
    )
    shared_ip_challenge = inherited(
        models.BooleanField,
        _("shared addresses: ask for the captcha instead of refusing"),
        _(
            "Schools, offices and mobile carriers put many people behind one address. When its rate limit "
            "is reached, further messages from it must pass the captcha instead of being refused, up to the "
            "ceiling below; past it they are refused, and the address blocked, as usual."
        ),
    )
    shared_ip_ceiling = inherited(
        models.PositiveIntegerField,
        _("shared addresses: most messages per rate-limit period"),
        _("The most messages one address may send within one period of the rate limit, captcha or not."),
        minimum=1,
    )

    country_mode = inherited(
        models.CharField,
        _("country filter"),
        _(
            "Visitors from countries not allowed below: hide (the page shows other ways to reach you, "
            "no form), block (a refusal page), or challenge (they must pass the captcha)."
        ),
        max_length=10,
        choices=CountryMode.choices,
    )
    allowed_countries = inherited(
        models.CharField,
        _("allowed countries"),
        _("ISO codes separated by commas, e.g. “JP” or “JP, TW, KR”."),
        max_length=300,
        validators=[validate_countries],
    )
    unknown_country = outside_country(
        _("countries the database does not know (ZZ)"),
    )
    private_country = outside_country(
        _("private and local addresses (XX)"),
        _("Load balancers and localhost have such addresses: “allow” keeps them from being locked out."),
    )

    honeypot_action = action(
        _("honeypot"),
        _("A hidden field that people never see and bots fill in."),
        choices=TrapAction.choices,
    )
    time_trap_action = action(
        _("time trap"),
        _("Sent faster than the shortest time below, or with the form's time token missing or changed."),
    )
    time_trap_min = inherited(
        models.PositiveIntegerField,
        _("time trap: shortest time"),
        _("No person reads and fills in a form faster than this."),
    )
    time_trap_max = inherited(
        models.PositiveIntegerField,
        _("time trap: longest time"),
        _("A form open longer than this comes back asking to send it again, with the input kept."),
        minimum=60,
    )
    message_field = form_field(_("message field"), _("The form's field with the free text."))
    email_field = form_field(_("email field"), _("The form's field with the sender's address."))
    japanese_action = action(
        _("Japanese required"),
        _(
            "A message of 20 characters or more must be written in Japanese: at least 6 percent of its letters "
            "hiragana or katakana (a Japanese closing on an English or Chinese text is not enough). "
            "Shorter texts such as 資料請求 or 見積依頼 always pass."
        ),
    )
    links_action = action(
        _("links"),
        _("More links than allowed below, or link markup ([url=…], an HTML link tag) anywhere in the message."),
    )
    max_links = inherited(models.PositiveIntegerField, _("links allowed in the message"))
    ng_words_action = action(_("NG words"), choices=TrapAction.choices)
    ng_words = inherited(
        models.TextField,
        _("NG words list"),
        _(
            "One word or phrase per line. Full-width and half-width, upper and lower case are treated alike; "
            "spaces and invisible characters inside a word do not hide it. "
            "On a form's row, empty: the site-wide list."
        ),
    )
    sender_action = action(
        _("sender address"),
        _("The sender's own address pasted into the message, or a disposable (throwaway) address."),
    )
    recipient_limit = rate(
        _("messages per address"),
        _(
            "Submissions with the same typed email address, from any IP, e.g. “3 per day”; “none” for no limit. "
            "Stops a form's automatic reply from being used to mail strangers. Addresses are counted hashed."
        ),
        optional=True,
    )
    flood_limit = rate(
        _("flood limit"),
        _(
            "Submissions to this form from all addresses together, e.g. “200 per 10 minutes”, counting only those that could "
            "be a person's (sent from the form as shown, by an address not refused already). Over it, every "
            "message must pass the captcha for the time below and the admins get one mail. “none”: never."
        ),
        optional=True,
    )
    flood_escalation = inherited(
        models.PositiveIntegerField,
        _("under a flood: captcha for everyone during"),
        _("Then the form goes back to its usual checks by itself."),
        minimum=10,
    )
    flood_captcha_factor = inherited(
        models.PositiveSmallIntegerField,
        _("under a flood: proof-of-work difficulty ×"),
        _("The self-hosted captcha (ALTCHA) asks this many times the usual work while a flood lasts."),
        minimum=1,
        maximum=100,
    )
    flood_close = inherited(
        models.BooleanField,
        _("last resort: close the form by itself"),
        _(
            "Off unless you choose it. When, under a flood, more submissions than the limit still pass the "
            "captcha, the form closes for the minutes below. Otherwise closing is left to a person."
        ),
    )
    flood_close_minutes = inherited(models.PositiveIntegerField, _("last resort: close for (minutes)"), minimum=1)

    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("form policy")
        verbose_name_plural = _("form policies")
        ordering = ["form_key"]

    def __str__(self) -> str:
        if self.is_site_wide:
            return str(_("Site-wide default"))
        return self.form_key

    def save(self, *args, **kwargs) -> None:
        if not self.closed:
            # A closure's own message ends with it (however the form was reopened).
            self.closure_message_ja = self.closure_message_en = ""
        super().save(*args, **kwargs)

    @property
    def is_site_wide(self) -> bool:
        return self.form_key == SITE_WIDE

    def is_closed_at(self, now) -> bool:
        return self.closed and (self.closed_until is None or now < self.closed_until)

    def clean(self) -> None:
        if self.is_site_wide:
            missing = [
                f.verbose_name
                for f in self._meta.fields
                if f.name in ("enabled", "monitor_only", "rate_limit", "burst_count", "burst_window")
                and getattr(self, f.name) in (None, "")
            ]
            if missing:
                raise ValidationError(
                    _("The site-wide default needs a value for: %(fields)s")
                    % {"fields": ", ".join(str(m) for m in missing)}
                )
