"""The client IP: the one place any check gets an address from.

Threat model: everything in a request header is chosen by the client, except
what a proxy we trust appended to it. So forwarding headers are read only when
the TCP peer (``REMOTE_ADDR``) is a trusted proxy, and then from the right:
each trusted proxy appends the address it saw, so the first untrusted address
found walking right-to-left is the one our own infrastructure vouches for.
Anything the client wrote further left is ignored, however it is spelled.

The header is never parsed whole: it is read from its right end, one entry at a
time, and only as far as the trusted hops go (at most ``MAX_HOPS`` entries). So
its length costs nothing and changes nothing: a client that pads the header to
7 KB (it still fits a proxy's 8 KB line) is found at its right end like any
other. When the entry at the place where the client must be cannot be read
(``unknown``, garbage, a parameter named twice), the request is refused with 400
(``UnreadableClientAddress``): a client that our proxy named is never replaced by
the proxy's own address, which would let a banned or blocked client through
under the proxy's name.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.utils.module_loading import import_string

# The address types and parsers live below conf (which parses TRUSTED_PROXIES with
# them); re-exported here, where every check has always found them.
from .addresses import IPAddress, IPNetwork, normalize, parse_ip
from .addresses import parse_network as parse_network
from .conf import conf

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger("formguard.ip")

# Entries read from a forwarding header's right end, at most: more trusted
# hops than any proxy chain has. The work is bounded by this, not by the
# header's length (the client's part, on the left, is never read).
MAX_HOPS = 16
# The longest ``Forwarded`` element a proxy writes (for, by, proto and a
# host name); longer text, and an element that reads only after more
# commas than this, is the client's, not a proxy's.
MAX_ELEMENT_LENGTH = 512
MAX_ELEMENT_COMMAS = 8


class UnreadableClientAddress(SuspiciousOperation):
    """A trusted proxy named a client in a way formguard cannot read: Django answers 400."""


def is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in network for network in conf.TRUSTED_PROXIES if network.version == address.version)


# RFC 7230's tchar: what a parameter name (and a plain value) is made of.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"


def _quoted_string(raw: str, start: int) -> tuple[str, int] | None:
    """The unescaped text of the quoted-string opening at ``raw[start]``, and where it ends."""
    chars = []
    i = start + 1
    while i < len(raw):
        char = raw[i]
        if char == '"':
            return "".join(chars), i + 1
        if char == "\\":
            i += 1
            if i == len(raw):
                return None
            char = raw[i]
        if (char < " " and char != "\t") or char == "\x7f":
            return None
        chars.append(char)
        i += 1
    return None  # unterminated


def _forwarded_elements(raw: str) -> list[dict[str, str]] | None:
    """The elements of an RFC 7239 ``Forwarded`` header, left to right, as
    ``{lower-case name: unquoted value}``; None when the header is malformed.

    The grammar is followed to the letter where it matters for security: a
    value is a token or a quoted-string with backslash escapes, so a ``;``,
    ``,`` or ``for=`` inside quotes is text (``ext="a;for=6.6.6.6"`` does not
    choose the address). An element naming a parameter twice is kept as an
    empty element: its proxy vouches for neither value. Two leniencies, both
    seen from real proxies: whitespace around ``;``, and unquoted values that
    are not tokens (``for=[2001:db8::1]``), which ``parse_ip`` then judges.
    """
    elements: list[dict[str, str]] = []
    pairs: dict[str, str] = {}
    repeated = False
    i, end = 0, len(raw)
    while True:
        while i < end and raw[i] in _OWS:
            i += 1
        if i < end and raw[i] not in ",;":
            start = i
            while i < end and raw[i] in _TOKEN_CHARS:
                i += 1
            name = raw[start:i].lower()
            if not name or i == end or raw[i] != "=":
                return None
            i += 1
            if i < end and raw[i] == '"':
                quoted = _quoted_string(raw, i)
                if quoted is None:
                    return None
                value, i = quoted
            else:
                start = i
                while i < end and raw[i] not in ',;"' and " " < raw[i] != "\x7f":
                    i += 1
                value = raw[start:i]
                if not value:
                    return None
            repeated = repeated or name in pairs
            pairs[name] = value
            while i < end and raw[i] in _OWS:
                i += 1
        if i == end or raw[i] == ",":
            elements.append({} if repeated else pairs)
            if i == end:
                return elements
            pairs, repeated = {}, False
        elif raw[i] != ";":
            return None
        i += 1


def _last_forwarded_element(raw: str, end: int) -> tuple[str, int] | None:
    """The ``for`` value of the last element of ``raw[:end]`` (a ``Forwarded``
    header) and the index of the comma before it (-1: none); None when no
    element a proxy could have written ends there.

    A comma may be inside a quoted value (``by="a,b"``), so the element is the
    shortest text after a comma that reads as exactly one element; what a
    client wrote before it (an unterminated quote, say) does not change how
    our proxy's element reads.
    """
    low = max(0, end - MAX_ELEMENT_LENGTH - 1)
    comma = end
    for _ in range(MAX_ELEMENT_COMMAS):
        comma = raw.rfind(",", low, comma)
        if comma == -1 and low > 0:
            return None  # longer than any proxy's element
        elements = _forwarded_elements(raw[comma + 1 : end])
        if elements is not None and len(elements) == 1:
            return elements[0].get("for", ""), comma
        if comma == -1:
            return None
    return None


def _entries_from_right(raw: str, header: str) -> Iterator[str | None]:
    """The header's client entries from the right, at most ``MAX_HOPS``; None for one that cannot be read."""
    forwarded = header.lower() == "forwarded"
    end = len(raw)
    for _ in range(MAX_HOPS):
        if forwarded:
            # RFC 7239: Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]"
            found = _last_forwarded_element(raw, end)
            if found is None:
                yield None
                return
            entry, start = found
        else:
            start = raw.rfind(",", 0, end)
            entry = raw[start + 1 : end]
        yield entry
        if start == -1:
            return
        end = start


