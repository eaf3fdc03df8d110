"""Database rows: policies, block rules and incidents.

Policies and rules are the source of truth and are edited in the admin;
requests read them through caches (``policies.py``, ``rules.py``) that are
invalidated when a row is saved or deleted.
"""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .durations import format_duration
from .ip import network_text, parse_network

SITE_WIDE = "*"


class Reason(models.TextChoices):
    """Why a request was refused (or, in monitor-only mode, would have been)."""

    CLOSED = "closed", _("form closed")
    BLACKLISTED = "blacklisted", _("blacklisted")
    AUTO_BANNED = "auto_banned", _("auto-banned")
    COUNTRY = "country", _("country")
    RATE_LIMITED = "rate_limited", _("rate limited")
    BURST = "burst", _("burst (banned)")
    HONEYPOT = "honeypot", _("honeypot field filled")
    TOO_FAST = "too_fast", _("submitted too fast")
    FORM_EXPIRED = "form_expired", _("form open too long")
    BAD_TOKEN = "bad_token", _("time token missing or tampered")
    NOT_JAPANESE = "not_japanese", _("no Japanese in the message")
    LINKS = "links", _("too many links")
    NG_WORDS = "ng_words", _("NG word")
    EMAIL_IN_MESSAGE = "email_in_message", _("sender address in the message")
    DISPOSABLE_EMAIL = "disposable_email", _("disposable email address")
    RECIPIENT_LIMIT = "recipient_limit", _("too many messages for one address")
    FLOOD = "flood", _("flood breaker")
    CAPTCHA = "captcha", _("captcha failed")
    CAPTCHA_UNAVAILABLE = "captcha_down", _("captcha service unavailable")
    SHARED_IP = "shared_ip", _("rate limit: captcha asked instead (shared address)")
    CACHE_UNAVAILABLE = "cache_down", _("cache unavailable")


# Refusals that say nothing about the sender being a spammer: a closed form
# refuses everyone, a country rule and an unreachable captcha or cache refuse
# people too. Every other reason is the sender's doing (spam reports).
NOT_SPAM_REASONS = frozenset({Reason.CLOSED, Reason.COUNTRY, Reason.CAPTCHA_UNAVAILABLE, Reason.CACHE_UNAVAILABLE})


def validate_rate(value: str) -> None:
    from .ratelimits import parse_rate

    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def validate_optional_rate(value: str) -> None:
    if (value or "").strip().lower() != "off":
        validate_rate(value)


class TrapAction(models.TextChoices):
    """What a trap or rule does to a submission it catches."""

    OFF = "off", _("off")
    REFUSE = "refuse", _("refuse: show the form again with an error")
    CHALLENGE = "challenge", _("require the captcha")
    # Only for signals no person sends (honeypot, the owner's NG words): the
    # bot is told "sent" and learns nothing, and nobody sees an error.
    FAKE_SUCCESS = "fake_success", _("fake success: pretend it was sent")


# Rules a real customer can trip by accident never pretend success.
RULE_ACTIONS = [c for c in TrapAction.choices if c[0] != TrapAction.FAKE_SUCCESS]


class CountryMode(models.TextChoices):
    OFF = "off", _("off")
    HIDE = "hide", _("hide the form")
    BLOCK = "block", _("block (403)")
    CHALLENGE = "challenge", _("require the captcha")


class OutsideCountry(models.TextChoices):
    ALLOW = "allow", _("allow")
    FOREIGN = "foreign", _("treat as another country")


def parse_countries(value: str) -> list[str]:
    return [c.strip().upper() for c in (value or "").replace(" ", ",").split(",") if c.strip()]


# Codes people type for a country that are not its ISO code (JA is the
# language code of Japanese; UK is Britain's domain, its ISO code is GB).
COUNTRY_MISTAKES = {"JA": "JP", "UK": "GB", "EN": "GB", "CH": "CN", "KO": "KR", "ZH": "CN"}


