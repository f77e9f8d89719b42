"""Solicit, don't wait: a Router Solicitation on the uplink, and every RA that answers it.

Periodic Router Advertisements can be ten minutes apart; a router answers a solicitation within
milliseconds (RFC 4861 6.2.6 allows it up to half a second). The RS leaves a raw ICMPv6 socket in
the host's namespace with hop limit 255, to all-routers, and the socket then collects every RA
that arrives on that interface until the window closes: several routers may answer.
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
SIOCGIFHWADDR = 0x8927
ARPHRD_ETHER = 1


@dataclass(frozen=True, slots=True)
class Solicitation:
    """One RS and what answered it within the window."""

    interface: str
    window_ms: float
    sent: str  # the RS, decoded, for the evidence
    adverts: tuple[RouterAdvert | MalformedAdvert, ...]

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
        out = [self.sent]
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


async def solicit_routers(netns: Netns, interface: str, *, window: float = 1.0) -> Solicitation:
    """Send one RS on ``interface`` and collect every RA that arrives within ``window`` s."""
    async with icmp6.RawIcmp6(netns, interface=interface) as raw:
        mac = await netns.run(lambda: interface_mac(interface))
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        started = time.monotonic()
        raw.send(icmp6.encode_router_solicit(mac), ALL_ROUTERS)
        option = f", source lladdr {icmp6.mac_str(mac)}" if mac else ""
        sent = f"sent RS to {ALL_ROUTERS} on {interface}, hop limit 255{option}"
        adverts: list[RouterAdvert | MalformedAdvert] = []
        until = started + window
        while (got := await raw.receive(until)) is not None:
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
    return Solicitation(interface, window * 1000, sent, tuple(adverts))
