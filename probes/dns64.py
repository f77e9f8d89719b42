"""DNS64 discovery by RFC 7050: ask for ``ipv4only.arpa`` AAAA, find the NAT64 prefix in it.

``ipv4only.arpa`` has only A records (192.0.0.170 and 192.0.0.171). A resolver that answers
AAAA for it synthesized them (DNS64, RFC 6147), and the well-known addresses sit inside the
answer where RFC 6052 puts an IPv4 address for the prefix's length: that is the NAT64 prefix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from probes import dns
from probes.netns import Netns

QNAME = "ipv4only.arpa"
WELL_KNOWN = (ipaddress.IPv4Address("192.0.0.170"), ipaddress.IPv4Address("192.0.0.171"))
PREFIX_LENGTHS = (96, 64, 56, 48, 40, 32)  # RFC 6052 section 2.2


def embedded_ipv4(address: ipaddress.IPv6Address, plen: int) -> ipaddress.IPv4Address:
    """The IPv4 address RFC 6052 places after a ``plen``-bit prefix (bits 64..71 are skipped)."""
    octets = address.packed
    if plen == 96:
        return ipaddress.IPv4Address(octets[12:16])
    start = plen // 8
    v4 = [octets[i] for i in range(start, 16) if i != 8][:4]
    return ipaddress.IPv4Address(bytes(v4))


def nat64_prefix(address: str) -> str | None:
    """The NAT64 prefix a synthesized ``ipv4only.arpa`` AAAA reveals, e.g. ``64:ff9b::/96``."""
    return embedding_prefix(address, WELL_KNOWN)


def embedding_prefix(address: str, ipv4s: Iterable[ipaddress.IPv4Address]) -> str | None:
    """The prefix under which ``address`` embeds one of ``ipv4s`` as RFC 6052 places it: the
    NAT64 prefix of a AAAA synthesized from one of those A records; None: it embeds none."""
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return None
    wanted = frozenset(ipv4s)
    for plen in PREFIX_LENGTHS:
        if plen != 96 and ip.packed[8] != 0:
            continue  # RFC 6052: bits 64..71 must be zero for the shorter prefixes
        if embedded_ipv4(ip, plen) in wanted:
            return str(ipaddress.IPv6Network(f"{ip}/{plen}", strict=False))
    return None


@dataclass(frozen=True, slots=True)
class Dns64Finding:
    """What one nameserver said about ``ipv4only.arpa`` AAAA."""

    result: dns.DnsResult
    prefixes: tuple[str, ...]  # NAT64 prefixes found in the answer
    unexplained: tuple[str, ...]  # AAAA addresses holding no well-known address

    @property
    def server(self) -> str:
        return self.result.server

    @property
    def synthesizes(self) -> bool:
        return bool(self.prefixes)

    def describe(self) -> str:
        if not self.result.answered:
            return f"{self.server}: {self.result.error}"
        if self.prefixes:
            return (
                f"{self.server}: DNS64, NAT64 prefix {', '.join(self.prefixes)} "
                f"(ipv4only.arpa AAAA {', '.join(self.result.addresses)})"
            )
        extra = (
            f"; AAAA without a well-known address: {', '.join(self.unexplained)}"
            if (self.unexplained)
            else ""
        )
        return f"{self.server}: no DNS64 ({self.result.rcode}, no synthesized AAAA){extra}"


def judge(result: dns.DnsResult) -> Dns64Finding:
    prefixes: list[str] = []
    unexplained: list[str] = []
    for address in (a for a in result.addresses if ":" in a):
        prefix = nat64_prefix(address)
        if prefix is None:
            unexplained.append(address)
        elif prefix not in prefixes:
            prefixes.append(prefix)
    return Dns64Finding(result, tuple(prefixes), tuple(unexplained))


async def discover(netns: Netns, server: str, *, timeout: float = 1.0) -> Dns64Finding:
    """Ask ``server`` for ``ipv4only.arpa`` AAAA from ``netns`` and read the answer (RFC 7050)."""
    return judge(await dns.query(netns, server, QNAME, "AAAA", timeout=timeout))