def validate_countries(value: str) -> None:
    from django_countries import countries

    for code in parse_countries(value):
        if code in countries:
            continue
        if code in COUNTRY_MISTAKES:
            raise ValidationError(
                _("“%(code)s” is not a country code. Did you mean %(suggestion)s (%(name)s)?")
                % {
                    "code": code,
                    "suggestion": COUNTRY_MISTAKES[code],
                    "name": countries.name(COUNTRY_MISTAKES[code]),
                }
            )
        raise ValidationError(_("“%(code)s” is not an ISO country code (e.g. JP, TW, KR).") % {"code": code})


def validate_country(value: str) -> None:
    validate_countries(value)
    if len(parse_countries(value)) > 1:
        raise ValidationError(_("One country code only."))


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


# Automatic bans write their reason in this one machine form (stable, and
# readable in logs and exports); the admin and reports show it translated.
BURST_REASON = "burst: {posts} POSTs within {window}s"
BURST_REASON_RE = re.compile(r"^burst: (\d+) POSTs within (\d+)s$")
# The flood breaker's closures, likewise.
FLOOD_REASON = "flood breaker: {posts} POSTs over {limit}"
FLOOD_REASON_RE = re.compile(r"^flood breaker: (\d+) POSTs over (\S+)$")


def describe_reason(text: str) -> str:
    """A rule's reason for a person to read: machine-written ones translated."""
    match = BURST_REASON_RE.match(text or "")
    if match:
        return _("%(posts)s sends within %(window)s") % {
            "posts": match.group(1),
            "window": format_duration(int(match.group(2))),
        }
    match = FLOOD_REASON_RE.match(text or "")
    if match:
        return _("flood: %(posts)s sends, over the limit of %(limit)s") % {
            "posts": match.group(1),
            "limit": match.group(2),
        }
    return text


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


# What an uploaded QR code may be: formguard does not depend on Pillow, so
# the file is checked by its extension and its first bytes (the formats'
# signatures), not decoded. SVG is left out: it can carry script.
QR_IMAGE_SIGNATURES = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}
QR_IMAGE_MAX_BYTES = 1024 * 1024


def validate_qr_image(upload) -> None:
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if extension not in QR_IMAGE_SIGNATURES:
        raise ValidationError(
            _("Upload a PNG, JPEG, GIF or WebP image (not “%(name)s”).") % {"name": upload.name}, code="extension"
        )
    if upload.size > QR_IMAGE_MAX_BYTES:
        raise ValidationError(_("The image is larger than 1 MB."), code="size")
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    signatures = QR_IMAGE_SIGNATURES[extension]
    if not head.startswith(signatures) or (extension == "webp" and head[8:12] != b"WEBP"):
        raise ValidationError(_("The file is not a %(format)s image.") % {"format": extension.upper()}, code="content")


# Numbers as Tencent gives them: 5 to 11 digits, no leading zero.
QQ_NUMBER_RE = re.compile(r"^[1-9][0-9]{4,10}$")
# A LINE official account's ID: its basic ID (@ and 8 characters) or a premium ID.
LINE_ID_RE = re.compile(r"^@?[a-z0-9._-]{3,20}$")
# A WeChat official account's ID (微信号): a letter, then letters, digits, - or _; or its gh_ original ID.
WECHAT_ID_RE = re.compile(r"^(?:[A-Za-z][-_A-Za-z0-9]{5,19}|gh_[0-9a-f]{12})$")
# Telephone numbers as people write them: digits, spaces, hyphens, brackets, a leading +.
PHONE_RE = re.compile(r"^\+?[0-9 ()\-‐－ー]{6,24}$")


def phone_digits(value: str) -> str:
    """The number to dial: the leading + and the digits (a tel: URI, RFC 3966)."""
    digits = re.sub(r"[^0-9]", "", value)
    return f"+{digits}" if value.strip().startswith("+") else digits


