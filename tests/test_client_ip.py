"""Client-IP resolution: the one function every check gets an address from."""

import ipaddress

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from formguard.conf import conf
from formguard.ip import UnreadableClientAddress, bucket_key, client_ip, parse_ip, parse_network

rf = RequestFactory()


def resolve(remote_addr="198.51.100.7", **headers):
    request = rf.get("/", REMOTE_ADDR=remote_addr, **headers)
    return str(client_ip(request))


def proxies(*networks, header="X-Forwarded-For"):
    return override_settings(FORMGUARD={"TRUSTED_PROXIES": list(networks), "CLIENT_IP_HEADER": header})


def test_remote_addr_without_trusted_proxies():
    assert resolve("198.51.100.7") == "198.51.100.7"


def test_forged_forwarded_for_is_ignored_without_trusted_proxies():
    assert resolve("198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9") == "198.51.100.7"


@pytest.mark.parametrize(
    "header",
    ["HTTP_X_REAL_IP", "HTTP_CLIENT_IP", "HTTP_TRUE_CLIENT_IP", "HTTP_CF_CONNECTING_IP", "HTTP_FORWARDED"],
)
def test_other_client_headers_are_ignored_unless_named(header):
    with proxies("10.0.0.0/8"):
        assert resolve("10.0.0.2", **{header: "203.0.113.9"}) == "10.0.0.2"


def test_trusted_proxy_header_is_read_from_the_right():
    with proxies("10.0.0.0/8"):
        # The client forged the left part; our proxy appended what it saw.
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9") == "203.0.113.9"


def test_trusted_hops_are_skipped():
    with proxies("10.0.0.0/8", "192.0.2.10"):
        value = "1.2.3.4, 203.0.113.9, 192.0.2.10, 10.1.1.1"
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=value) == "203.0.113.9"


def test_untrusted_peer_cannot_choose_the_ip_even_with_proxies_configured():
    with proxies("10.0.0.0/8"):
        assert resolve("198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9") == "198.51.100.7"


def test_cidr_matching_not_string_prefixes():
    with proxies("10.0.0.1"):
        # 10.0.0.10 starts with "10.0.0.1" but is not that address.
        assert resolve("10.0.0.10", HTTP_X_FORWARDED_FOR="203.0.113.9") == "10.0.0.10"
        assert resolve("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9") == "203.0.113.9"


def test_named_header_is_used():
    with proxies("10.0.0.0/8", header="CF-Connecting-IP"):
        assert resolve("10.0.0.2", HTTP_CF_CONNECTING_IP="203.0.113.9") == "203.0.113.9"
        # X-Forwarded-For is now just another client header.
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.8") == "10.0.0.2"


def test_rfc7239_forwarded_header():
    with proxies("10.0.0.0/8", header="Forwarded"):
        value = 'for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https'
        assert resolve("10.0.0.2", HTTP_FORWARDED=value) == "2001:db8:cafe::17"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # A for= inside a quoted value is text, not a parameter (smuggling).
        ('for=8.8.8.8;ext="a;for=6.6.6.6"', "8.8.8.8"),
        ('for=8.8.8.8;ext="a, for=6.6.6.6"', "8.8.8.8"),
        ('for=6.6.6.6, for=8.8.8.8;ext="x, for=6.6.6.6;y"', "8.8.8.8"),
        # An escaped quote does not end the quoted string.
        (r'for=8.8.8.8;ext="x\";for=6.6.6.6"', "8.8.8.8"),
        (r'for=8.8.8.8;ext="x\\";by=10.0.0.3', "8.8.8.8"),
        # A comma or semicolon in a quoted value does not split the header.
        ('for=8.8.8.8;by="a,b"', "8.8.8.8"),
        ('for=8.8.8.8;by="a;b"', "8.8.8.8"),
        ('for="8.8.8.8";proto=https', "8.8.8.8"),
        (r'for="\8.8.8.8"', "8.8.8.8"),
        ("For=8.8.8.8 ; Proto=https", "8.8.8.8"),
        ('for=1.2.3.4,for="[2001:db8::17]:4711";by="_hidden,x"', "2001:db8::17"),
        # The client's forged part is read but never chooses the address.
        ("for=6.6.6.6;for=6.6.6.7, for=8.8.8.8", "8.8.8.8"),
        # A quote the client left open does not swallow what our proxy appended:
        # the header is read from the right.
        ('for=6.6.6.6;ext="unterminated, for=8.8.8.8', "8.8.8.8"),
        ('for="6.6.6.6, for=8.8.8.8;proto=https', "8.8.8.8"),
    ],
)
def test_rfc7239_quoted_values_and_escapes(value, expected):
    with proxies("10.0.0.0/8", header="Forwarded"):
        assert resolve("10.0.0.2", HTTP_FORWARDED=value) == expected


