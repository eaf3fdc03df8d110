"""Under a flood, the bar goes up for everyone; the form stays open.

A form whose plausible submissions (``steps.flood``) pass its flood
limit is *escalated* for ``flood_escalation`` seconds: every POST must pass
the captcha, the self-hosted proof of work asks ``flood_captcha_factor``
times the usual work, and the honeypot and time trap refuse where they would
only have asked for the captcha (``raised``). A person still gets through;
a flood pays for every message. Closing the form is a person's decision,
or a last resort the owner opts into (``flood_close``, in the pipeline).

The state lives in the shared store (one value per form) and is kept in each
process like policies are (``generations``): a start or an early end made in
one process reaches every other within a second, and a request costs no
round trip for it. The start is written to the action log and mailed to the
admins once, by the one process that claims it; the end comes by itself at
``until``, and the first request or admin page after it writes it to the
action log, dated at the end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

from django.utils.translation import gettext as _

from . import generations, notify
from .models import FLOOD_REASON, ActionLog, TrapAction, describe_reason
from .policies import local_time
from .policy_values import PolicyValues
from .store import StoreUnavailable, get_store

logger = logging.getLogger("formguard.escalation")

P = TypeVar("P", bound=PolicyValues)

KEY = "escalation:{}"
# Kept in the store this long after its end, for the action log's end entry.
KEEP_AFTER_END = 7 * 24 * 3600


@dataclass(frozen=True)
class Escalation:
    """One form's escalation: since when, until when, and why."""

    form_key: str
    since: datetime
    until: datetime
    posts: int
    limit: str

    @property
    def reason(self) -> str:
        """Why, in the action log's machine form (``FLOOD_REASON``)."""
        return FLOOD_REASON.format(posts=self.posts, limit=self.limit)

    def why(self) -> str:
        """Why, for a person (translated)."""
        return describe_reason(self.reason)

    def active_at(self, now: datetime) -> bool:
        return self.since <= now < self.until

    def describe(self) -> str:
        """ "Captcha for everyone until …, since … (why)": what the admin shows."""
        return _("Under a flood: every POST must pass the captcha until %(until)s (since %(since)s; %(why)s).") % {
            "until": local_time(self.until),
            "since": local_time(self.since),
            "why": self.why(),
        }

    def as_value(self) -> dict[str, object]:
        return {
            "since": self.since.timestamp(),
            "until": self.until.timestamp(),
            "posts": self.posts,
            "limit": self.limit,
        }

    @classmethod
    def from_value(cls, form_key: str, value: object) -> Escalation | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                form_key=form_key,
                since=datetime.fromtimestamp(float(value["since"]), tz=UTC),
                until=datetime.fromtimestamp(float(value["until"]), tz=UTC),
                posts=int(value["posts"]),
                limit=str(value["limit"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _load(form_key: str) -> Escalation | None:
    try:
        return Escalation.from_value(form_key, get_store().get(KEY.format(form_key)))
    except StoreUnavailable:
        # No shared state: no escalation either (nothing counted one).
        return None


def _kept(form_key: str) -> Escalation | None:
    return generations.cached_rows(f"escalations:{form_key}", lambda: _load(form_key), generation="escalations")


def current(form_key: str, now: datetime) -> Escalation | None:
    """The escalation of ``form_key`` in force at ``now``, or None.

    An escalation found over is ended on the record here (once, by whichever
    process claims it).
    """
    found = _kept(form_key)
    if found is None:
        return None
    if found.active_at(now):
        return found
    if now >= found.until:
        _end(found)
    return None


def start(form_key: str, *, posts: int, limit: str, seconds: int, now: datetime) -> Escalation | None:
    """Escalate ``form_key`` for ``seconds`` from ``now``; None when another process just did.

    The one process that claims the start writes the action log and mails the
    admins; the others see the escalation within a second.
    """
    escalation = Escalation(form_key, since=now, until=now + timedelta(seconds=seconds), posts=posts, limit=limit)
    try:
        store = get_store()
        if not store.claim(f"escalating:{form_key}", max(1.0, float(seconds))):
            return None
        store.put(KEY.format(form_key), escalation.as_value(), seconds + KEEP_AFTER_END)
    except StoreUnavailable:
        return None
    generations.changed("escalations")
    ActionLog.objects.create(
        at=now,
        action=ActionLog.Action.ESCALATED,
        target=form_key,
        automatic=True,
        detail=escalation.reason[:300],
        until=escalation.until,
        actor="auto",
    )
    logger.warning(
        "formguard: form %r under a flood (%s): every POST must pass the captcha until %s",
        form_key,
        escalation.reason,
        local_time(escalation.until),
    )
    # Once per escalation, at once: the owner may want to close the form by hand.
    notify.admins(
        f"form {form_key!r} under a flood ({escalation.reason}): every POST must pass the captcha "
        f"until {local_time(escalation.until)}; it ends by itself. Close the form in the admin if you must.",
        urgent=True,
    )
    return escalation


def _end(escalation: Escalation) -> None:
    try:
        store = get_store()
        if not store.claim(f"escalation-ended:{escalation.form_key}:{escalation.since.timestamp()}", KEEP_AFTER_END):
            return
        store.put(KEY.format(escalation.form_key), None, 1)
    except StoreUnavailable:
        return
    generations.changed("escalations")
    ActionLog.objects.create(
        at=escalation.until,
        action=ActionLog.Action.ESCALATION_ENDED,
        target=escalation.form_key,
        automatic=True,
        detail=escalation.reason[:300],
        actor="auto",
    )
    logger.warning("formguard: form %r back to its usual checks (the flood measures ended)", escalation.form_key)


def _strict(action: str) -> str:
    # A trap that would only ask for the captcha asks nothing new when everyone
    # must pass it: it refuses (the form comes back with everything typed).
    return TrapAction.REFUSE if action == TrapAction.CHALLENGE else action


@lru_cache(maxsize=64)
def raised(policy: P) -> P:
    """``policy`` as it applies under a flood: the captcha for everyone, more work, strict traps.

    The time trap's shortest time stays the policy's (never relaxed); content
    rules keep their actions ("challenge" is the captcha everyone passes now).
    """
    return replace(
        policy,
        captcha_required=True,
        captcha_difficulty=policy.captcha_difficulty * max(1, policy.flood_captcha_factor),
        honeypot_action=_strict(policy.honeypot_action),
        time_trap_action=_strict(policy.time_trap_action),
    )
