"""DNS queries from any network namespace: real messages (dnspython), our own sockets.

The socket is opened inside the namespace that must do the asking (the host's, a container's) by
a worker thread, then driven from asyncio, so the query leaves from exactly where the checks say
it does. UDP and TCP (RFC 7766: a resolver must also answer over TCP), IPv6 or IPv4 by the
server's address. One deadline per query covers connect, send and the whole reply.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from probes.errors import ProbeError
from probes.netns import Netns

Transport = Literal["udp", "tcp"]
PORT = 53
MAX_UDP = 65535
# a UDP query is sent this many times, evenly within its deadline, as a stub resolver sends it
# again: one datagram lost on the way is not a nameserver that does not answer
UDP_SENDS = 2
MALFORMED = "malformed reply"  # how every reply that cannot be read is reported
# the rcodes that say what records a name has; silence, SERVFAIL or REFUSED say nothing of them
DEFINITE = ("NOERROR", "NXDOMAIN")


@dataclass(frozen=True, slots=True)
class DnsResult:
    """One query and what came of it."""

    server: str  # address, with %zone for a link-local server
    transport: Transport
    qname: str
    rdtype: str
    rcode: str | None  # None: no (valid) reply before the deadline
    answer: tuple[str, ...]  # the answer section, one RR a line
    addresses: tuple[str, ...]  # A / AAAA data for the asked type
    elapsed_ms: float
    error: str | None  # why there is no reply: timeout, unreachable, malformed…
    truncated: bool = False
    sends: int = 1  # how many times the query went out (UDP: again when no reply came)

    @property
    def answered(self) -> bool:
        return self.rcode is not None

    @property
    def family(self) -> str:
        return "IPv6" if ":" in self.server else "IPv4"

    def describe(self) -> str:
        head = (
            f"{self.qname} {self.rdtype}? to {self.server} over {self.family} "
            f"{self.transport.upper()}: "
        )
        sent = f" ({self.sends} queries sent)" if self.sends > 1 else ""
        if self.rcode is None:
            return head + f"{self.error or 'no reply'} after {self.elapsed_ms:.0f} ms{sent}"
        what = ", ".join(self.addresses) if self.addresses else "no " + self.rdtype
        tc = " (truncated)" if self.truncated else ""
        return head + f"{self.rcode}{tc} in {self.elapsed_ms:.1f} ms{sent}: {what}"

    def lines(self) -> tuple[str, ...]:
        return (self.describe(), *(f"  {rr}" for rr in self.answer))


@dataclass(frozen=True, slots=True)
class Reading:
    """What the bytes of one reply say, judged against the query they answer."""

    rcode: str | None  # None: no usable reply (error says why)
    error: str | None  # malformed, or not a reply to this query
    answer: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    truncated: bool = False
    internal: bool = False  # the decoder broke on it: the harness could not judge the reply

    @property
    def malformed(self) -> bool:
        return self.error is not None and self.error.startswith(MALFORMED)


def read_reply(query: dns.message.Message, data: bytes, rdtype: str) -> Reading:
    """Parse and judge one reply's bytes (UDP payload, or TCP message without its length).

    Never raises, for ANY bytes: what cannot be read comes back as a :data:`MALFORMED` reading
    (with the reason), a reply to another query as an error saying so. An exception other than
    dnspython's own means a bug (ours or its): still a malformed reading, marked ``internal``, so
    that the caller can tell the harness's failure from the server's.
    """
    size = f"{MALFORMED} ({len(data)} bytes)"
    try:
        return _read(query, data, rdtype)
    except dns.exception.DNSException as exc:
        return Reading(None, f"{size}: {_said(exc) or type(exc).__name__}")
    except Exception as exc:
        reason = f"{size}: internal decoder error: {type(exc).__name__}: {_said(exc)}"
        return Reading(None, reason, internal=True)


def _said(exc: Exception) -> str:
    """An exception's words on one line (dnspython's own messages span several)."""
    return " ".join(str(exc).split())


def _read(query: dns.message.Message, data: bytes, rdtype: str) -> Reading:
    reply = dns.message.from_wire(data)
    if not query.is_response(reply):
        return Reading(None, "reply does not match the query (id or question)")
    want = dns.rdatatype.from_text(rdtype)
    return Reading(
        dns.rcode.to_text(reply.rcode()),
        None,
        tuple(line for rrset in reply.answer for line in rrset.to_text().splitlines()),
        tuple(rd.to_text() for rrset in reply.answer if rrset.rdtype == want for rd in rrset),
        bool(reply.flags & dns.flags.TC),
    )


def _sockaddr(server: str) -> tuple[int, tuple[str, int] | tuple[str, int, int, int]]:
    """Family and socket address of ``server``; a %zone is resolved where the socket lives."""
    address, _, zone = server.partition("%")
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return socket.AF_INET, (address, PORT)
    scope = 0
    if zone:
        scope = int(zone) if zone.isdigit() else socket.if_nametoindex(zone)
    return socket.AF_INET6, (address, PORT, 0, scope)


def why(exc: OSError) -> str:
    reasons = {
        errno.ECONNREFUSED: "refused (port unreachable, or TCP reset)",
        errno.ENETUNREACH: "network unreachable (no route)",
        errno.EHOSTUNREACH: "host unreachable",
        errno.EADDRNOTAVAIL: "no usable source address",
        errno.ECONNRESET: "connection reset",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


async def _exchange_udp(
    sock: socket.socket, wire: bytes, query: dns.message.Message, timeout: float, sent: list[int]
) -> bytes:
    """Send the query, again each ``timeout / UDP_SENDS`` without a reply (the same message:
    a reply to either is the answer); ``sent`` counts the sends."""
    loop = asyncio.get_running_loop()
    while True:
        await loop.sock_sendall(sock, wire)  # connected: replies from elsewhere never reach us
        sent[0] += 1
        again = timeout / UDP_SENDS if sent[0] < UDP_SENDS else None
        try:
            async with asyncio.timeout(again):
                return await _udp_reply(sock, query)
        except TimeoutError:
            continue  # the caller's deadline, not this one, ends the exchange


async def _udp_reply(sock: socket.socket, query: dns.message.Message) -> bytes:
    loop = asyncio.get_running_loop()
    while True:
        data = await loop.sock_recv(sock, MAX_UDP)
        try:
            if query.is_response(dns.message.from_wire(data, question_only=True)):
                return data
        except Exception:  # dnspython's own, or anything: the caller reads it and says why
            return data
        # a stray reply to another query id: keep waiting within the deadline


async def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    loop = asyncio.get_running_loop()
    buf = b""
    while len(buf) < n:
        chunk = await loop.sock_recv(sock, n - len(buf))
        if not chunk:
            raise ConnectionResetError(errno.ECONNRESET, "closed mid-reply")
        buf += chunk
    return buf


async def _exchange_tcp(sock: socket.socket, wire: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, struct.pack("!H", len(wire)) + wire)
    (length,) = struct.unpack("!H", await _recv_exactly(sock, 2))
    return await _recv_exactly(sock, length)


async def query(
    netns: Netns,
    server: str,
    qname: str,
    rdtype: str = "AAAA",
    *,
    transport: Transport = "udp",
    timeout: float = 1.0,
    pad: int = 0,
    edns: bool = False,
) -> DnsResult:
    """Ask ``server`` for ``qname``/``rdtype`` from inside ``netns``; never raises for the network
    or the server (a malformed reply is a result saying so), only :class:`ProbeError` when the
    harness itself broke reading a reply.

    Asked as the C library's stub resolver asks (we stand in for an application's lookup):
    recursion desired, and no EDNS unless ``edns`` (glibc sends an OPT record only with
    ``options edns0`` in resolv.conf, musl never), so a server or a middlebox that mishandles
    EDNS serves the probe as it serves applications. With ``edns``: EDNS0 with a 1232-byte
    buffer (the DNS flag day 2020 size). ``pad``: the query is padded (EDNS(0) Padding, RFC
    7830, so with EDNS) to a multiple of that many bytes, so that it takes several full-size
    TCP segments (the path MTU checks' large exchange, no application's lookup).
    """
    started = time.monotonic()
    if edns or pad:
        q = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232, pad=pad)
    else:
        q = dns.message.make_query(qname, rdtype, use_edns=False)
    wire = q.to_wire(max_size=65535)  # not the EDNS payload: it bounds replies, not queries

    sent = [0]

    def result(rcode: str | None, error: str | None, reading: Reading | None = None) -> DnsResult:
        elapsed = (time.monotonic() - started) * 1000
        answer, addresses, truncated = (
            (reading.answer, reading.addresses, reading.truncated) if reading else ((), (), False)
        )
        sends = max(sent[0], 1)
        return DnsResult(
            server,
            transport,
            qname,
            rdtype,
            rcode,
            answer,
            addresses,
            elapsed,
            error,
            truncated,
            sends,
        )

    def open_socket() -> tuple[socket.socket, tuple[str, int] | tuple[str, int, int, int]]:
        family, addr = _sockaddr(server)  # in the namespace: a %zone names its interface
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        sock = socket.socket(family, kind)
        sock.setblocking(False)
        return sock, addr

    try:
        sock, addr = await netns.run(open_socket)
    except (OSError, ValueError) as exc:
        return result(None, f"cannot ask {server}: {exc}")
    loop = asyncio.get_running_loop()
    with sock:
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, addr)
                if transport == "udp":
                    data = await _exchange_udp(sock, wire, q, timeout, sent)
                else:
                    data = await _exchange_tcp(sock, wire)
        except TimeoutError:
            return result(None, "timed out")
        except OSError as exc:
            return result(None, why(exc))
    reading = read_reply(q, data, rdtype)
    if reading.internal:  # no verdict on the server: the harness could not read its reply
        raise ProbeError(f"DNS reply from {server} to {qname} {rdtype}", reading.error or "")
    left = timeout - (time.monotonic() - started)
    if transport == "udp" and reading.truncated and not pad and left > 0:
        # a truncated answer is asked again over TCP, as the C library does (RFC 7766): without
        # EDNS, 512 bytes hold only a dozen or so AAAA records
        return await query(netns, server, qname, rdtype, transport="tcp", timeout=left, edns=edns)
    return result(reading.rcode, reading.error, reading)