@pytest.mark.parametrize(
    "value",
    [
        # What our proxy appended cannot be told apart from the client's part.
        'for="8.8.8.8',
        # One parameter twice in our proxy's element: it vouches for neither.
        "for=6.6.6.6;for=8.8.8.8",
        "for",
        "=8.8.8.8",
        "for=8.8.8.8 junk",
        'for="8.8.8.8"x',
        "for=unknown",
        'for="_hidden"',
        "proto=https",
        "for=1.2.3.4,",
        # An "element" longer than any proxy writes is the client's text.
        "for=8.8.8.8;ext=" + "x" * 6000,
    ],
)
def test_rfc7239_unreadable_is_refused_never_the_peer(value):
    with proxies("10.0.0.0/8", header="Forwarded"), pytest.raises(UnreadableClientAddress):
        resolve("10.0.0.2", HTTP_FORWARDED=value)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("203.0.113.9:8080", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_ports_brackets_and_mapped_addresses(entry, expected):
    with proxies("10.0.0.0/8"):
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=entry) == expected


@pytest.mark.parametrize(
    "value",
    [
        "unknown",
        " , ",
        "1.2.3.4, ,",
        "not-an-ip",
        "203.0.113.9.example.com",
        "localhost",
        "999.1.1.1",
        "[2001:db8::1",
        "1.2.3.4, unknown",
        "x" * 8192,
        "203.0.113.9, " + "x" * 7000,
    ],
)
def test_garbage_where_the_client_must_be_is_refused_never_the_peer(value):
    # The proxy's address standing in for the client would let a banned or
    # blocked client through under the proxy's name.
    with proxies("10.0.0.0/8"), pytest.raises(UnreadableClientAddress, match="X-Forwarded-For"):
        resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=value)


PADDED_XFF = [
    ", ".join(["1.1.1.1"] * 700),  # 6.3 KB of addresses
    ",".join(["203.0.113.9"] * 500),
    "x" * 6500,  # 6.5 KB of junk
    "unknown, " * 700,
]
PADDED_FORWARDED = [
    ", ".join(["for=1.1.1.1;proto=https"] * 250),  # 6.2 KB
    'for="' + "x" * 6000,  # an open quote before what our proxy appends
    "for=6.6.6.6;ext=" + "y" * 6800,
]


@pytest.mark.parametrize("padding", PADDED_XFF)
def test_an_oversized_x_forwarded_for_is_read_from_the_right(padding):
    with proxies("10.0.0.0/8", "192.0.2.10"):
        assert 5000 < len(padding) < 7500
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=f"{padding}, 198.51.100.23") == "198.51.100.23"
        chain = f"{padding}, 198.51.100.23, 192.0.2.10, 10.1.1.1"
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=chain) == "198.51.100.23"


@pytest.mark.parametrize("padding", PADDED_FORWARDED)
def test_an_oversized_forwarded_is_read_from_the_right(padding):
    with proxies("10.0.0.0/8", header="Forwarded"):
        assert 5000 < len(padding) < 7500
        assert resolve("10.0.0.2", HTTP_FORWARDED=f"{padding}, for=198.51.100.23") == "198.51.100.23"
        chain = f'{padding}, for="[2001:db8:cafe::17]:4711";proto=https, for=10.1.1.1;by=10.0.0.2'
        assert resolve("10.0.0.2", HTTP_FORWARDED=chain) == "2001:db8:cafe::17"


