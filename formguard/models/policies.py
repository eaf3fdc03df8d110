"""``FormPolicy``: one form's protection as the owner set it in the admin (``*``: site-wide)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    RULE_ACTIONS,
    SITE_WIDE,
    CountryMode,
    OutsideCountry,
    TrapAction,
    validate_countries,
    validate_optional_rate,
    validate_rate,
)


class FormPolicy(models.Model):
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
    enabled = models.BooleanField(
        _("protection enabled"),
        null=True,
        blank=True,
        help_text=_("Off: the form is not checked at all (the close switch still works)."),
    )
    monitor_only = models.BooleanField(
        _("monitor only"),
        null=True,
        blank=True,
        help_text=_("Every check runs and records what it would have done, but nothing is refused."),
    )
    closed = models.BooleanField(
        _("closed"),
        default=False,
        help_text=_("Emergency close: the form answers 503 and the site's view is not called."),
    )
    closed_until = models.DateTimeField(
        _("closed until"),
        null=True,
        blank=True,
        help_text=_("The form reopens by itself at this time. Empty: closed until reopened by hand."),
    )
    closed_message_ja = models.TextField(_("closed message (Japanese)"), blank=True)
    closed_message_en = models.TextField(_("closed message (English)"), blank=True)

    rate_limit = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=_("POSTs allowed per IP per form, e.g. “5/10m”, “20/h”, “100/d”."),
    )
    burst_count = models.PositiveIntegerField(
        _("burst: POSTs"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("An IP that sends more POSTs than this within the burst window is banned."),
    )
    burst_window = models.PositiveIntegerField(
        _("burst: window (seconds)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    ban_duration = models.PositiveIntegerField(
        _("first ban (seconds)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    ban_growth = models.FloatField(
        _("ban growth factor"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1.0)],
        help_text=_("Each repeat ban of the same IP lasts this many times longer than the last."),
    )
    ban_max = models.PositiveIntegerField(
        _("longest ban (seconds)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    ban_lookback = models.PositiveIntegerField(
        _("ban memory (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "An earlier automatic ban makes the next one longer only if it ended within this many seconds "
            "(2592000 = 30 days). After that a reassigned address starts again with the first ban."
        ),
    )
    ipv6_network_prefix = models.PositiveSmallIntegerField(
        _("IPv6 network prefix"),
        null=True,
        blank=True,
        validators=[MinValueValidator(16), MaxValueValidator(64)],
        help_text=_(
            "IPv6 clients are also counted together by this wider network (48: one customer's whole "
            "allocation), so that one holder cannot spread a flood over thousands of /64s."
        ),
    )
    ipv6_network_rate_limit = models.CharField(
        _("rate limit per IPv6 network"),
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text=_("POSTs allowed per IPv6 network per form, e.g. “20/10m”."),
    )
    ipv6_network_burst_count = models.PositiveIntegerField(
        _("burst per IPv6 network: POSTs"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("An IPv6 network that sends more POSTs than this within the burst window is banned as one."),
    )

    captcha_required = models.BooleanField(
        _("captcha required"),
        null=True,
        blank=True,
        help_text=_("Every POST must pass the captcha (when a captcha provider is configured in settings)."),
    )
    captcha_min_score = models.FloatField(
        _("captcha: lowest score (reCAPTCHA v3)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("reCAPTCHA v3 scores run from 0.0 (a bot) to 1.0 (a person); 0.5 is Google's suggestion."),
    )
    captcha_difficulty = models.PositiveIntegerField(
        _("proof-of-work difficulty (ALTCHA)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(10), MaxValueValidator(1_000_000)],
        help_text=_(
            "The self-hosted captcha's largest number to find: the work grows with it. "
            "2000 takes about a second on a mid-range phone."
        ),
    )
    shared_ip_challenge = models.BooleanField(
        _("shared addresses: captcha instead of 429"),
        null=True,
        blank=True,
        help_text=_(
            "Schools, offices and mobile carriers put many people behind one address. When its rate limit "
            "is reached, further POSTs from it must pass the captcha instead of being refused, up to the "
            "ceiling below; then 429 and bans apply as usual."
        ),
    )
    shared_ip_ceiling = models.PositiveIntegerField(
        _("shared addresses: ceiling (POSTs per rate-limit window)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("The most POSTs one address may send in one rate-limit window, captcha or not."),
    )

    country_mode = models.CharField(
        _("country filter"),
        max_length=10,
        choices=CountryMode.choices,
        blank=True,
        help_text=_(
            "Visitors from countries not allowed below: hide (the page shows other ways to reach you, "
            "no form), block (403), or challenge (they must pass the captcha)."
        ),
    )
    allowed_countries = models.CharField(
        _("allowed countries"),
        max_length=300,
        blank=True,
        validators=[validate_countries],
        help_text=_("ISO codes separated by commas, e.g. “JP” or “JP, TW, KR”."),
    )
    unknown_country = models.CharField(
        _("countries the database does not know (ZZ)"),
        max_length=10,
        choices=OutsideCountry.choices,
        blank=True,
    )
    private_country = models.CharField(
        _("private and local addresses (XX)"),
        max_length=10,
        choices=OutsideCountry.choices,
        blank=True,
        help_text=_("Load balancers and localhost have such addresses: “allow” keeps them from being locked out."),
    )

    honeypot_action = models.CharField(
        _("honeypot"),
        max_length=12,
        choices=TrapAction.choices,
        blank=True,
        help_text=_("A hidden field that people never see and bots fill in."),
    )
    time_trap_action = models.CharField(
        _("time trap"),
        max_length=12,
        choices=RULE_ACTIONS,
        blank=True,
        help_text=_("Sent faster than the shortest time below, or with the form's time token missing or changed."),
    )
    time_trap_min = models.PositiveIntegerField(
        _("time trap: shortest time (seconds)"),
        null=True,
        blank=True,
        help_text=_("No person reads and fills in a form faster than this."),
    )
    time_trap_max = models.PositiveIntegerField(
        _("time trap: longest time (seconds)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(60)],
        help_text=_("A form open longer than this comes back asking to send it again, with the input kept."),
    )
    message_field = models.CharField(
        _("message field"), max_length=100, blank=True, help_text=_("The form's field with the free text.")
    )
    email_field = models.CharField(
        _("email field"), max_length=100, blank=True, help_text=_("The form's field with the sender's address.")
    )
    japanese_action = models.CharField(
        _("Japanese required"),
        max_length=12,
        choices=RULE_ACTIONS,
        blank=True,
        help_text=_(
            "A message of 20 characters or more must be written in Japanese: at least 6 percent of its letters "
            "hiragana or katakana (a Japanese closing on an English or Chinese text is not enough). "
            "Shorter texts such as 資料請求 or 見積依頼 always pass."
        ),
    )
    links_action = models.CharField(
        _("links"),
        max_length=12,
        choices=RULE_ACTIONS,
        blank=True,
        help_text=_("More links than allowed below, or [url=…] / <a href=…> anywhere in the message."),
    )
    max_links = models.PositiveIntegerField(_("links allowed in the message"), null=True, blank=True)
    ng_words_action = models.CharField(_("NG words"), max_length=12, choices=TrapAction.choices, blank=True)
    ng_words = models.TextField(
        _("NG words list"),
        blank=True,
        help_text=_(
            "One word or phrase per line. Full-width and half-width, upper and lower case are treated alike; "
            "spaces and invisible characters inside a word do not hide it. "
            "On a form's row, empty: the site-wide list."
        ),
    )
    sender_action = models.CharField(
        _("sender address"),
        max_length=12,
        choices=RULE_ACTIONS,
        blank=True,
        help_text=_("The sender's own address pasted into the message, or a disposable (throwaway) address."),
    )
    recipient_limit = models.CharField(
        _("messages per address"),
        max_length=20,
        blank=True,
        validators=[validate_optional_rate],
        help_text=_(
            "Submissions with the same typed email address, from any IP, e.g. “3/d”; “off” for none. "
            "Stops a form's automatic reply from being used to mail strangers. Addresses are counted hashed."
        ),
    )
    flood_limit = models.CharField(
        _("flood limit"),
        max_length=20,
        blank=True,
        validators=[validate_optional_rate],
        help_text=_(
            "Submissions to this form from all IPs together, e.g. “200/10m”, counting only those that could "
            "be a person's (sent from the form as shown, by an address not refused already). Over it, every "
            "POST must pass the captcha for the time below and the admins get one mail. “off”: never."
        ),
    )
    flood_escalation = models.PositiveIntegerField(
        _("under a flood: captcha for everyone during"),
        null=True,
        blank=True,
        validators=[MinValueValidator(10)],
        help_text=_("Then the form goes back to its usual checks by itself."),
    )
    flood_captcha_factor = models.PositiveSmallIntegerField(
        _("under a flood: proof-of-work difficulty ×"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("The self-hosted captcha (ALTCHA) asks this many times the usual work while a flood lasts."),
    )
    flood_close = models.BooleanField(
        _("last resort: close the form by itself"),
        null=True,
        blank=True,
        help_text=_(
            "Off unless you choose it. When, under a flood, more submissions than the limit still pass the "
            "captcha, the form closes for the minutes below. Otherwise closing is left to a person."
        ),
    )
    flood_close_minutes = models.PositiveIntegerField(
        _("last resort: close for (minutes)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("form policy")
        verbose_name_plural = _("form policies")
        ordering = ["form_key"]

    def __str__(self) -> str:
        if self.is_site_wide:
            return str(_("Site-wide default"))
        return self.form_key

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
