"""Two-step forms (入力 → 確認 → 送信): one captcha solve and one count per message.

A Japanese inquiry form usually posts twice: the input step posts to a
confirmation page, which posts the same fields again (hidden) to send. The
first POST passes formguard (counted, captcha solved); its confirmation page
carries a signed "verified" token (``{% formguard_verified form %}``), bound
to the form's key and a digest of the fields, good once and for
``VERIFIED_MAX_AGE`` seconds. The second POST, with the token and the very same
fields, is neither counted again nor asked to solve again; the allowlist, the
close switch, the blacklist, the country filter and the content rules (which
the owner may have changed in between) still apply to it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from typing import Any

from django.core import signing
from django.http import HttpRequest

from .conf import conf
from .store import StoreUnavailable, get_store
from .submitted import submitted

FIELD = "formguard-verified"
_SALT = "formguard.confirm.verified"


def _digest(form_key: str, data: Any, names: Iterable[str]) -> str:
    # Browsers send line breaks as CRLF, and a hidden input's value as the
    # page gave it: compare text with LF only.
    values = [[v.replace("\r\n", "\n") for v in data.getlist(name)] for name in names]
    blob = json.dumps([form_key, list(names), values], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def issue(request: HttpRequest, field_names: Iterable[str]) -> str:
    """The token for a confirmation page; '' unless formguard let this POST through."""
    verdict = getattr(request, "formguard", None)
    attempt = getattr(request, "formguard_attempt", None)
    if verdict is None or attempt is None or not verdict.allowed or request.method != "POST":
        return ""
    from .forms import FIELD_NAME

    names = sorted(n for n in field_names if n not in (FIELD_NAME, FIELD))
    body = {"f": attempt.form_key, "n": names, "h": _digest(attempt.form_key, submitted(request), names)}
    body["j"] = secrets.token_hex(8)  # two confirmations of one text are two messages
    return signing.dumps(body, salt=_SALT, compress=True)


def redeem(request: HttpRequest, form_key: str) -> bool:
    """Whether this POST carries a valid token for ``form_key`` and the same fields; uses it up."""
    # A body Django cannot read (too big, broken multipart) raises here, and
    # Django answers 400 as it would in the view; swallowing it would leave
    # request.POST empty for every later reader.
    fields = submitted(request)
    token = fields.get(FIELD, "")
    if not token or len(token) > 2048:
        return False
    try:
        body = signing.loads(token, salt=_SALT, max_age=conf.VERIFIED_MAX_AGE)
        names = [str(n) for n in body["n"]]
        if body["f"] != form_key or body["h"] != _digest(form_key, fields, names):
            return False
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return False
    try:
        return get_store().claim("verified:" + hashlib.sha256(token.encode()).hexdigest(), conf.VERIFIED_MAX_AGE + 60)
    except StoreUnavailable:
        return True