def test_a_megabyte_header_is_read_from_its_right_end():
    # Bounded work: the client's part is never read, however long.
    with proxies("10.0.0.0/8"):
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, " * 120_000 + "198.51.100.23") == "198.51.100.23"
    with proxies("10.0.0.0/8", header="Forwarded"):
        assert resolve("10.0.0.2", HTTP_FORWARDED='for="a,b", ' * 100_000 + "for=198.51.100.23") == "198.51.100.23"


def test_long_chain_is_read_from_the_right():
    with proxies("10.0.0.0/8"):
        forged = ", ".join(f"1.1.1.{i % 250}" for i in range(100))
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.9") == "203.0.113.9"


def test_all_hops_trusted_means_the_furthest_one_no_header_the_proxy():
    with proxies("10.0.0.0/8"):
        # An internal host behind our own proxies: it is the client, not the proxy.
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="10.9.9.9, 10.1.1.1") == "10.9.9.9"
        # A trusted proxy that names no client (its own health check) is the client.
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="") == "10.0.0.2"
        assert resolve("10.0.0.2") == "10.0.0.2"


@pytest.mark.parametrize("proxy", ["::ffff:10.0.0.2", "::ffff:a00:2", "::ffff:10.0.0.0/104", "::FFFF:10.0.0.0/120"])
@pytest.mark.parametrize("peer", ["10.0.0.2", "::ffff:10.0.0.2"])
def test_trusted_proxy_written_ipv4_mapped_is_trusted(proxy, peer):
    # How a dual-stack server reports an IPv4 proxy; the peer is unwrapped to
    # IPv4, so the entry must be too.
    with proxies(proxy):
        assert resolve(peer, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9") == "203.0.113.9"


def test_ipv4_mapped_trusted_hops_are_skipped():
    with proxies("10.0.0.2", "::ffff:192.0.2.0/120"):
        assert resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 192.0.2.77") == "203.0.113.9"


def test_ipv4_mapped_proxy_entry_trusts_only_its_own_network():
    with proxies("::ffff:10.0.0.0/104"):
        assert [str(n) for n in conf.TRUSTED_PROXIES] == ["10.0.0.0/8"]
        assert resolve("11.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9") == "11.0.0.2"


def test_ipv4_mapped_remote_addr_is_unwrapped():
    assert resolve("::ffff:192.0.2.1") == "192.0.2.1"


def test_ipv6_remote_addr_and_zone_index():
    assert resolve("2001:db8::5") == "2001:db8::5"
    assert resolve("fe80::1%eth0") == "fe80::1"


def test_trusted_ipv6_proxy():
    with proxies("2001:db8:ffff::/48"):
        assert resolve("2001:db8:ffff::1", HTTP_X_FORWARDED_FOR="2001:db8:1::9") == "2001:db8:1::9"


@pytest.mark.parametrize("remote_addr", ["", None, "unknown"])
def test_missing_remote_addr_is_a_configuration_error(remote_addr):
    request = rf.get("/")
    if remote_addr is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote_addr
    with pytest.raises(ImproperlyConfigured, match="REMOTE_ADDR"):
        client_ip(request)


def test_no_dns_lookup(monkeypatch):
    import socket

    def fail(*args, **kwargs):
        raise AssertionError("DNS lookup attempted")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    monkeypatch.setattr(socket, "gethostbyname", fail)
    with proxies("10.0.0.0/8"), pytest.raises(UnreadableClientAddress):
        resolve("10.0.0.2", HTTP_X_FORWARDED_FOR="example.com")


def test_custom_resolver():
    with override_settings(FORMGUARD={"CLIENT_IP_RESOLVER": "tests.test_client_ip.fixed_resolver"}):
        assert resolve("198.51.100.7") == "192.0.2.55"


def fixed_resolver(request):
    return "::ffff:192.0.2.55"


def test_bucket_is_the_64_for_ipv6_and_the_address_for_ipv4():
    assert bucket_key(ipaddress.ip_address("2001:db8:1:2:3:4:5:6")) == "2001:db8:1:2::/64"
    assert bucket_key(ipaddress.ip_address("192.0.2.1")) == "192.0.2.1"
    # A mapped address is its IPv4 address, never a /64 shared by every IPv4 client.
    assert bucket_key(ipaddress.ip_address("::ffff:192.0.2.1")) == "192.0.2.1"
    assert bucket_key(ipaddress.ip_address("::ffff:192.0.2.1")) != bucket_key(ipaddress.ip_address("::ffff:192.0.2.2"))


def test_bucket_prefix_is_configurable():
    with override_settings(FORMGUARD={"IPV6_PREFIX": 56}):
        assert bucket_key(ipaddress.ip_address("2001:db8:1:2ff::1")) == "2001:db8:1:200::/56"


def test_parse_helpers():
    assert parse_ip("[::1]:80") == ipaddress.ip_address("::1")
    assert parse_ip("") is None
    assert str(parse_network("::ffff:192.0.2.0/120")) == "192.0.2.0/24"
    assert str(parse_network("203.0.113.77/24")) == "203.0.113.0/24"


# -- through the demo's /contact/, behind a trusted proxy ----------------------

CN_V4 = "114.114.114.114"  # China in the GeoLite2 database the demo ships
BANNED = "203.0.113.66"
PROXY = "10.0.0.2"


def behind_proxy(header):
    """The demo's settings (its shipped GeoLite2 database) behind a proxy at 10.0.0.0/8."""
    return override_settings(
        FORMGUARD={**settings.FORMGUARD, "TRUSTED_PROXIES": ["10.0.0.0/8"], "CLIENT_IP_HEADER": header}
    )


def forwarded_by_proxy(header, padding, client):
    """The header as our proxy passes it on: the client's 5-7 KB, then the address it saw."""
    if header == "Forwarded":
        return {"HTTP_FORWARDED": f"{padding}, for={client}"}
    return {"HTTP_X_FORWARDED_FOR": f"{padding}, {client}"}


OVERSIZED = [("X-Forwarded-For", p) for p in PADDED_XFF] + [("Forwarded", p) for p in PADDED_FORWARDED]


@pytest.mark.django_db
@pytest.mark.parametrize(("header", "padding"), OVERSIZED)
def test_a_banned_and_a_blocked_country_client_stay_refused_behind_an_oversized_header(
    header, padding, client, contact_data, mailoutbox
):
    from formguard import geo, policies, rules
    from formguard.models import FormPolicy

    geo.reset()
    with behind_proxy(header):
        rules.add_rule(BANNED, reason="spam")
        policies.ensure_row("*")
        FormPolicy.objects.filter(form_key="*").update(country_mode="block", allowed_countries="JP")
        policies.invalidate()
        banned = forwarded_by_proxy(header, padding, BANNED)
        assert client.get("/contact/", REMOTE_ADDR=PROXY, **banned).status_code == 403
        assert client.post("/contact/", contact_data, REMOTE_ADDR=PROXY, **banned).status_code == 403
        chinese = forwarded_by_proxy(header, padding, CN_V4)
        assert client.get("/contact/", REMOTE_ADDR=PROXY, **chinese).status_code == 403
        assert client.post("/contact/", contact_data, REMOTE_ADDR=PROXY, **chinese).status_code == 403
        # A customer in Japan behind the same padding is let through: the client was read, not guessed.
        japanese = forwarded_by_proxy(header, padding, "133.11.0.1")
        assert client.post("/contact/", contact_data, REMOTE_ADDR=PROXY, **japanese).status_code == 302
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "value"),
    [("X-Forwarded-For", "x" * 6000 + ", unknown"), ("Forwarded", "for=1.1.1.1, " * 500 + "for=unknown")],
)
def test_an_unreadable_client_is_a_400_not_the_proxy(header, value, client, contact_data, mailoutbox):
    meta = {"HTTP_" + header.upper().replace("-", "_"): value}
    with behind_proxy(header):
        assert client.get("/contact/", REMOTE_ADDR=PROXY, **meta).status_code == 400
        assert client.post("/contact/", contact_data, REMOTE_ADDR=PROXY, **meta).status_code == 400
    assert mailoutbox == []
