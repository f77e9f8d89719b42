"""ICMPv6 from asyncio: echo and Neighbor Solicitation over raw sockets in any namespace.

The codec is ours (a few fixed layouts); tests hold it to scapy's. Sockets are opened in the
target namespace by a worker thread (``Netns.run``) and then read from the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from probes.errors import MalformedPacket
from probes.netns import Netns

PACKET_TOO_BIG = 2
FRAGMENT = 44  # the IPv6 fragment header's next-header value
ECHO_REQUEST = 128
ECHO_REPLY = 129
NEIGHBOR_SOLICIT = 135
NEIGHBOR_ADVERT = 136
ROUTER_SOLICIT = 133
ROUTER_ADVERT = 134
ERROR_NAMES = {
    1: "destination unreachable",
    2: "packet too big",
    3: "time exceeded",
    4: "parameter problem",
}
UNREACH_CODES = {
    0: "no route",
    1: "administratively prohibited",
    2: "beyond scope of source",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed policy",
    6: "reject route",
}

IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)
IPV6_DONTFRAG = getattr(socket, "IPV6_DONTFRAG", 62)  # RFC 3542 11.2: send, never fragment


# --- codec ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Echo:
    """An echo request or reply."""

    type: int
    ident: int
    seq: int


@dataclass(frozen=True, slots=True)
class NeighborAdvert:
    target: str
    router: bool
    solicited: bool
    override: bool
    target_lladdr: str | None


@dataclass(frozen=True, slots=True)
class NeighborSolicit:
    target: str
    source_lladdr: str | None


@dataclass(frozen=True, slots=True)
class Icmp6Error:
    """An ICMPv6 error, with the echo it reports on when the invoking packet held one."""

    type: int
    code: int
    invoking_dst: str | None
    invoking_echo: Echo | None
    mtu: int | None = None  # a Packet Too Big's: the next hop's MTU (RFC 4443 3.2)

    def describe(self) -> str:
        name = ERROR_NAMES.get(self.type, f"type {self.type}")
        detail = UNREACH_CODES.get(self.code, "") if self.type == 1 else ""
        mtu = f", mtu {self.mtu}" if self.mtu is not None else ""
        return f"{name} (code {self.code}{': ' + detail if detail else ''}{mtu})"


@dataclass(frozen=True, slots=True)
class Other:
    type: int
    code: int


Message = Echo | NeighborAdvert | NeighborSolicit | Icmp6Error | Other


def mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _lladdr_option(options: bytes, wanted: int) -> str | None:
    """Find a link-layer address option (RFC 4861 4.6.1) in ND options.

    Every option is length-checked, also those after the one we want: a packet with any
    malformed option must be discarded whole (RFC 4861 7.1.2).
    """
    found = None
    off = 0
    while off < len(options):
        if off + 2 > len(options):
            raise MalformedPacket("ND option header truncated", options)
        kind, units = options[off], options[off + 1]
        if units == 0:
            raise MalformedPacket("ND option with length 0 (RFC 4861 4.6: invalid)", options)
        end = off + units * 8
        if end > len(options):
            raise MalformedPacket(f"ND option type {kind} runs past the packet end", options)
        if kind == wanted and found is None:
            found = mac_str(options[off + 2 : end])[:17]
        off = end
    return found


def decode(data: bytes) -> Message:
    """Decode one ICMPv6 message (as a raw ICMPv6 socket returns it: no IPv6 header)."""
    if len(data) < 4:
        raise MalformedPacket(f"ICMPv6 message of {len(data)} bytes: shorter than its header", data)
    kind, code = data[0], data[1]
    if kind in (ECHO_REQUEST, ECHO_REPLY):
        if len(data) < 8:
            raise MalformedPacket("echo message truncated", data)
        ident, seq = struct.unpack_from("!HH", data, 4)
        return Echo(kind, ident, seq)
    if kind in (NEIGHBOR_SOLICIT, NEIGHBOR_ADVERT):
        if len(data) < 24:
            raise MalformedPacket("neighbor discovery message truncated", data)
        target = str(ipaddress.IPv6Address(data[8:24]))
        if kind == NEIGHBOR_SOLICIT:
            return NeighborSolicit(target, _lladdr_option(data[24:], 1))
        flags = data[4]
        return NeighborAdvert(
            target,
            bool(flags & 0x80),
            bool(flags & 0x40),
            bool(flags & 0x20),
            _lladdr_option(data[24:], 2),
        )
    if kind < 128:
        if kind == PACKET_TOO_BIG and len(data) < 8:
            raise MalformedPacket("packet too big message truncated before its MTU", data)
        mtu = struct.unpack_from("!I", data, 4)[0] if kind == PACKET_TOO_BIG else None
        invoking = data[8:]
        dst = echo = None
        if len(invoking) >= 40 and invoking[0] >> 4 == 6:
            dst = str(ipaddress.IPv6Address(invoking[24:40]))
            nh, at = invoking[6], 40
            # the first fragment of a fragmented request: its ICMPv6 header follows the
            # fragment header (RFC 8200 4.5); later fragments carry none
            if (
                nh == FRAGMENT
                and len(invoking) >= 48
                and struct.unpack_from("!H", invoking, 42)[0] >> 3 == 0
            ):
                nh, at = invoking[40], 48
            if nh == socket.IPPROTO_ICMPV6 and len(invoking) >= at + 8:
                inner = invoking[at : at + 8]
                if inner[0] == ECHO_REQUEST:
                    ident, seq = struct.unpack_from("!HH", inner, 4)
                    echo = Echo(ECHO_REQUEST, ident, seq)
        return Icmp6Error(kind, code, dst, echo, mtu)
    return Other(kind, code)


def encode_echo_request(ident: int, seq: int, payload: bytes = b"v6conform") -> bytes:
    # checksum left 0: the kernel fills it in for raw ICMPv6 sockets (RFC 3542 3.1)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq) + payload


def encode_router_solicit(source_mac: bytes | None) -> bytes:
    """RFC 4861 4.1: type 133, reserved; the source link-layer option unless sent from ::."""
    msg = struct.pack("!BBHI", ROUTER_SOLICIT, 0, 0, 0)
    if source_mac:
        msg += bytes((1, 1)) + source_mac
    return msg


def encode_neighbor_solicit(target: str, source_mac: bytes | None) -> bytes:
    msg = struct.pack("!BBHI", NEIGHBOR_SOLICIT, 0, 0, 0) + ipaddress.IPv6Address(target).packed
    if source_mac:
        msg += bytes((1, 1)) + source_mac
    return msg


def solicited_node(addr: str) -> str:
    """The solicited-node multicast group of an address (RFC 4291 2.7.1)."""
    low = ipaddress.IPv6Address(addr).packed[-3:]
    return str(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + low))


# --- sockets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    source: str
    hop_limit: int | None
    message: Message | MalformedPacket
    at: float
    data: bytes = b""  # the ICMPv6 message as received, for decoders beyond this codec


class RawIcmp6:
    """A raw ICMPv6 socket opened in a namespace, read from asyncio; an async context manager."""

    def __init__(
        self,
        netns: Netns,
        *,
        interface: str | None = None,
        source: str | None = None,
        dont_fragment: bool = False,
    ) -> None:
        self.netns = netns
        self.interface = interface
        self.source = source
        self.dont_fragment = dont_fragment
        self.ifindex = 0
        self._sock: socket.socket | None = None

    async def __aenter__(self) -> RawIcmp6:
        def open_socket() -> tuple[socket.socket, int]:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            try:
                index = socket.if_nametoindex(self.interface) if self.interface else 0
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
                # ND must leave with hop limit 255 or receivers drop it (RFC 4861 7.1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                if index:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                if self.dont_fragment:  # a packet larger than the path MTU is refused, not split
                    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1)
                if self.source:
                    sock.bind((self.source, 0, 0, index if _is_link_local(self.source) else 0))
            except BaseException:
                sock.close()
                raise
            return sock, index

        self._sock, self.ifindex = await self.netns.run(open_socket)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def sock(self) -> socket.socket:
        if self._sock is None:
            raise RuntimeError("socket not open: use `async with`")
        return self._sock

    def send(self, message: bytes, dst: str) -> None:
        scope = self.ifindex if _is_link_local(dst) or dst.startswith("ff02") else 0
        self.sock.sendto(message, (dst, 0, 0, scope))

    async def receive(self, until: float) -> Received | None:
        """Next message before the monotonic deadline ``until``; None when it passes."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            try:
                data, anc, _flags, addr = self.sock.recvmsg(65535, socket.CMSG_SPACE(4))
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_reader(self.sock.fileno(), ready.set_result, None)
                try:
                    async with asyncio.timeout(remaining):
                        await ready
                except TimeoutError:
                    return None
                finally:
                    loop.remove_reader(self.sock.fileno())
                continue
            hop_limit = None
            for level, kind, value in anc:
                if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT and len(value) >= 4:
                    hop_limit = struct.unpack("=i", value[:4])[0]
            try:
                message: Message | MalformedPacket = decode(data)
            except MalformedPacket as exc:
                message = exc
            return Received(addr[0].split("%")[0], hop_limit, message, time.monotonic(), data)

    async def receive_matching(
        self, until: float, wanted: Callable[[Received], bool]
    ) -> Received | None:
        while (got := await self.receive(until)) is not None:
            if wanted(got):
                return got
        return None


