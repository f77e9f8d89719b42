"""Capture ICMPv6 on one link with an AF_PACKET socket, from asyncio, for a bounded window.

Why a packet socket and not a raw ICMPv6 one: the upstream router's Neighbor Solicitation for a
container address goes to that address's solicited-node group, which the host never joined, so
the host's IPv6 stack drops it before any ICMPv6 socket sees it. A packet socket on the uplink
sees the frame itself. On a real NIC the multicast filter may drop it in hardware, so the capture
asks for all-multicast through a packet-socket membership, which the kernel drops again when the
socket closes: nothing on the host stays changed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass
from types import TracebackType

from probes import icmp6
from probes.errors import MalformedPacket, NetnsError
from probes.netns import Netns

ETH_P_ALL = 0x0003  # outgoing frames reach only ETH_P_ALL packet sockets (dev_queue_xmit_nit)
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_ALLMULTI = 2
PACKET_OUTGOING = 4
IPPROTO_ICMPV6 = 58
MAX_FRAMES = 10_000  # a flood must not eat the harness's memory


@dataclass(frozen=True, slots=True)
class Frame:
    """One ICMPv6 packet seen on the link."""

    at: float  # time.monotonic() when read
    outgoing: bool  # sent by this host (True) or received from the link
    src_mac: str
    src: str
    dst: str
    hop_limit: int
    message: icmp6.Message | MalformedPacket

    def describe(self, since: float | None = None) -> str:
        """One line, tcpdump-like; with the time after ``since`` (monotonic) when given."""
        way = "out" if self.outgoing else "in "
        m = self.message
        if isinstance(m, icmp6.NeighborSolicit):
            what = f"NS who-has {m.target}"
        elif isinstance(m, icmp6.NeighborAdvert):
            flags = "".join(f for f, on in (("R", m.router), ("S", m.solicited)) if on)
            what = f"NA tgt-is {m.target}" + (f" [{flags}]" if flags else "")
        elif isinstance(m, icmp6.Echo):
            kind = "request" if m.type == icmp6.ECHO_REQUEST else "reply"
            what = f"echo {kind} id={m.ident} seq={m.seq}"
        elif isinstance(m, icmp6.Icmp6Error):
            what = m.describe()
        elif isinstance(m, icmp6.Other):
            what = f"ICMPv6 type {m.type} code {m.code}"
        else:
            what = f"malformed ICMPv6: {m.reason}"
        when = f"+{(self.at - since) * 1000:.0f} ms " if since is not None else ""
        return f"{when}{way} {self.src} ({self.src_mac}) > {self.dst} hlim {self.hop_limit}: {what}"


def decode_frame(frame: bytes, *, outgoing: bool = False, at: float = 0.0) -> Frame | None:
    """An Ethernet frame carrying ICMPv6 directly after the IPv6 header; None for anything else.

    Raises MalformedPacket for an IPv6 frame too short for what its headers say.
    """
    if len(frame) < 14 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6:
        return None
    ip = frame[14:]
    if len(ip) < 40:
        raise MalformedPacket(f"IPv6 packet of {len(ip)} bytes: shorter than its header", frame)
    if ip[0] >> 4 != 6:
        raise MalformedPacket(f"IP version {ip[0] >> 4} in an IPv6 frame", frame)
    if ip[6] != IPPROTO_ICMPV6:
        return None  # extension headers (MLD's hop-by-hop) and other protocols: not ours
    payload_len = struct.unpack_from("!H", ip, 4)[0]
    body = ip[40 : 40 + payload_len]
    try:
        message: icmp6.Message | MalformedPacket = icmp6.decode(body)
    except MalformedPacket as exc:
        message = exc
    return Frame(
        at,
        outgoing,
        icmp6.mac_str(frame[6:12]),
        str(ipaddress.IPv6Address(ip[8:24])),
        str(ipaddress.IPv6Address(ip[24:40])),
        ip[7],
        message,
    )


class LinkCapture:
    """Every ICMPv6 packet on ``interface`` in ``netns`` while open; an async context manager.

    Frames are read by an event-loop reader callback (no task to manage) into ``frames``.
    """

    def __init__(self, netns: Netns, interface: str) -> None:
        self.netns = netns
        self.interface = interface
        self.frames: list[Frame] = []
        self.started = 0.0  # monotonic time the capture began
        self.malformed = 0
        self.dropped = 0
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> LinkCapture:
        def open_socket() -> socket.socket:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            try:
                sock.setblocking(False)
                sock.bind((self.interface, ETH_P_ALL))
                index = socket.if_nametoindex(self.interface)
                mreq = struct.pack("iHH8s", index, PACKET_MR_ALLMULTI, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            except BaseException:
                sock.close()
                raise
            return sock

        try:
            self._sock = await self.netns.run(open_socket)
        except OSError as exc:
            raise NetnsError(
                str(self.netns), f"cannot capture on {self.interface}: {exc.strerror or exc}"
            ) from exc
        self.started = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.fileno(), self._drain)
        return self

    def _drain(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, addr = self._sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # the link went away mid-capture: keep what we have
            if len(self.frames) >= MAX_FRAMES:
                self.dropped += 1
                continue
            try:
                frame = decode_frame(data, outgoing=addr[2] == PACKET_OUTGOING, at=time.monotonic())
            except MalformedPacket:
                self.malformed += 1
                continue
            if frame is not None:
                self.frames.append(frame)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sock is not None:
            self._drain()  # what arrived between the last wake-up and now
            if self._loop is not None:
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()  # drops the all-multicast membership with it
            self._sock = None
