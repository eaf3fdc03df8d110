"""Durations as people write and read them: "2h", "30d", "1時間", "30 days".

One parser for the command line (``--for``, ``--older-than``) and the admin's
duration fields; one formatter for everything shown. Stored values stay
seconds. Written here because Django's ``parse_duration`` reads "HH:MM:SS" and
ISO 8601 ("P30D"), which no shop owner types.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Each unit's spellings: the short one the command line has always taken, the
# Japanese one the admin shows, and the English words.
UNITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "s": (1, ("s", "sec", "second", "seconds", "秒")),
    "m": (60, ("m", "min", "minute", "minutes", "分")),
    "h": (3600, ("h", "hour", "hours", "時間")),
    "d": (86400, ("d", "day", "days", "日")),
    "w": (7 * 86400, ("w", "week", "weeks", "週", "週間")),
}
_SPELLINGS = {spelling: unit for unit, (_seconds, spellings) in UNITS.items() for spelling in spellings}
DURATION_RE = re.compile(r"^\s*(\d{1,9})\s*([^\d\s]+)\s*$")


def parse(text: str, *, smallest: str = "s", least: int = 1) -> timedelta:
    """``"90m"``, ``"2h"``, ``"1時間"``, ``"30 days"`` → timedelta; ``ValueError`` otherwise.

    A number needs its unit (a bare "30" could be seconds or days), and is at
    least ``least`` (1: a switch "for 0 minutes" is a typo; purge takes 0d,
    "everything up to now"). ``smallest`` refuses shorter units (purge takes
    days and weeks).
    """
    match = DURATION_RE.match(text or "")
    unit = _SPELLINGS.get(match.group(2).lower()) if match else None
    if not match or unit is None or int(match.group(1)) < least or UNITS[unit][0] < UNITS[smallest][0]:
        raise ValueError(text)
    return timedelta(seconds=int(match.group(1)) * UNITS[unit][0])


def format_duration(seconds: int | float | timedelta) -> str:
    """Seconds in the largest unit that divides them: "1時間", "30日" / "1 hour", "30 days"."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    seconds = int(seconds)
    if seconds and seconds % 86400 == 0:
        return ngettext("%(count)d day", "%(count)d days", seconds // 86400) % {"count": seconds // 86400}
    if seconds and seconds % 3600 == 0:
        return ngettext("%(count)d hour", "%(count)d hours", seconds // 3600) % {"count": seconds // 3600}
    if seconds and seconds % 60 == 0:
        return ngettext("%(count)d minute", "%(count)d minutes", seconds // 60) % {"count": seconds // 60}
    return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}


def about(seconds: int | float) -> str:
    """A rough length for a visitor: "about 2 hours", "about a day" (never the exact second)."""
    seconds = int(seconds)
    if seconds < 3600:
        return _("less than an hour")
    if seconds <= 20 * 3600:
        hours = -(-seconds // 3600)
        return ngettext("about %(count)d hour", "about %(count)d hours", hours) % {"count": hours}
    days = -(-seconds // 86400)
    return ngettext("about %(count)d day", "about %(count)d days", days) % {"count": days}
