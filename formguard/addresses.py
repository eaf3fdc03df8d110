"""IP addresses and networks as formguard reads them, below every setting.

``conf`` parses ``TRUSTED_PROXIES`` with these and ``ip`` reads the client's
address with them, so they live in a module that imports nothing of formguard's:
parsing an address needs no setting.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
