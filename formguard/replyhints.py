"""Reply hints: will the shop's answer reach the address the visitor typed?

Two well-known ways a reply from a Japanese shop gets lost:

* carrier mail (docomo, au, SoftBank…) filters mail from senders the customer
  has not allowed (指定受信設定); au does not even bounce, so nobody learns;
* mainland-China mailboxes (qq.com, 163.com…) drop most mail from Japan.

The domain lists are data files (``data/*.json``, with their sources and
date). ``hint_for(address)`` says which case an address is; the template tag
``{% formguard_reply_hint %}`` shows the hint (as the visitor types, from a
static script, and without JavaScript on the form's errors and the thanks
page); ``note_inquiry()`` — called by ``GuardedFormMixin`` when a form is
valid — keeps the hint's kind (never the address) in the session for the
thanks page, counts it for the dashboard and sends the ``reply_hint`` signal.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language

from . import signals
from .conf import conf
from .store import StoreUnavailable, get_store

logger = logging.getLogger("formguard.replyhints")

CARRIER = "carrier"
CHINA = "china"
NONE = "none"
KINDS = (CARRIER, CHINA, NONE)

# The session key the thanks page reads: the kind and the carrier, never the address.
SESSION_KEY = "formguard_reply_hint"


@lru_cache(maxsize=1)
def _carrier_data() -> dict[str, Any]:
    return json.loads(resources.files("formguard").joinpath("data/carrier_domains.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _china_data() -> dict[str, Any]:
    return json.loads(resources.files("formguard").joinpath("data/china_mail_domains.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def domain_kinds() -> dict[str, str]:
    """Every listed domain: the carrier's key, or ``"china"``."""
    kinds = {d: CHINA for domains in _china_data()["providers"].values() for d in domains}
    for key, carrier in _carrier_data()["carriers"].items():
        kinds.update(dict.fromkeys(carrier["domains"], key))
    return kinds


def carriers() -> dict[str, dict[str, Any]]:
    return _carrier_data()["carriers"]


def domain_of(address: str) -> str:
    """The domain of an address as typed: after the last @, lower case, no trailing dot."""
    _, at, domain = (address or "").strip().rpartition("@")
    return domain.strip().rstrip(".").lower() if at else ""


@dataclass(frozen=True)
class ReplyHint:
    """What a reply to one address risks: ``kind`` is "carrier", "china" or "none"."""

    kind: str = NONE
    # The carrier's key in carrier_domains.json ("docomo", "au"…), for carrier hints.
    carrier: str = ""

    def __bool__(self) -> bool:
        return self.kind != NONE

    @property
    def carrier_name(self) -> str:
        names = carriers().get(self.carrier, {}).get("name", {})
        return names.get("ja" if (get_language() or "").startswith("ja") else "en", "")

    @property
    def instructions_url(self) -> str:
        return carriers().get(self.carrier, {}).get("instructions_url", "")


def hint_for(address: str) -> ReplyHint:
    """The hint for a typed address; a subdomain of a listed domain counts as that domain."""
    domain = domain_of(address)
    kinds = domain_kinds()
    labels = domain.split(".")
    for i in range(len(labels) - 1):
        found = kinds.get(".".join(labels[i:]))
        if found == CHINA:
            return ReplyHint(CHINA)
        if found:
            return ReplyHint(CARRIER, found)
    return ReplyHint()


def sending_domain() -> str:
    """The domain the shop's replies come from: ``REPLY_FROM_DOMAIN``, else ``DEFAULT_FROM_EMAIL``'s."""
    if conf.REPLY_FROM_DOMAIN:
        return conf.REPLY_FROM_DOMAIN
    from email.utils import parseaddr

    return domain_of(parseaddr(settings.DEFAULT_FROM_EMAIL or "")[1])


def client_data() -> dict[str, Any]:
    """What the static script needs to tell the hint as the visitor types (a data attribute)."""
    return {
        "domains": domain_kinds(),
        "carriers": {
            key: {"name": ReplyHint(CARRIER, key).carrier_name, "url": carrier["instructions_url"]}
            for key, carrier in carriers().items()
        },
    }


def week_key(kind: str, now: datetime | None = None) -> str:
    year, week, _ = timezone.localdate(now or timezone.now()).isocalendar()
    return f"replyhints:{kind}:{year}-W{week:02d}"


def week_counts(now: datetime | None = None) -> dict[str, int | None]:
    """Inquiries of this ISO week (local time) with carrier and China addresses; None when the store is down."""
    keys = {kind: week_key(kind, now) for kind in (CARRIER, CHINA)}
    try:
        found = get_store().read(list(keys.values()))
    except StoreUnavailable:
        return dict.fromkeys(keys)
    return {kind: found.get(key, 0) for kind, key in keys.items()}


CONTEXT_PROCESSOR = "formguard.context_processors.reply_hint"


def shown_after_the_form() -> bool:
    """Whether the site's pages after the form can show the hint (its context processor is installed)."""
    from django.template import engines
    from django.template.backends.django import DjangoTemplates

    return any(
        CONTEXT_PROCESSOR in engine.engine.context_processors
        for engine in engines.all()
        if isinstance(engine, DjangoTemplates)
    )


def remember(request: HttpRequest, hint: ReplyHint) -> None:
    """Keep the hint's kind for the next page (the thanks page) in the session, when there is one."""
    session = getattr(request, "session", None)
    if session is None:
        return
    if hint:
        session[SESSION_KEY] = {"kind": hint.kind, "carrier": hint.carrier}
    else:
        # Most inquiries have no hint: no session row written for them (pop
        # marks the session modified only when the key was there).
        session.pop(SESSION_KEY, None)


def remembered(request: HttpRequest) -> ReplyHint:
    """The hint that ``note_inquiry`` kept for this visitor, or a "none" hint."""
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(value, dict) or value.get("kind") not in KINDS:
        return ReplyHint()
    carrier = value.get("carrier") or ""
    if value["kind"] == CARRIER and carrier not in carriers():
        return ReplyHint()
    return ReplyHint(value["kind"], carrier if value["kind"] == CARRIER else "")


def note_inquiry(request: HttpRequest, address: str, *, form_key: str = "") -> ReplyHint:
    """A valid inquiry from ``address``: remember its hint, count it, send ``reply_hint``.

    ``GuardedFormMixin`` calls it from ``form_valid``; a function view calls
    it itself before redirecting to its thanks page. The address is neither
    kept nor counted, only the hint's kind.
    """
    hint = hint_for(address)
    remember(request, hint)
    if hint:
        # Counted in formguard's store, like every other count: several
        # processes (and machines, with Redis) add to one number.
        with contextlib.suppress(StoreUnavailable):
            get_store().bump([week_key(hint.kind)])
    signals.reply_hint.send(
        sender=ReplyHint, request=request, form_key=form_key, kind=hint.kind, carrier=hint.carrier, hint=hint
    )
    return hint
