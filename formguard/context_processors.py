"""``formguard_reply_hint`` in every template: the hint kept for this visitor.

Add ``"formguard.context_processors.reply_hint"`` to the template engine's
``context_processors`` and the thanks page (any page after the form) can ask
``{% if formguard_reply_hint.kind == "carrier" %}`` itself. Read lazily: a
page that does not use it does not touch the session.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import replyhints


def reply_hint(request: HttpRequest) -> dict[str, Any]:
    return {"formguard_reply_hint": SimpleLazyObject(lambda: replyhints.remembered(request))}