def peer_ip(request: HttpRequest) -> IPAddress:
    """The TCP peer, from ``REMOTE_ADDR``; a missing one is a deployment error."""
    raw = request.META.get("REMOTE_ADDR")
    peer = parse_ip(raw)
    if peer is None:
        # Every visitor would share one "unknown" bucket: one bot would close
        # the form for everybody. Better to say so loudly.
        raise ImproperlyConfigured(
            f"formguard cannot read the client address: REMOTE_ADDR is {raw!r}. "
            "This happens when the app server listens on a Unix socket; make it "
            "set REMOTE_ADDR (e.g. gunicorn behind nginx passes the peer), or set "
            "FORMGUARD['CLIENT_IP_RESOLVER']."
        )
    return peer


def resolve_client_ip(request: HttpRequest) -> IPAddress:
    """formguard's built-in resolver; see the module docstring.

    Raises ``UnreadableClientAddress`` (400) when a trusted proxy's header
    cannot be read where the client must be.
    """
    peer = peer_ip(request)
    if not conf.TRUSTED_PROXIES or not is_trusted_proxy(peer):
        return peer
    raw = request.META.get(conf.CLIENT_IP_META_KEY, "")
    if not raw:
        # Our proxy named no client: a request of its own (a health check).
        return peer
    furthest = peer
    for entry in _entries_from_right(raw, conf.CLIENT_IP_HEADER):
        address = parse_ip(entry)
        if address is None:
            # Our proxy wrote something it cannot vouch for ("unknown",
            # garbage), or the client's text reaches where our proxy writes.
            # The proxy's address would stand in for a client it named.
            shown = "…" if entry is None else entry.strip()[:64]
            raise UnreadableClientAddress(
                f"formguard cannot read the client address in {conf.CLIENT_IP_HEADER} from the trusted "
                f"proxy {peer}: {shown!r}"
            )
        if not is_trusted_proxy(address):
            return address
        furthest = address
    # Every entry read is one of ours: the client is an internal host (or
    # the chain is longer than MAX_HOPS); the furthest one read is it.
    return furthest


def client_ip(request: HttpRequest) -> IPAddress:
    """The client address of ``request``, memoised on the request."""
    cached = getattr(request, "_formguard_client_ip", None)
    if cached is not None:
        return cached
    resolver = conf.CLIENT_IP_RESOLVER
    address = normalize(import_string(resolver)(request)) if resolver else resolve_client_ip(request)
    request._formguard_client_ip = address
    return address


def bucket(address: IPAddress) -> IPNetwork:
    """The network counted and banned as one client: /64 for IPv6 by default."""
    address = normalize(address)
    prefix = conf.IPV6_PREFIX if address.version == 6 else conf.IPV4_PREFIX
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


def network_text(network: IPNetwork) -> str:
    """A network as people write it: a single host without its ``/32``."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def bucket_key(address: IPAddress) -> str:
    """``bucket()`` as a short string, for counter keys, rules and incident rows."""
    return _bucket_key(address, conf.IPV4_PREFIX, conf.IPV6_PREFIX)


@lru_cache(maxsize=4096)
def _bucket_key(address: IPAddress, ipv4_prefix: int, ipv6_prefix: int) -> str:
    # Every request asks, and a flood repeats its addresses: building an
    # ip_network from text costs more than the rest of the check.
    return network_text(bucket(address))
