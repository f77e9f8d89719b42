"""The DNS probe against tiny servers on this namespace's loopback: crafted replies, bad ones."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from probes import dns as dnsprobe
from probes.netns import Netns

Reply = Callable[[bytes], bytes | None]  # query wire → reply wire (None: stay silent)


def answer(aaaa: str | None = "2001:db8::80", rcode: int = dns.rcode.NOERROR) -> Reply:
    def reply(wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        r.set_rcode(rcode)
        if aaaa:
            r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "AAAA", aaaa))
        return r.to_wire()

    return reply


class Server(asyncio.DatagramProtocol):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a selector datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = self.reply(data)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


async def serve(reply: Reply) -> AsyncIterator[int]:
    """A UDP and TCP server on [::1] and one free port; yields the port."""
    loop = asyncio.get_running_loop()
    probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    probe.bind(("::1", 0))
    port = probe.getsockname()[1]
    probe.close()

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
        out = reply(await reader.readexactly(n))
        if out is not None:
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
        writer.close()

    udp, _ = await loop.create_datagram_endpoint(lambda: Server(reply), local_addr=("::1", port))
    server = await asyncio.start_server(tcp, "::1", port)
    try:
        yield port
    finally:
        udp.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def port_of(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    def use(port: int) -> None:
        monkeypatch.setattr(dnsprobe, "PORT", port)

    return use


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_an_answer_is_decoded(port_of: Callable[[int], None], transport: str) -> None:
    async for port in serve(answer()):
        port_of(port)
        r = await dnsprobe.query(Netns(), "::1", "www.example", transport=transport)  # type: ignore[arg-type]
    assert r.rcode == "NOERROR"
    assert r.addresses == ("2001:db8::80",)
    assert r.family == "IPv6"
    assert "www.example. 300 IN AAAA 2001:db8::80" in r.answer
    assert f"over IPv6 {transport.upper()}: NOERROR" in r.describe()


async def test_nxdomain_is_an_answer(port_of: Callable[[int], None]) -> None:
    async for port in serve(answer(None, dns.rcode.NXDOMAIN)):
        port_of(port)
        r = await dnsprobe.query(Netns(), "::1", "nope.example")
    assert r.answered
    assert r.rcode == "NXDOMAIN"
    assert r.addresses == ()


async def test_silence_is_a_timeout_within_the_deadline(port_of: Callable[[int], None]) -> None:
    async for port in serve(lambda _: None):
        port_of(port)
        r = await dnsprobe.query(Netns(), "::1", "www.example", timeout=0.2)
    assert not r.answered
    assert r.error == "timed out"
    assert 150 < r.elapsed_ms < 2000
    assert r.sends == dnsprobe.UDP_SENDS  # sent again at half the deadline, then given up


async def test_a_lost_datagram_is_sent_again_within_the_deadline(
    port_of: Callable[[int], None],
) -> None:
    """A stub sends a UDP query again when no reply comes: one lost datagram is not a
    nameserver that does not answer. The deadline stays the one deadline."""
    seen: list[bytes] = []

    def second_only(wire: bytes) -> bytes | None:
        seen.append(wire)
        return answer()(wire) if len(seen) == 2 else None

    async for port in serve(second_only):
        port_of(port)
        r = await dnsprobe.query(Netns(), "::1", "www.example", timeout=0.4)
    assert r.answered, r.describe()
    assert r.sends == 2
    assert seen[0] == seen[1]  # the same message again
    assert "(2 queries sent)" in r.describe()


async def test_junk_and_foreign_ids_are_not_answers(port_of: Callable[[int], None]) -> None:
    async for port in serve(lambda _: b"\x00\x01junk"):
        port_of(port)
        junk = await dnsprobe.query(Netns(), "::1", "www.example", timeout=0.5)
    assert junk.error is not None
    assert junk.error.startswith("malformed reply")

    def other_id(wire: bytes) -> bytes:
        good = answer()(wire)
        assert good is not None
        return struct.pack("!H", (struct.unpack_from("!H", good)[0] + 1) % 65536) + good[2:]

    async for port in serve(other_id):
        port_of(port)
        stray = await dnsprobe.query(Netns(), "::1", "www.example", timeout=0.3)
        over_tcp = await dnsprobe.query(Netns(), "::1", "www.example", transport="tcp", timeout=0.3)
    assert stray.error == "timed out"  # UDP: a reply to someone else's query is ignored
    assert over_tcp.error == "reply does not match the query (id or question)"


async def test_a_closed_port_is_refused(port_of: Callable[[int], None]) -> None:
    async for port in serve(answer()):
        free = port
    port_of(free)
    udp = await dnsprobe.query(Netns(), "::1", "www.example", timeout=0.5)
    tcp = await dnsprobe.query(Netns(), "::1", "www.example", transport="tcp", timeout=0.5)
    for r in (udp, tcp):
        assert r.error is not None
        assert r.error.startswith("refused")


async def test_an_unknown_zone_is_reported_not_raised() -> None:
    r = await dnsprobe.query(Netns(), "fe80::1%no-such-if0", "www.example")
    assert r.error is not None
    assert r.error.startswith("cannot ask fe80::1%no-such-if0")


async def test_the_probe_asks_as_the_c_library_does(port_of: Callable[[int], None]) -> None:
    """No EDNS unless asked (glibc sends OPT only with `options edns0`, musl never): a server
    or a middlebox that answers FORMERR to EDNS serves applications, and so the probe too."""
    seen: list[dns.message.Message] = []

    def edns_hating(wire: bytes) -> bytes:
        q = dns.message.from_wire(wire)
        seen.append(q)
        if q.edns >= 0:  # as some old middleboxes do with an OPT record
            r = dns.message.make_response(q)
            r.set_rcode(dns.rcode.FORMERR)
            return r.to_wire()
        return answer()(wire)

    async for port in serve(edns_hating):
        port_of(port)
        plain = await dnsprobe.query(Netns(), "::1", "www.example")
        with_edns = await dnsprobe.query(Netns(), "::1", "www.example", edns=True)
    assert plain.rcode == "NOERROR"
    assert plain.addresses == ("2001:db8::80",)
    assert seen[0].edns == -1
    assert seen[0].flags & dns.flags.RD
    assert with_edns.rcode == "FORMERR"


async def test_a_truncated_answer_is_asked_again_over_tcp(port_of: Callable[[int], None]) -> None:
    """As the C library does: TC over UDP, then the same question over TCP (RFC 7766)."""
    calls: list[int] = []

    def truncated_first(wire: bytes) -> bytes:
        calls.append(1)
        if len(calls) == 1:  # the UDP question: truncated, no answer
            r = dns.message.make_response(dns.message.from_wire(wire))
            r.flags |= dns.flags.TC
            return r.to_wire()
        return answer()(wire)  # the TCP one

    async for port in serve(truncated_first):
        port_of(port)
        r = await dnsprobe.query(Netns(), "::1", "www.example", timeout=1.0)
    assert r.transport == "tcp"
    assert r.rcode == "NOERROR"
    assert r.addresses == ("2001:db8::80",)
    assert len(calls) == 2
