"""``AlternativeContact``: another way to reach the business, shown on the refusal pages."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import geo
from .choices import validate_country

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
        help_text=_(
            "The country whose visitors see it. Empty: visitors of every country without a contact of their own."
        ),
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
        # Where it is shown in words: "中国 (CN)", or "every other country" rather than a bare “*”.
        where = geo.country_label(self.country) if self.country else str(_("every other country"))
        if self.kind != self.Kind.TEXT:
            return f"{where}: {self.get_kind_display()} {self.value}".rstrip()
        text = (self.text_ja or self.text_en or self.text_zh).strip().splitlines()
        return f"{where}: {text[0][:60] if text else self.image_url}"

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
