"""What one refusal leaves for its incident row: the ``Event``, its aggregation key, and the
row's values made storable and packed for the store (``to_detail``/``from_detail``).

Pure functions of an event and a moment, apart from the flush machinery in
``incidents``, which writes the rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .conf import conf
from .requesttext import REPLACEMENT, storable, storable_data


@dataclass
class Event:
    """One refusal (or monitor-only would-be refusal), ready to record."""

    ip: str
    ip_bucket: str
    form_key: str
    reason: str
    monitor_only: bool = False
    method: str = ""
    path: str = ""
    user_agent: str = ""
    # Called only when a row is made: the GeoIP lookup and reading the body.
    country: Callable[[], str] = str
    detail: dict[str, Any] = field(default_factory=dict)
    sample: Callable[[], dict[str, Any]] = dict
    rule_id: int | None = None


def window_start(moment: datetime) -> int:
    epoch = int(moment.timestamp())
    return epoch - epoch % conf.INCIDENT_WINDOW


def aggregation_key(
    ip_bucket: str, form_key: str, reason: str, monitor_only: bool, now: datetime, method: str = ""
) -> str:
    """The name of the row that counts this refusal."""
    # Views (GET) and submissions (POST) are counted apart: a report of spam
    # submissions must not count a banned bot's page views, nor a person's.
    # The form key goes last: it is the only part a site chooses.
    method = storable(method)[:10].replace("|", REPLACEMENT)  # the client's to choose, like any request text
    return f"{window_start(now)}|{int(monitor_only)}|{reason}|{method}|{ip_bucket}|{form_key}"


def row_values(event: Event, now: datetime) -> dict[str, Any]:
    return storable_values(
        {
            "first_seen": now,
            "last_seen": now,
            "ip": event.ip,
            "ip_bucket": event.ip_bucket,
            "country": event.country(),
            "form_key": event.form_key,
            "reason": event.reason,
            "monitor_only": event.monitor_only,
            "method": event.method,
            "path": event.path,
            "user_agent": event.user_agent,
            "detail": event.detail,
            "sample": event.sample(),
            "rule_id": event.rule_id,
        }
    )


# The columns that hold request text, and their sizes.
_ONE_LINE_COLUMNS = {"method": 10, "path": 300, "user_agent": 300}


def storable_values(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values as every supported database takes them (requesttext.py).

    Applied where a row's values are made and again where a flush reads them
    back from the store, which may hold a detail written by an earlier
    version of formguard.
    """
    cleaned = dict(values)
    for name, size in _ONE_LINE_COLUMNS.items():
        if isinstance(cleaned.get(name), str):
            cleaned[name] = storable(cleaned[name])[:size]
    if "detail" in cleaned:
        cleaned["detail"] = storable_data(cleaned["detail"])
    if "sample" in cleaned:
        # A field's value may be a message of several lines: they stay.
        cleaned["sample"] = storable_data(cleaned["sample"], multiline=True)
    return cleaned


_TIMES = ("first_seen", "last_seen")


def to_detail(values: dict[str, Any]) -> bytes:
    # JSON, not pickle: whoever can write the store must not be able to run code.
    plain = {k: (v.timestamp() if k in _TIMES else v) for k, v in values.items()}
    return json.dumps(plain, default=str).encode()


def from_detail(detail: bytes) -> dict[str, Any]:
    values = json.loads(detail)
    return {k: (aware(v) if k in _TIMES else v) for k, v in values.items()}


def aware(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
