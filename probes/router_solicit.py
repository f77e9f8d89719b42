"""Solicit, don't wait: a Router Solicitation on the uplink, and every RA that answers it.

Periodic Router Advertisements can be ten minutes apart; a router answers a solicitation within
milliseconds, after a random delay of up to MAX_RA_DELAY_TIME (0.5 s) — but RFC 4861 6.2.6 also
has it send multicast RAs no closer than MIN_DELAY_BETWEEN_RAS (3 s) apart, so a router that
advertised just before our RS answers up to 3.5 s later. The RS leaves a raw ICMPv6 socket in
the host's namespace with hop limit 255, to all-routers, and the socket collects every RA that
arrives on that interface: until that bound when nothing comes, and for MAX_RA_DELAY_TIME past
the first RA (other routers on the link answer within it), so a healthy link closes early.
A lost RS or RA is not a missing router: while nothing has come, the RS is sent again, up to
MAX_RTR_SOLICITATIONS (3) in all, spread over the window (RFC 4861 6.3.7; RFC 7559).
"""

from __future__ import annotations

import fcntl
import socket
import struct
import time
from dataclasses import dataclass

from probes import icmp6
from probes.netns import Netns
from probes.router_advert import MalformedAdvert, RouterAdvert, decode_router_advert

ALL_ROUTERS = "ff02::2"
MIN_DELAY_BETWEEN_RAS = 3.0  # RFC 4861 10
MAX_RA_DELAY_TIME = 0.5  # RFC 4861 10
RA_ANSWER_BOUND = MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME
MAX_RTR_SOLICITATIONS = 3  # RFC 4861 10
SIOCGIFHWADDR = 0x8927
SIOCGIFMTU = 0x8921
ARPHRD_ETHER = 1


@dataclass(frozen=True, slots=True)
class Solicitation:
    """One RS and what answered it within the window."""

    interface: str
    window_ms: float  # how long it listened: the bound, or less once an answer was in
    sent: tuple[str, ...]  # each RS, decoded and timed, for the evidence
    adverts: tuple[RouterAdvert | MalformedAdvert, ...]
    link_mtu: int | None = None  # the interface's MTU: an RA's MTU option may not exceed it
    # the MTU the host sends IPv6 with there once the RAs were in (net.ipv6.conf.IF.mtu: an
    # RA's MTU option lowers it, unless accept_ra_mtu is 0)
    ipv6_mtu: int | None = None

    @property
    def valid(self) -> tuple[RouterAdvert, ...]:
        return tuple(a for a in self.adverts if isinstance(a, RouterAdvert))

    @property
    def malformed(self) -> tuple[MalformedAdvert, ...]:
        return tuple(a for a in self.adverts if isinstance(a, MalformedAdvert))

    @property
    def routers(self) -> tuple[str, ...]:
        """Each advertising router once, in the order they answered."""
        seen: list[str] = []
        for a in self.adverts:
            if a.source not in seen:
                seen.append(a.source)
        return tuple(seen)

    def latest(self, router: str) -> RouterAdvert | MalformedAdvert:
        """What a router said last in the window (hosts act on the latest RA)."""
        return [a for a in self.adverts if a.source == router][-1]

    def lines(self) -> list[str]:
        out = list(self.sent)
        for a in self.adverts:
            out += [f"  {line}" for line in a.lines()]
        if not self.adverts:
            out.append(f"  no RA within {self.window_ms:.0f} ms")
        return out


def interface_mac(name: str) -> bytes | None:
    """The interface's Ethernet address (in the calling thread's namespace), None if it has
    none (a tunnel, say: then the RS goes without the source link-layer option)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            raw = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    family = struct.unpack_from("H", raw, 16)[0]
    mac = raw[18:24]
    return mac if family == ARPHRD_ETHER and any(mac) else None


def ipv6_link_mtu(name: str) -> int | None:
    """net.ipv6.conf.NAME.mtu as the calling thread's namespace has it; None if unreadable."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{name}/mtu") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def interface_mtu(name: str) -> int | None:
    """The interface's MTU (in the calling thread's namespace), None if it cannot be read."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            raw = fcntl.ioctl(s.fileno(), SIOCGIFMTU, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    mtu: int = struct.unpack_from("i", raw, 16)[0]
    return mtu


async def solicit_routers(
    netns: Netns,
    interface: str,
    *,
    window: float = RA_ANSWER_BOUND,
    settle: float = MAX_RA_DELAY_TIME,
    solicitations: int = MAX_RTR_SOLICITATIONS,
) -> Solicitation:
    """Solicit on ``interface`` and collect every RA that arrives: for ``window`` s while none
    has come (resending the RS, ``solicitations`` in all, evenly over the window), and for
    ``settle`` s past the first one."""
    async with icmp6.RawIcmp6(netns, interface=interface) as raw:
        mac, mtu = await netns.run(lambda: (interface_mac(interface), interface_mtu(interface)))
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        started = time.monotonic()
        option = f", source lladdr {icmp6.mac_str(mac)}" if mac else ""
        sent: list[str] = []
        adverts: list[RouterAdvert | MalformedAdvert] = []
        until = started + window
        resend = [started + window * i / solicitations for i in range(solicitations)]
        while True:
            now = time.monotonic()
            if not adverts and resend and now >= resend[0]:
                resend.pop(0)
                raw.send(icmp6.encode_router_solicit(mac), ALL_ROUTERS)
                sent.append(
                    f"sent RS #{len(sent) + 1} at +{(now - started) * 1000:.0f} ms to "
                    f"{ALL_ROUTERS} on {interface}, hop limit 255{option}"
                )
            stop = min(until, resend[0]) if not adverts and resend else until
            got = await raw.receive(stop)
            if got is None:
                if time.monotonic() >= until:
                    break
                continue
            if not got.data or got.data[0] != icmp6.ROUTER_ADVERT:
                continue
            adverts.append(
                decode_router_advert(
                    got.data,
                    source=got.source,
                    hop_limit=got.hop_limit,
                    at_ms=(got.at - started) * 1000,
                )
            )
            until = min(until, got.at + settle) if len(adverts) == 1 else until
        listened = time.monotonic() - started
        ipv6_mtu = await netns.run(lambda: ipv6_link_mtu(interface))
    return Solicitation(interface, listened * 1000, tuple(sent), tuple(adverts), mtu, ipv6_mtu)
