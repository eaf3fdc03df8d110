"""What the visitor typed, as formguard keeps and echoes it: the submitted fields minus secrets and tokens.

The incident's sample, a held submission, the refusal page's copy and the
problem's ``fields`` all take it from here, from a form or a JSON body alike
(``formguard.submitted``).
"""

from __future__ import annotations

from django.http import HttpRequest

from .submitted import is_json, submitted
from .traps import TIME_FIELD

# Fields never copied into an incident sample or echoed back.
SECRET_FIELD_MARKERS = ("password", "passwd", "secret", "token", "csrf", "captcha", "altcha", "verified", "card", "cvc")
MAX_SAMPLE_FIELDS = 20


def _is_secret_field(name: str) -> bool:
    if name == TIME_FIELD:
        return True
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_FIELD_MARKERS)


# A flood replays one body (or a few) thousands of times: what a small form or
# JSON body carries is read once per body, then kept (at most 256 bodies of
# 8 KB, 2 MB a process). The incident's sample, the refusal page's copy and the
# problem's fields all read it.
MAX_KEPT = 256
MAX_KEPT_BODY = 8 * 1024
_kept: dict[tuple[str, bytes, int, int], list[tuple[str, str]]] = {}


def forget_bodies() -> None:
    """Read every body again (tests)."""
    _kept.clear()


def body_key(request: HttpRequest) -> tuple[str, bytes] | None:
    """``(content type, body)`` of a small form or JSON POST; None for any other request."""
    if request.method != "POST":
        return None
    content_type = (request.content_type or "").lower()
    if content_type != "application/x-www-form-urlencoded" and not is_json(request):
        return None
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_KEPT_BODY:
            return None
        # The whole header: its charset says how the same bytes read.
        return request.META.get("CONTENT_TYPE", ""), request.body
    except Exception:  # a length that is no number, a body Django cannot read: read as before
        return None


def submitted_fields(
    request: HttpRequest, max_chars: int = 5000, max_fields: int = MAX_SAMPLE_FIELDS
) -> list[tuple[str, str]]:
    """What the visitor typed, minus secrets and tokens, each value truncated.

    Reading ``request.POST`` of a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    raises; that body is simply not sampled.
    """
    if request.method != "POST":
        return []
    body = body_key(request)
    if body is None:
        return _read(request, max_chars, max_fields)
    key = (*body, max_chars, max_fields)
    fields = _kept.get(key)
    if fields is None:
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        fields = _kept[key] = _read(request, max_chars, max_fields)
    return list(fields)


def _read(request: HttpRequest, max_chars: int, max_fields: int) -> list[tuple[str, str]]:
    try:
        items = list(submitted(request).items())
    except Exception:  # RequestDataTooBig, TooManyFieldsSent, a broken multipart body, bad JSON
        return []
    fields = []
    for name, value in items[:max_fields]:
        if _is_secret_field(name) or not value:
            continue
        fields.append((name[:100], value[:max_chars]))
    return fields
