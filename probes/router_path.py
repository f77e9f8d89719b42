"""Where each router on the uplink leads: one echo to an anchor sent through that router alone
(an Ethernet frame to its link-layer address, whatever the host's routes say), and the router
the host's kernel itself picks for the anchor (a route lookup: nothing is sent).

Used where two or more routers announce a default route on the uplink: a host then routes by
one of them (RFC 4191 preference, then the kernel's choice), and only an echo through each
tells one that leads on from one that leads nowhere. The echo leaves from the host's own global
address on the uplink, as its own packets would; the reply comes back however the far end
routes it, and is read off the uplink (a packet socket), as is an ICMPv6 error that quotes it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from probes import icmp6
from probes.errors import MalformedPacket, ProbeError
from probes.netns import Netns
from probes.router_solicit import interface_mac

ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
ICMPV6 = 58


@dataclass(frozen=True, slots=True)
class ViaRouter:
    """One echo to ``target`` sent through ``router`` (its link-local address and MAC)."""

    router: str
    mac: str
    source: str
    target: str
    outcome: str  # "answered" | "error" (an ICMPv6 error quoting it came back) | "silent"
    detail: str  # the error as described, with who sent it; or why nothing could be said
    ms: float

    @property
    def leads_on(self) -> bool:
        return self.outcome == "answered"

    def line(self) -> str:
        head = f"echo {self.source} -> {self.target} sent via {self.router} ({self.mac}): "
        if self.outcome == "answered":
            return head + f"answered after {self.ms:.0f} ms"
        if self.outcome == "error":
            return head + f"{self.detail} after {self.ms:.0f} ms"
        return head + f"no answer within {self.ms:.0f} ms"


@dataclass(frozen=True, slots=True)
class KernelRoute:
    """The route the host's kernel picks for ``target`` (``ip -6 route get``)."""

    target: str
    gateway: str | None
    interface: str | None
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"ip -6 route get {self.target}: {self.error}"
        via = f" via {self.gateway}" if self.gateway else " (on-link, no router)"
        return f"ip -6 route get {self.target}:{via} dev {self.interface or '?'}"


def _checksum(source: bytes, target: bytes, message: bytes) -> int:
    pseudo = source + target + struct.pack("!I3xB", len(message), ICMPV6)
    data = pseudo + message + (b"\0" if len(message) % 2 else b"")
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_frame(
    *, router_mac: bytes, own_mac: bytes, source: str, target: str, ident: int, seq: int
) -> bytes:
    """An Ethernet frame with an ICMPv6 echo request from ``source`` to ``target``, addressed
    to the router's MAC (hop limit 64, checksum filled in)."""
    src, dst = ipaddress.IPv6Address(source).packed, ipaddress.IPv6Address(target).packed
    message = bytearray(icmp6.encode_echo_request(ident, seq))
    struct.pack_into("!H", message, 2, _checksum(src, dst, bytes(message)))
    header = struct.pack("!IHBB", 6 << 28, len(message), ICMPV6, 64) + src + dst
    return router_mac + own_mac + struct.pack("!H", ETH_P_IPV6) + header + bytes(message)


def match(
    packet: bytes, *, source: str, target: str, ident: int, seq: int
) -> tuple[str, str] | None:
    """("answered", "") for the echo's reply, ("error", description) for an ICMPv6 error that
    quotes it, None for anything else (an IPv6 packet without extension headers)."""
    if len(packet) < 48 or packet[0] >> 4 != 6 or packet[6] != ICMPV6:
        return None
    sender = str(ipaddress.IPv6Address(packet[8:24]))
    receiver = str(ipaddress.IPv6Address(packet[24:40]))
    if receiver != str(ipaddress.IPv6Address(source)):
        return None
    try:
        message = icmp6.decode(packet[40:])
    except MalformedPacket:  # a packet we cannot read is not ours
        return None
    if isinstance(message, icmp6.Echo):
        ours = (message.type, message.ident, message.seq) == (icmp6.ECHO_REPLY, ident, seq)
        return ("answered", "") if ours and sender == str(ipaddress.IPv6Address(target)) else None
    if isinstance(message, icmp6.Icmp6Error) and message.invoking_echo is not None:
        quoted = message.invoking_echo
        if (quoted.ident, quoted.seq) == (ident, seq):
            return ("error", f"{message.describe()} from {sender}")
    return None


def _echo_via(
    interface: str, router: str, mac: str, source: str, target: str, timeout: float
) -> ViaRouter:
    own = interface_mac(interface)
    if own is None:
        return ViaRouter(router, mac, source, target, "silent", "no MAC on the uplink", 0.0)
    ident, seq = int.from_bytes(os.urandom(2)), 1
    frame = echo_frame(
        router_mac=bytes.fromhex(mac.replace(":", "")),
        own_mac=own,
        source=source,
        target=target,
        ident=ident,
        seq=seq,
    )
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6)) as s:
        s.bind((interface, ETH_P_IPV6))
        started = time.monotonic()
        s.send(frame)
        until = started + timeout
        while (left := until - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, address = s.recvfrom(65535)
            except TimeoutError:
                break
            if address[2] == PACKET_OUTGOING:
                continue
            found = match(data[14:], source=source, target=target, ident=ident, seq=seq)
            if found is not None:
                ms = (time.monotonic() - started) * 1000
                return ViaRouter(router, mac, source, target, found[0], found[1], ms)
        return ViaRouter(
            router, mac, source, target, "silent", "", (time.monotonic() - started) * 1000
        )


async def echo_via(
    netns: Netns,
    interface: str,
    *,
    router: str,
    mac: str,
    source: str,
    target: str,
    timeout: float,
) -> ViaRouter:
    """One echo from ``source`` to ``target`` through ``router`` alone, and what came back
    within ``timeout`` s."""
    try:
        async with asyncio.timeout(timeout + 2.0):
            return await netns.run(
                lambda: _echo_via(interface, router, mac, source, target, timeout)
            )
    except TimeoutError as exc:
        raise ProbeError(f"echo via {router} on {interface}", "timed out") from exc
    except OSError as exc:
        raise ProbeError(f"echo via {router} on {interface}", str(exc.strerror or exc)) from exc


def _route_get(target: str) -> KernelRoute:
    with IPRoute() as ipr:
        try:
            found = ipr.route("get", dst=target)
        except NetlinkError as exc:  # no route, unreachable: what the kernel says
            return KernelRoute(target, None, None, str(exc))
        if not found:
            return KernelRoute(target, None, None, "no route")
        msg = found[0]
        oif = msg.get_attr("RTA_OIF")
        names = {int(link["index"]): str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links()}
        gateway = msg.get_attr("RTA_GATEWAY")
        return KernelRoute(
            target, str(gateway) if gateway else None, names.get(int(oif)) if oif else None
        )


async def kernel_route(netns: Netns, target: str, *, timeout: float = 5.0) -> KernelRoute:
    """The route the kernel picks for ``target`` in ``netns`` (nothing is sent)."""
    try:
        async with asyncio.timeout(timeout):
            return await netns.run(lambda: _route_get(target))
    except TimeoutError as exc:
        raise ProbeError(f"route lookup for {target}", "timed out") from exc