class AlternativeContact(models.Model):
    """Another way to reach the business: a typed channel (WeChat, QQ, LINE, phone…) or free text.

    Shown where the form is hidden from a country, on refusal pages and in
    the China reply hint, through one template
    (``formguard/includes/contacts.html``, fed by ``contacts.py``).
    """

    class Kind(models.TextChoices):
        WECHAT = "wechat", _("WeChat official account")
        QQ = "qq", _("QQ")
        WEB_CHAT = "webchat", _("web chat (Qidian or other)")
        LINE = "line", _("LINE official account")
        PHONE = "phone", _("telephone")
        EMAIL = "email", _("email")
        TEXT = "text", _("free text")

    country = models.CharField(
        _("country"),
        max_length=2,
        blank=True,
        validators=[validate_country],
        help_text=_("ISO code, e.g. CN. Empty: shown to visitors of every country without a row of their own."),
    )
    kind = models.CharField(_("channel"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    value = models.CharField(
        _("account, number or address"),
        max_length=200,
        blank=True,
        help_text=_(
            "WeChat: the official account's ID (微信号). QQ: the QQ number. Web chat: its https:// URL. "
            "LINE: the official account's ID (@…). Telephone: the number. Email: the address. "
            "Free text: leave empty."
        ),
    )
    hours = models.CharField(
        _("hours"),
        max_length=100,
        blank=True,
        help_text=_("For a telephone: when it is answered, e.g. “10:00–18:00 JST”."),
    )
    qr_image = models.FileField(
        _("QR code image"),
        upload_to="formguard/contacts/",
        blank=True,
        validators=[validate_qr_image],
        help_text=_("For WeChat: the official account's QR code (PNG, JPEG, GIF or WebP, at most 1 MB)."),
    )
    text_ja = models.TextField(_("text (Japanese)"), blank=True, help_text=_("Free text, or a note under a channel."))
    text_en = models.TextField(_("text (English)"), blank=True)
    text_zh = models.TextField(_("text (Chinese)"), blank=True)
    image_url = models.URLField(
        _("image URL"), blank=True, help_text=_("An image on another server, when none is uploaded.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("alternative contact")
        verbose_name_plural = _("alternative contacts")
        ordering = ["country", "order", "pk"]

    def __str__(self) -> str:
        if self.kind != self.Kind.TEXT:
            return f"{self.country or '*'}: {self.get_kind_display()} {self.value}".rstrip()
        text = (self.text_ja or self.text_en or self.text_zh).strip().splitlines()
        return f"{self.country or '*'}: {text[0][:60] if text else self.image_url}"

    def save(self, *args, **kwargs) -> None:
        self.country = self.country.strip().upper()
        self.value = self.value.strip()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.validators import URLValidator, validate_email

        value = self.value = self.value.strip()
        kind = self.Kind
        if self.kind == kind.TEXT:
            if not (self.text_ja or self.text_en or self.text_zh or self.image_url or self.qr_image):
                raise ValidationError(_("Free text needs a text or an image."))
            return
        if self.kind == kind.WECHAT:
            if not value and not (self.qr_image or self.image_url):
                raise ValidationError(_("A WeChat official account needs its ID or its QR code."))
            if value and not WECHAT_ID_RE.match(value):
                raise ValidationError({"value": _("Not a WeChat ID (6–20 letters, digits, - or _, from a letter).")})
            return
        if not value:
            raise ValidationError({"value": _("This channel needs its account, number or address.")})
        if self.kind == kind.QQ and not QQ_NUMBER_RE.match(value):
            raise ValidationError({"value": _("Not a QQ number (5 to 11 digits).")})
        if self.kind == kind.WEB_CHAT:
            try:
                URLValidator(schemes=["https"])(value)
            except ValidationError as exc:
                raise ValidationError({"value": _("Not an https:// URL.")}) from exc
        if self.kind == kind.LINE:
            if not LINE_ID_RE.match(value.lower()):
                raise ValidationError({"value": _("Not a LINE ID (e.g. @example).")})
            self.value = "@" + value.lower().lstrip("@")
        if self.kind == kind.PHONE and not (PHONE_RE.match(value) and 6 <= len(phone_digits(value).lstrip("+")) <= 15):
            raise ValidationError({"value": _("Not a telephone number.")})
        if self.kind == kind.EMAIL:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValidationError({"value": _("Not an email address.")}) from exc


class ActionLog(models.Model):
    """What was done about spam, and when: closures, reopenings, bans, lifts.

    The "measures taken" of a report. Written by formguard's signal receivers
    whichever way the action was taken (admin, command, automatic).
    """

    class Action(models.TextChoices):
        CLOSED = "closed", _("form closed")
        REOPENED = "reopened", _("form reopened")
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
        from .actors import describe

        return describe(self.actor, automatic=self.automatic)
