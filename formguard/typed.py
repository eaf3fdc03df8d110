"""What the visitor typed, as formguard keeps and echoes it: the submitted fields minus secrets and tokens.

The incident's sample, a held submission, the refusal page's copy and the
problem's ``fields`` all take it from here, from a form or a JSON body alike
(``formguard.submitted``).
"""

from __future__ import annotations

from django.http import HttpRequest

from .submitted import submitted
from .traps import TIME_FIELD

# Fields never copied into an incident sample or echoed back.
SECRET_FIELD_MARKERS = ("password", "passwd", "secret", "token", "csrf", "captcha", "altcha", "verified", "card", "cvc")
MAX_SAMPLE_FIELDS = 20


def _is_secret_field(name: str) -> bool:
    if name == TIME_FIELD:
        return True
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_FIELD_MARKERS)


def submitted_fields(
    request: HttpRequest, max_chars: int = 5000, max_fields: int = MAX_SAMPLE_FIELDS
) -> list[tuple[str, str]]:
    """What the visitor typed, minus secrets and tokens, each value truncated.

    Reading ``request.POST`` of a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``
    raises; that body is simply not sampled.
    """
    if request.method != "POST":
        return []
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
