"""Country of an IP, from a MaxMind-format ``.mmdb`` file.

``country_of(ip)`` answers an ISO code (``"JP"``), ``UNKNOWN`` (``"ZZ"``)
when the database does not know the address or cannot be read, and
``PRIVATE`` (``"XX"``) for private, loopback, link-local and reserved
addresses, which no database places in a country.

One reader per process, opened on first use and shared between threads.
The records are read with ``maxminddb``, the reader MaxMind's geoip2 is built
on, through its public ``open_database``: geoip2 builds a whole City or Country
model per lookup (about 40 µs for a City record), where the country check,
which runs on every request of a flood, needs one field. Country and City
databases both keep it at ``country.iso_code``. The answers of recent
addresses are kept (a bounded LRU), since a flood repeats its addresses.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .conf import conf
from .ip import IPAddress, normalize

logger = logging.getLogger("formguard.geo")

UNKNOWN = "ZZ"
PRIVATE = "XX"


@dataclass(frozen=True)
class DatabaseInfo:
    path: str
    database_type: str
    built: datetime


class _Reader:
    """The process's open database, or the error that kept it closed."""

    def __init__(self, path: str):
        import maxminddb

        self.path = path
        self.reader = maxminddb.open_database(path)
        metadata = self.reader.metadata()
        self.database_type: str = metadata.database_type
        self.built = datetime.fromtimestamp(metadata.build_epoch, tz=UTC)
        self.country = lru_cache(maxsize=4096)(self._country)

    def _country(self, address: IPAddress) -> str:
        try:
            record: Any = self.reader.get(address)
        except ValueError:  # an IPv6 address in an IPv4-only database, a corrupt file
            return UNKNOWN
        country = record.get("country") if isinstance(record, dict) else None
        code = country.get("iso_code") if isinstance(country, dict) else None
        return code.upper() if isinstance(code, str) and len(code) == 2 else UNKNOWN


_lock = threading.Lock()
_reader: _Reader | None = None
_failed_path: str | None = None


def _get_reader() -> _Reader | None:
    global _reader, _failed_path
    path = conf.GEOIP_PATH
    if not path:
        return None
    current = _reader
    if current is not None and current.path == path:
        return current
    if _failed_path == path:
        return None
    with _lock:
        if _reader is not None and _reader.path == path:
            return _reader
        try:
            _reader = _Reader(path)
            _failed_path = None
        except Exception as exc:  # missing file, not an mmdb, unreadable
            _failed_path = path
            logger.error(
                "formguard: cannot open the GeoIP database %s (%s: %s); every country is unknown (ZZ) "
                "until it is fixed and the process restarted.",
                path,
                type(exc).__name__,
                exc,
            )
            return None
        return _reader


def reset() -> None:
    """Forget the open reader (tests, or after replacing the file)."""
    global _reader, _failed_path
    with _lock:
        _reader = None
        _failed_path = None


@lru_cache(maxsize=4096)
def is_private(address: IPAddress) -> bool:
    # ipaddress works these out by scanning its lists of networks each time.
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def country_of(address: IPAddress | str) -> str:
    """The ISO country code of ``address``, ``"ZZ"`` unknown, ``"XX"`` private."""
    address = normalize(address)
    if is_private(address):
        return PRIVATE
    reader = _get_reader()
    if reader is None:
        return UNKNOWN
    return reader.country(address)


def database_info() -> DatabaseInfo | None:
    reader = _get_reader()
    if reader is None:
        return None
    return DatabaseInfo(path=reader.path, database_type=reader.database_type, built=reader.built)


def read_file_info(path: str) -> DatabaseInfo:
    """Open ``path`` as the GeoIP database would be, and describe it.

    Raises ``ValueError`` saying why it cannot serve (for the system checks).
    """
    if not Path(path).is_file():
        raise ValueError("no such file")
    try:
        reader = _Reader(path)
    except Exception as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    reader.reader.close()
    return DatabaseInfo(path=path, database_type=reader.database_type, built=reader.built)


def country_name(code: str) -> str:
    """``"CN"`` → "中国" / "China" in the active language; ZZ and XX get formguard's own words.

    Names come from django-countries; an unknown code is shown as it is.
    """
    from django.utils.translation import gettext
    from django_countries import countries

    code = (code or "").upper()
    if not code or code == UNKNOWN:
        return gettext("unknown country")
    if code == PRIVATE:
        return gettext("private address")
    return str(countries.name(code)) or code


def country_label(code: str) -> str:
    """The name with its code, for tables: "中国 (CN)"."""
    if not code:
        return country_name(code)
    return f"{country_name(code)} ({code.upper()})"


def country_choices(codes: list[str]) -> list[tuple[str, str]]:
    """``(code, name)`` pairs sorted by name in the active language, for filters and forms."""
    return sorted(((code, country_name(code)) for code in codes), key=lambda pair: pair[1])
