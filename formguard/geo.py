"""Country of an IP, from a MaxMind-format ``.mmdb`` file read by geoip2.

``country_of(ip)`` answers an ISO code (``"JP"``), ``UNKNOWN`` (``"ZZ"``)
when the database does not know the address or cannot be read, and
``PRIVATE`` (``"XX"``) for private, loopback, link-local and reserved
addresses, which no database places in a country.

One reader per process, opened on first use and shared between threads
(geoip2's reader is safe for concurrent lookups). Country and City databases
both work: geoip2's ``country()`` refuses a City database, so the lookup
method follows the database's type.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
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
        import geoip2.database

        self.path = path
        self.reader = geoip2.database.Reader(path)
        metadata = self.reader.metadata()
        self.database_type: str = metadata.database_type
        self.built = datetime.fromtimestamp(metadata.build_epoch, tz=UTC)
        if "City" in self.database_type:
            self._lookup = self.reader.city
        elif "Country" in self.database_type:
            self._lookup = self.reader.country
        else:
            self._lookup = None  # another layout: read the record as it is

    def country(self, address: IPAddress) -> str:
        import geoip2.errors

        try:
            if self._lookup is not None:
                code = self._lookup(str(address)).country.iso_code
            else:
                record: Any = self.reader._db_reader.get(str(address))
                code = (record or {}).get("country", {}).get("iso_code")
        except geoip2.errors.AddressNotFoundError:
            return UNKNOWN
        except ValueError:
            return UNKNOWN
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


def is_private(address: IPAddress) -> bool:
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
