"""RFC 7050 / RFC 6052: finding the NAT64 prefix in a synthesized ipv4only.arpa AAAA."""

from __future__ import annotations

import ipaddress

import pytest

from probes import dns as dnsprobe
from probes import dns64

# RFC 6052 section 2.4: 192.0.2.33 embedded after 2001:db8:122:344::/N
RFC6052_EXAMPLES = [
    (32, "2001:db8:c000:221::"),
    (40, "2001:db8:1c0:2:21::"),
    (48, "2001:db8:122:c000:2:2100::"),
    (56, "2001:db8:122:3c0:0:221::"),
    (64, "2001:db8:122:344:c0:2:2100:0"),
    (96, "2001:db8:122:344::192.0.2.33"),
]


@pytest.mark.parametrize(("plen", "address"), RFC6052_EXAMPLES)
def test_embedded_ipv4_matches_rfc6052_examples(plen: int, address: str) -> None:
    ip = ipaddress.IPv6Address(address)
    assert dns64.embedded_ipv4(ip, plen) == ipaddress.IPv4Address("192.0.2.33")


@pytest.mark.parametrize(
    ("address", "prefix"),
    [
        ("64:ff9b::c000:aa", "64:ff9b::/96"),
        ("64:ff9b::192.0.0.171", "64:ff9b::/96"),
        ("2001:db8:64::c000:aa", "2001:db8:64::/96"),
        ("2001:db8:122:344:c0:0:aa00:0", "2001:db8:122:344::/64"),
        ("2001:db8:c000:ab::", "2001:db8::/32"),
        ("2001:db8:f00d::80", None),  # a real AAAA: no well-known address in it
        ("not an address", None),
    ],
)
def test_nat64_prefix(address: str, prefix: str | None) -> None:
    assert dns64.nat64_prefix(address) == prefix


def result(*addresses: str, rcode: str = "NOERROR") -> dnsprobe.DnsResult:
    return dnsprobe.DnsResult(
        server="2001:db8:53::53",
        transport="udp",
        qname=dns64.QNAME,
        rdtype="AAAA",
        rcode=rcode,
        answer=(),
        addresses=addresses,
        elapsed_ms=2.0,
        error=None,
        truncated=False,
    )


def test_judge_reports_the_prefix_once_and_what_it_cannot_explain() -> None:
    found = dns64.judge(result("64:ff9b::c000:aa", "64:ff9b::c000:ab", "2001:db8::1"))
    assert found.synthesizes
    assert found.prefixes == ("64:ff9b::/96",)
    assert found.unexplained == ("2001:db8::1",)
    assert "NAT64 prefix 64:ff9b::/96" in found.describe()


def test_no_aaaa_means_no_dns64() -> None:
    found = dns64.judge(result())
    assert not found.synthesizes
    assert "no DNS64" in found.describe()
