"""The client IP: the one place any check gets an address from.

Threat model: everything in a request header is chosen by the client, except
what a proxy we trust appended to it. So forwarding headers are read only when
the TCP peer (``REMOTE_ADDR``) is a trusted proxy, and then from the right:
each trusted proxy appends the address it saw, so the first untrusted address
found walking right-to-left is the one our own infrastructure vouches for.
Anything the client wrote further left is ignored, however it is spelled.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .conf import conf

if TYPE_CHECKING:
    from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

logger = logging.getLogger("formguard.ip")

# A forwarding header longer than this is not from a sane proxy chain; it is
# ignored rather than parsed (parsing cost is the attacker's lever).
MAX_HEADER_LENGTH = 4096


def parse_ip(value: str | None) -> IPAddress | None:
    """Parse one address as proxies write it, or return None.

    Accepts ``192.0.2.1``, ``192.0.2.1:8080``, ``[2001:db8::1]:443``,
    ``"[2001:db8::1]"`` (RFC 7239 quoting) and IPv4-mapped IPv6, which is
    unwrapped to IPv4. Never resolves names.
    """
    if not value:
        return None
    value = value.strip().strip('"').strip()
    if not value or len(value) > 64:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        value = value[1:end]
    elif value.count(":") == 1:
        # IPv4 with a port; a bare IPv6 address has at least two colons.
        value = value.split(":", 1)[0]
    if "%" in value:
        # Zone index (fe80::1%eth0) identifies a local interface, not a client.
        value = value.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def normalize(address: IPAddress | str) -> IPAddress:
    """An address object from a string or address, IPv4-mapped unwrapped."""
    if isinstance(address, str):
        parsed = parse_ip(address)
        if parsed is None:
            raise ValueError(f"not an IP address: {address!r}")
        return parsed
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def parse_network(value: str) -> IPNetwork:
    """An IP or CIDR as a network; ``::ffff:192.0.2.0/120`` becomes IPv4."""
    value = value.strip()
    if "/" not in value:
        return ipaddress.ip_network(normalize(value))
    network = ipaddress.ip_network(value, strict=False)
    mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
    if mapped is not None and network.prefixlen >= 96:
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)
    return network


def is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in network for network in conf.TRUSTED_PROXIES if network.version == address.version)


def _header_entries(raw: str, header: str) -> list[str]:
    if header.lower() == "forwarded":
        # RFC 7239: Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]"
        entries = []
        for element in raw.split(","):
            found = ""
            for pair in element.split(";"):
                name, _, value = pair.partition("=")
                if name.strip().lower() == "for":
                    found = value
            entries.append(found)
        return entries
    return raw.split(",")


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
    """formguard's built-in resolver; see the module docstring."""
    peer = peer_ip(request)
    if not conf.TRUSTED_PROXIES or not is_trusted_proxy(peer):
        return peer
    raw = request.META.get(conf.CLIENT_IP_META_KEY, "")
    if not raw or len(raw) > MAX_HEADER_LENGTH:
        return peer
    for entry in reversed(_header_entries(raw, conf.CLIENT_IP_HEADER)):
        address = parse_ip(entry)
        if address is None:
            # Our proxy wrote something it could not vouch for ("unknown",
            # garbage): the client is not known better than the peer.
            return peer
        if not is_trusted_proxy(address):
            return address
    # Every hop was one of ours (an internal health check, say).
    return peer


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
    """``bucket()`` as a short string, for cache keys, rules and incident rows."""
    return network_text(bucket(address))
