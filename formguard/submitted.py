"""What a visitor submitted: the fields of a form body or of a JSON object body, read in one place.

A contact form posted by the page's own script (``fetch()`` with
``Content-Type: application/json``) carries the same fields as one posted by
the browser; every step that reads a field (the traps, the content rules, the
captcha's solution, the email address, the two-step token, the filter, the
held copy) reads them here, so a JSON body is judged exactly as the same text
form-encoded is.

A JSON body is one object of fields: ``{"name": "…", "message": "…"}``. A
value is text; a number, ``true``/``false`` or ``null`` is read as the text
a form would carry (``"3"``, ``"true"``, ``""``), a list of those as a field
sent several times (checkboxes). Anything else (a body that is not JSON or not
an object, an object or list inside a field, more fields than
``DATA_UPLOAD_MAX_NUMBER_FIELDS``, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``)
raises ``BadBody``, which the middleware answers with a 400 problem (never a
500). The fields are read once per request and kept on it.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, QueryDict

_CACHE_ATTRIBUTE = "_formguard_submitted"


class BadBody(BadRequest):
    """A JSON body formguard (and so the view) cannot read as fields: ``problem`` says why."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def is_json(request: HttpRequest) -> bool:
    """Whether the body is JSON (``application/json`` or a ``+json`` type, any charset)."""
    content_type = (request.content_type or "").lower()
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    raise BadBody("nested")


def _parse(request: HttpRequest) -> QueryDict:
    try:
        body = request.body
    except RequestDataTooBig:
        raise BadBody("too-large") from None
    charset = request.content_params.get("charset") or "utf-8"
    try:
        data = json.loads(body.decode(charset))
    except (LookupError, UnicodeDecodeError, ValueError, RecursionError):
        raise BadBody("malformed") from None
    if not isinstance(data, dict):
        raise BadBody("not-an-object")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if limit is not None and len(data) > limit:
        raise BadBody("too-many-fields")
    fields = QueryDict(mutable=True)
    for name, value in data.items():
        fields.setlist(name, [_text(v) for v in value] if isinstance(value, list) else [_text(value)])
    fields._mutable = False
    return fields


def submitted(request: HttpRequest) -> QueryDict:
    """The submitted fields: ``request.POST``, or the JSON object body as a ``QueryDict``.

    Raises ``BadBody`` for a JSON body that is not one object of fields; a
    form body Django cannot read raises as ``request.POST`` does (400).
    """
    fields = getattr(request, _CACHE_ATTRIBUTE, None)
    if fields is None:
        if request.method in ("GET", "HEAD") or not is_json(request):
            return request.POST
        fields = _parse(request)
        setattr(request, _CACHE_ATTRIBUTE, fields)
    return fields
