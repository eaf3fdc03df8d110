"""What the subcommands read and write: durations, moments, networks, aligned columns."""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
from datetime import date, datetime, timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from formguard import durations, geo, reports
from formguard.ip import network_text, parse_network

# Networks wider than these are refused without --force: 0.0.0.0/0 would
# lock out every visitor with one typo.
WIDEST_BAN = {4: 8, 6: 32}


def parse_duration(text: str) -> timedelta:
    """``"90m"``, ``"2h"``, ``"1d"``, ``"2w"``, ``"1時間"`` → timedelta (``durations.parse``)."""
    try:
        return durations.parse(text)
    except ValueError:
        raise CommandError(_("Not a duration: %(text)r. Write it like 30m, 2h, 1d or 2w.") % {"text": text}) from None


def parse_age(text: str) -> timedelta:
    """An age for purge: days or weeks only ("90d", "12w"); "1m" could be a minute or a month."""
    try:
        # 0d: everything up to now (asked for confirmation like any other age).
        return durations.parse(text, smallest="d", least=0)
    except ValueError:
        raise CommandError(
            _("Not an age in days: %(text)r. Write it like 90d or 12w (days or weeks; a bare number is refused).")
            % {"text": text}
        ) from None


def width(text: str) -> int:
    """Columns a text takes in a terminal: full-width (Japanese) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def operator_addresses() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address the operator is connected from, when over SSH (SSH_CLIENT / SSH_CONNECTION)."""
    found = []
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        first = (os.environ.get(name) or "").split(" ")[0]
        try:
            found.append(ipaddress.ip_address(first))
        except ValueError:
            continue
    return found


# A day as Japanese write it too: 2026/12/08, 2026/12/8 (and full-width digits, NFKC below).
DAY_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?=$|[T ])")


def parse_moment(text: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY/MM/DD`` (a whole local day: its start, or with
    ``end`` the next day's start) or ``YYYY-MM-DDTHH:MM`` (that moment), as an
    aware datetime."""
    typed = DAY_RE.sub(
        lambda m: f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}",
        unicodedata.normalize("NFKC", text).strip(),
    )
    try:
        if len(typed) == 10:
            day = date.fromisoformat(typed)
            start, stop = reports.period_for_day(day)
            return stop if end else start
        moment = datetime.fromisoformat(typed)
    except ValueError:
        raise CommandError(
            _("Not a date: %(text)r. Write it like 2026-11-21, 2026/11/21 or 2026-11-21T09:30.") % {"text": text}
        ) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def network_arg(text: str) -> str:
    try:
        return network_text(parse_network(text))
    except ValueError:
        raise CommandError(_("Not an IP address or CIDR range: %(text)r") % {"text": text}) from None


def geoip_line(info: geo.DatabaseInfo) -> str:
    return _("GeoIP: %(path)s (%(type)s, built %(date)s)") % {
        "path": info.path,
        "type": info.database_type,
        "date": f"{info.built:%Y-%m-%d}",
    }


def local_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
