"""Mail to the site's ADMINS when a burst ban or a closure happens, rate limited.

At most one mail per ``NOTIFY_INTERVAL`` seconds: the first event of an
interval mails at once, later ones are queued in the store and go out with
the next mail, so a flood of bans is one mail, not one per ban.
"""

from __future__ import annotations

import contextlib
import logging

from django.core.mail import mail_admins

from .conf import conf
from .store import StoreUnavailable, get_store

logger = logging.getLogger("formguard.notify")


THROTTLE, QUEUE = "notify:throttle", "notify:queue"


def admins(event: str, *, urgent: bool = False) -> bool:
    """Queue ``event`` for the admins; mail now if the interval allows. True if mailed.

    ``urgent`` (a form escalated or closed by the flood breaker, which
    happens once per escalation or closure): mail now, with what was queued,
    even when ``NOTIFY_ADMINS`` is off.
    """
    if not conf.NOTIFY_ADMINS and not urgent:
        return False
    store = get_store()
    try:
        queued = store.get(QUEUE) or []
        if not store.claim(THROTTLE, conf.NOTIFY_INTERVAL) and not urgent:
            store.put(QUEUE, [*queued, event][-200:], conf.NOTIFY_INTERVAL * 4)
            return False
        store.put(QUEUE, [], conf.NOTIFY_INTERVAL * 4)
    except StoreUnavailable:
        # Without the store there is no throttle: say nothing rather than
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
