"""Bot traps: a honeypot field and a signed issue time, rendered in the site's form.

Both are added by formguard's form field (``forms.py``), so they exist only on
forms whose view shows formguard's errors (``GuardedFormMixin`` on a form view,
``guard_form(..., form_errors=True)`` with ``FormGuardFormMixin``). The pipeline
(``check_traps``) reads them from the POST; this module says what they mean.

``Finding`` is what a trap or a content rule (``content.py``) reports; the
pipeline turns the strongest finding into a verdict according to its action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from .models import Reason, TrapAction

# The honeypot's name must be one that no autofill fills: Chrome filled a
# `zip_code` honeypot (django-honeypot #37), 1Password and LastPass filled
# `honeypot`/`honey` ones (lemmy #2595, npm/newww #694), and a `company` or
# `website` field is an identity field to every password manager. Nothing in
# "fg_blank" (nor in its label) names a piece of personal data. It is a
# separate input after the real ones, with no script and nothing that moves
# or copies the visitor's fields, so IME composition in Japanese fields is
# untouched (what a JavaScript honeypot broke in cf7-antispam #27).
HONEYPOT_FIELD = "fg_blank"
TIME_FIELD = "fg_issued"
# formguard's own fields: never kept in an incident's sample, never echoed.
OWN_FIELDS = frozenset({HONEYPOT_FIELD, TIME_FIELD})


@dataclass(frozen=True)
class Finding:
    """A trap or rule that caught a submission: why, what to do, what to tell the visitor."""

    reason: str
    action: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=64)
def _signers(form_key: str, secret: str, fallbacks: tuple[str, ...]) -> signing.TimestampSigner:
    # Salted per form: a token of one form is not good on another.
    return signing.TimestampSigner(key=secret, fallback_keys=list(fallbacks), salt=f"formguard.issued:{form_key}")


def _signer(form_key: str) -> signing.TimestampSigner:
    # Built once per form and key (a passing POST is on the clock).
    return _signers(form_key, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


def issue_token(form_key: str) -> str:
    """The signed issue time (wall clock, so every process and machine can read it)."""
    return _signer(form_key).sign("t")


def token_age(form_key: str, token: str, now: float) -> float | None:
    """Seconds since ``token`` was issued for ``form_key``; None when missing or tampered.

    The same token may be sent again (the back button, a second tab, the form
    shown again with an error): it is a time, not a one-time nonce.
    """
    if not token or len(token) > 200:
        return None
    issued = _issued(_signer(form_key), token)
    return None if issued is None else now - issued


@lru_cache(maxsize=256)
def _issued(signer: signing.TimestampSigner, token: str) -> int | None:
    # Kept per signer (form and key) and token: one POST asks up to three
    # times (the flood count, the time trap, the filter's fill time), and a
    # replayed page sends the same token again and again.
    try:
        # Signer.unsign checks the signature only; TimestampSigner.unsign
        # would hide the time it signed, which the shortest-time check needs.
        value = signing.Signer.unsign(signer, token)
        return signing.b62_decode(value.rsplit(signer.sep, 1)[1])
    except (signing.BadSignature, IndexError, ValueError):
        return None


def check_honeypot(action: str, post: Mapping[str, str]) -> Finding | None:
    if action == TrapAction.OFF:
        return None
    value = post.get(HONEYPOT_FIELD, "")
    if not value:
        return None
    return Finding(
        Reason.HONEYPOT,
        action,
        _(
            "The form could not be sent: a hidden field was filled in, perhaps by your browser's autofill. "
            "Please send it again."
        ),
        {"filled": value[:100]},
    )


def check_time(
    action: str, form_key: str, post: Mapping[str, str], now: float, shortest: int, longest: int
) -> Finding | None:
    if action == TrapAction.OFF:
        return None
    age = token_age(form_key, post.get(TIME_FIELD, ""), now)
    if age is None:
        return Finding(
            Reason.BAD_TOKEN,
            action,
            _("The form could not be checked. Please check your input and send it again."),
            {"token": "missing" if not post.get(TIME_FIELD) else "invalid"},
        )
    if age < shortest:
        return Finding(
            Reason.TOO_FAST,
            action,
            _("The form was sent too quickly. Please check your input and send it again."),
            {"seconds": round(age, 1), "shortest": shortest},
        )
    if age > longest:
        # A person who left the tab open: never a silent loss, always the
        # form again with everything typed and a fresh time.
        return Finding(
            Reason.FORM_EXPIRED,
            TrapAction.REFUSE,
            _("This form was open for a long time. Please check your input and send it again."),
            {"seconds": int(age), "longest": longest},
        )
    return None
