"""Mail to the site's ADMINS when a burst ban or a closure happens, rate limited.

At most one mail per ``NOTIFY_INTERVAL`` seconds: the first event of an
interval mails at once, later ones are queued in the cache and go out with
the next mail, so a flood of bans is one mail, not one per ban.
"""

from __future__ import annotations

import contextlib
import logging

from django.core.mail import mail_admins

from . import cache
from .conf import conf

logger = logging.getLogger("formguard.notify")


def _keys() -> tuple[str, str]:
    return cache.make_key("notify", "throttle"), cache.make_key("notify", "pending")


def admins(event: str) -> bool:
    """Queue ``event`` for the admins; mail now if the interval allows. True if mailed."""
    if not conf.NOTIFY_ADMINS:
        return False
    throttle, pending = _keys()
    try:
        queued = cache.call("get", pending) or []
        if not cache.call("add", throttle, 1, conf.NOTIFY_INTERVAL):
            cache.call("set", pending, [*queued, event][-200:], conf.NOTIFY_INTERVAL * 4)
            return False
        cache.call("delete", pending)
    except cache.CacheUnavailable:
        # Without the cache there is no throttle: say nothing rather than
        # mail once per event of a flood.
        return False
    events = [*queued, event]
    subject = f"formguard: {event}" if len(events) == 1 else f"formguard: {len(events)} events, the last: {event}"
    body = "\n".join(f"- {e}" for e in events)
    minutes = conf.NOTIFY_INTERVAL // 60
    body += f"\n\nformguard mails at most once every {minutes} minutes; later events come with the next mail."
    with contextlib.suppress(Exception):  # a broken mail server must not break the request
        mail_admins(subject[:200], body, fail_silently=False)
        return True
    logger.error("formguard: could not mail the admins about: %s", event)
    return False
