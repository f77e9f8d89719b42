"""RawIcmp6.receive on a busy host and under a flood: an answer already in the socket is read
even when the loop looks after the deadline, and a peer that never stops sending cannot hold
the probe (crafted messages on a stand-in socket)."""

from __future__ import annotations

import asyncio
import struct
import time

from probes import icmp6
from probes.netns import Netns


class _Buffered:
    """A socket whose buffer holds ``count`` echo replies (None: never empties)."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.reads = 0

    def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[object], int, tuple[str]]:
        if self.count is not None and self.reads >= self.count:
            raise BlockingIOError
        self.reads += 1
        reply = struct.pack("!BBHHH", 129, 0, 0, 7, self.reads % 65536) + b"x"
        return reply, [], 0, ("fe80::1%eth0",)

    def fileno(self) -> int:
        return -1


def _raw(sock: _Buffered) -> icmp6.RawIcmp6:
    raw = icmp6.RawIcmp6(Netns())
    raw._sock = sock  # type: ignore[assignment]
    return raw


def test_an_answer_in_the_socket_is_read_though_the_deadline_passed() -> None:
    raw = _raw(_Buffered(1))
    got = asyncio.run(raw.receive(time.monotonic() - 1))
    assert got is not None
    assert got.source == "fe80::1"
    assert isinstance(got.message, icmp6.Echo)


def test_a_flood_past_the_deadline_is_read_a_bounded_number_of_times() -> None:
    sock = _Buffered(None)
    raw = _raw(sock)
    got = asyncio.run(raw.receive_matching(time.monotonic() - 1, lambda _got: False))
    assert got is None
    assert sock.reads == icmp6.LATE_READS


def test_an_empty_socket_past_its_deadline_gives_none() -> None:
    assert asyncio.run(_raw(_Buffered(0)).receive(time.monotonic() - 1)) is None
