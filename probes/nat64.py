"""IPv4-only destinations from IPv6: the AAAA a DNS64 resolver synthesizes for them (RFC 6147),
and echo through the NAT64 that must translate it (RFC 6146), end to end; an ICMPv4 echo from
the host to the destination's own IPv4 address beside it, so a destination that is down is not
taken for a NAT64 that is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import socket
import struct
import time
from dataclasses import dataclass

from probes import dns, dns64
from probes.icmp6 import REFUSED_LOCALLY
from probes.netns import Netns

ICMP4_ECHO_REQUEST = 8
ICMP4_ECHO_REPLY = 0


@dataclass(frozen=True, slots=True)
class Echo4Result:
    target: str
    answered: bool
    error: str | None
    evidence: tuple[str, ...]


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def encode_echo4(ident: int, seq: int, payload: bytes = b"v6conform") -> bytes:
    head = struct.pack("!BBHHH", ICMP4_ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP4_ECHO_REQUEST, 0, _checksum(head + payload), ident, seq) + (
        payload
    )


def decode_echo4_reply(packet: bytes) -> tuple[str, int, int] | None:
    """(source, ident, seq) of an ICMPv4 echo reply as a raw socket returns it (with its IPv4
    header); None for anything else or anything too short."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != ICMP4_ECHO_REPLY:
        return None
    ident, seq = struct.unpack_from("!HH", icmp, 4)
    return str(ipaddress.IPv4Address(packet[12:16])), ident, seq


async def echo4(netns: Netns, dst: str, *, timeout: float = 1.0, count: int = 2) -> Echo4Result:
    """ICMPv4 echo from ``netns`` to ``dst``; ``count`` requests within the one deadline."""
    ident = random.randrange(1, 0xFFFF)
    evidence: list[str] = []
    until = time.monotonic() + timeout

    def open_socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        sock.setblocking(False)
        return sock

    loop = asyncio.get_running_loop()
    sock = await netns.run(open_socket)
    with sock:
        for seq in range(1, count + 1):
            try:
                sock.sendto(encode_echo4(ident, seq), (dst, 0))
            except OSError as exc:
                if exc.errno not in REFUSED_LOCALLY:
                    raise
                why = f"not sent: {os.strerror(exc.errno or 0).lower()} (in {netns})"
                evidence.append(f"ICMPv4 echo request to {dst}: {why}")
                return Echo4Result(dst, False, why, tuple(evidence))
            evidence.append(f"sent ICMPv4 echo request id={ident} seq={seq} to {dst} in {netns}")
            slot = min(until, time.monotonic() + timeout / count) if seq < count else until
            try:
                async with asyncio.timeout(max(0.0, slot - time.monotonic())):
                    while True:
                        data = await loop.sock_recv(sock, 65535)
                        got = decode_echo4_reply(data)
                        if got and got[1] == ident and got[0] == dst:
                            evidence.append(f"ICMPv4 echo reply from {dst} seq={got[2]}")
                            return Echo4Result(dst, True, None, tuple(evidence))
            except TimeoutError:
                continue
    evidence.append(f"no ICMPv4 echo reply within {timeout * 1000:.0f} ms")
    return Echo4Result(dst, False, None, tuple(evidence))


@dataclass(frozen=True, slots=True)
class Synthesis:
    """What the host's nameservers said of one IPv4-only name: its A records, the AAAA they
    gave, and which of those embed an A record (synthesized: DNS64), under which prefix."""

    name: str
    a: tuple[str, ...]
    aaaa: tuple[str, ...]
    synthesized: dict[str, str]  # AAAA address -> the NAT64 prefix it embeds an A record under
    asked: tuple[dns.DnsResult, ...]

    @property
    def aaaa_said(self) -> bool:
        """Whether a nameserver gave a definite answer for AAAA (NOERROR or NXDOMAIN): only
        then is "no AAAA" a finding rather than silence."""
        return any(r.rdtype == "AAAA" and r.rcode in dns.DEFINITE for r in self.asked)

    @property
    def native(self) -> tuple[str, ...]:
        return tuple(a for a in self.aaaa if a not in self.synthesized)

    def lines(self) -> tuple[str, ...]:
        return tuple(line for r in self.asked for line in r.lines())


def synthesis(name: str, answers: list[dns.DnsResult]) -> Synthesis:
    """Read one name's A and AAAA answers (from one or more servers) for DNS64 synthesis."""
    a = tuple(dict.fromkeys(x for r in answers if r.rdtype == "A" for x in r.addresses))
    aaaa = tuple(dict.fromkeys(x for r in answers if r.rdtype == "AAAA" for x in r.addresses))
    v4 = [ipaddress.IPv4Address(x) for x in a]
    found = {x: p for x in aaaa if (p := dns64.embedding_prefix(x, v4)) is not None}
    return Synthesis(name, a, aaaa, found, tuple(answers))