def _is_link_local(addr: str) -> bool:
    return ipaddress.IPv6Address(addr.split("%")[0]).is_link_local


# --- echo ----------------------------------------------------------------------------------


def _same(address: str, other: str) -> bool:
    """The same IPv6 address, however each is spelled (case, zeros, a %zone)."""
    try:
        a = ipaddress.IPv6Address(address.split("%")[0])
        return a == ipaddress.IPv6Address(other.split("%")[0])
    except ValueError:
        return False


# send errors that are the sender's own routing or firewall saying no: a finding, not a fault
REFUSED_LOCALLY = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EACCES, errno.EPERM})


@dataclass(frozen=True, slots=True)
class EchoResult:
    target: str
    source: str | None
    rtt_ms: float | None  # None: no reply before the deadline
    error: (
        str | None
    )  # an ICMPv6 error that came back, e.g. "destination unreachable (code 3) from …"
    evidence: tuple[str, ...]

    @property
    def answered(self) -> bool:
        return self.rtt_ms is not None


async def echo(
    netns: Netns,
    dst: str,
    *,
    timeout: float = 1.0,
    source: str | None = None,
    interface: str | None = None,
    count: int = 1,
) -> EchoResult:
    """Send ICMPv6 echo requests to ``dst`` from ``netns`` and wait for the reply.

    ``count`` requests go out one ``timeout / count`` apart within the single deadline: a first
    request lost to neighbour resolution does not fail the probe.
    """
    ident = random.randrange(1, 0xFFFF)
    evidence: list[str] = []
    where = f" on {interface}" if interface else ""
    async with RawIcmp6(netns, interface=interface, source=source) as raw:
        # the deadline is the peer's: it starts with our socket open, not before (on a busy
        # host, entering the namespace can wait its turn for a worker thread)
        until = time.monotonic() + timeout

        def ours(got: Received) -> bool:
            m = got.message
            if isinstance(m, Echo):
                return m.type == ECHO_REPLY and m.ident == ident and _same(got.source, dst)
            return (
                isinstance(m, Icmp6Error)
                and m.invoking_echo is not None
                and m.invoking_echo.ident == ident
            )

        sent_at: dict[int, float] = {}
        error: str | None = None
        for seq in range(1, count + 1):
            sent_at[seq] = time.monotonic()
            try:
                raw.send(encode_echo_request(ident, seq), dst)
            except OSError as exc:
                if exc.errno not in REFUSED_LOCALLY:
                    raise
                # the sender's own kernel refused (no route, a local firewall): that is what
                # was seen, as much as an ICMPv6 error from a router would be
                error = f"not sent: {os.strerror(exc.errno or 0).lower()} (in {netns})"
                evidence.append(f"echo request to {dst}{where} refused by the kernel: {error}")
                break
            evidence.append(
                f"sent echo request id={ident} seq={seq} to {dst}"
                f" from {source or 'kernel-chosen source'}{where} in {netns}"
            )
            slot = min(until, sent_at[seq] + timeout / count) if seq < count else until
            got = await raw.receive_matching(slot, ours)
            if got is None:
                continue
            m = got.message
            if isinstance(m, Echo):
                rtt = (got.at - sent_at.get(m.seq, sent_at[seq])) * 1000
                evidence.append(f"echo reply from {got.source} seq={m.seq} in {rtt:.2f} ms")
                return EchoResult(dst, source, rtt, None, tuple(evidence))
            assert isinstance(m, Icmp6Error)
            error = f"{m.describe()} from {got.source}"
            evidence.append(
                f"received {error} for echo seq={m.invoking_echo.seq if m.invoking_echo else '?'}"
            )
            break
    if error is None:
        evidence.append(f"no reply within {timeout * 1000:.0f} ms")
    return EchoResult(dst, source, None, error, tuple(evidence))
