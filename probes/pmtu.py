"""Path MTU discovery as a container meets it (RFC 8201).

IPv6 routers never fragment: a packet larger than the next link's MTU is dropped and the router
sends the source an ICMPv6 Packet Too Big with that MTU (RFC 4443 §3.2); the source's kernel keeps
the smaller MTU for that destination and sends smaller packets from then on. Where a firewall
drops the Packet Too Big, small packets pass and large ones vanish: the black hole.

:func:`discover` sends, from a namespace, an echo request as large as its link allows and that
may not be fragmented; reads what came of it (the reply, a Packet Too Big, another error, or
nothing), what the kernel's route cache then holds toward the destination, and, where the MTU
was learnt, sends the same full-size echo again, which the kernel now fragments, to see the
large exchange complete. A small echo goes out beside it, so "the path does not work at all"
is never taken for a black hole.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import socket
import time
from dataclasses import dataclass
from typing import Literal

from pyroute2 import IPRoute

from probes import icmp6
from probes.errors import NetnsError
from probes.netns import Netns

HEADERS = 48  # IPv6 (40) and ICMPv6 echo (8) headers
MIN_MTU = 1280  # IPv6's minimum link MTU (RFC 8200 §5)
First = Literal["answered", "too-big", "error", "silent", "refused"]


@dataclass(frozen=True, slots=True)
class TooBig:
    """A Packet Too Big that came back for the probe's full-size echo."""

    router: str  # the hop that sent it
    mtu: int  # the MTU it gave

    def text(self) -> str:
        return f"Packet Too Big from {self.router} (mtu {self.mtu})"


@dataclass(frozen=True, slots=True)
class PathMtu:
    """What one full-size exchange from a namespace toward ``target`` showed."""

    target: str
    source: str | None
    link_mtu: int  # the sending interface's MTU: the size of the first, unfragmentable packet
    ident: int  # the echo identifier (finds the probe's packets in an uplink capture)
    first: First  # what came of that packet
    too_big: TooBig | None
    error: str | None  # another ICMPv6 error, or why the kernel would not send it
    learned_mtu: int | None  # the route cache's MTU toward target afterwards (None: none held)
    after: bool | None  # the full-size echo again, fragmented by the kernel: answered? None:
    # not sent (the first was answered, or nothing was learnt that would change the packet)
    small: icmp6.EchoResult  # a small echo at the same time: does the path work at all?
    evidence: tuple[str, ...]

    @property
    def completed(self) -> bool:
        """Whether a full-size exchange completed: at once, or after the MTU was learnt."""
        return self.first == "answered" or self.after is True


def _route_mtu(dst: str) -> int | None:
    with IPRoute() as ipr:
        for msg in ipr.route("get", dst=dst, family=socket.AF_INET6):
            metrics = msg.get_attr("RTA_METRICS")
            if metrics is not None and metrics.get_attr("RTAX_MTU"):
                return int(metrics.get_attr("RTAX_MTU"))
    return None


async def route_mtu(netns: Netns, dst: str) -> int | None:
    """The MTU the namespace's route toward ``dst`` carries (a learnt path MTU, or a route's
    own mtu attribute); None when it has none and the link's MTU applies."""
    try:
        return await netns.run(lambda: _route_mtu(dst))
    except OSError as exc:
        raise NetnsError(str(netns), f"route lookup for {dst} failed: {exc}") from exc


async def discover(
    netns: Netns,
    dst: str,
    *,
    link_mtu: int,
    source: str | None = None,
    timeout: float = 1.0,
) -> PathMtu:
    """Probe path MTU discovery from ``netns`` toward ``dst``: one deadline of ``timeout`` for
    the first full-size packet (and the small echo beside it), one more for the retry."""
    size = max(link_mtu, MIN_MTU)
    async with asyncio.TaskGroup() as tg:
        small = tg.create_task(icmp6.echo(netns, dst, source=source, timeout=timeout, count=2))
        large = tg.create_task(_full_size(netns, dst, size, source, timeout))
    first, too_big, error, learned, after, ident, evidence = large.result()
    return PathMtu(
        dst, source, size, ident, first, too_big, error, learned, after, small.result(), evidence
    )


async def _full_size(
    netns: Netns, dst: str, size: int, source: str | None, timeout: float
) -> tuple[First, TooBig | None, str | None, int | None, bool | None, int, tuple[str, ...]]:
    ident = random.randrange(1, 0xFFFF)
    payload = bytes(size - HEADERS)
    evidence: list[str] = []
    first: First = "silent"
    too_big: TooBig | None = None
    error: str | None = None
    async with icmp6.RawIcmp6(netns, source=source, dont_fragment=True) as raw:

        def ours(got: icmp6.Received) -> bool:
            m = got.message
            if isinstance(m, icmp6.Echo):
                return m.type == icmp6.ECHO_REPLY and m.ident == ident
            return isinstance(m, icmp6.Icmp6Error) and (
                m.invoking_echo is not None and m.invoking_echo.ident == ident
            )

        async def exchange(seq: int, until: float) -> icmp6.Received | None:
            raw.send(icmp6.encode_echo_request(ident, seq, payload), dst)
            return await raw.receive_matching(until, ours)

        sent = time.monotonic()
        try:
            got = await exchange(1, sent + timeout)
        except OSError as exc:
            got = None
            if exc.errno == errno.EMSGSIZE:
                first = "refused"
                error = "the kernel already holds a smaller path MTU toward it"
            elif exc.errno in icmp6.REFUSED_LOCALLY:
                first, error = "error", f"not sent: {os.strerror(exc.errno or 0).lower()}"
            else:
                raise
            evidence.append(f"{size}-byte echo request to {dst} (do not fragment): {error}")
        else:
            evidence.append(
                f"sent a {size}-byte echo request id={ident} to {dst} from "
                f"{source or 'kernel-chosen source'} in {netns}, do not fragment"
            )
        if got is not None:
            m = got.message
            waited = (got.at - sent) * 1000
            if isinstance(m, icmp6.Echo):
                first = "answered"
                evidence.append(f"echo reply from {got.source} in {waited:.1f} ms: no smaller hop")
            elif isinstance(m, icmp6.Icmp6Error) and m.type == icmp6.PACKET_TOO_BIG:
                first, too_big = "too-big", TooBig(got.source, m.mtu or 0)
                evidence.append(f"{too_big.text()} after {waited:.1f} ms")
            elif isinstance(m, icmp6.Icmp6Error):
                first, error = "error", f"{m.describe()} from {got.source}"
                evidence.append(f"received {error}")
        elif first == "silent":
            evidence.append(f"no reply and no Packet Too Big within {timeout * 1000:.0f} ms")
        learned = await route_mtu(netns, dst)
        evidence.append(
            f"route cache toward {dst}: "
            + (f"mtu {learned}" if learned else "no path MTU held (the link's MTU applies)")
        )
        after: bool | None = None
        if first in ("too-big", "refused") and learned:
            raw.sock.setsockopt(socket.IPPROTO_IPV6, icmp6.IPV6_DONTFRAG, 0)
            again = time.monotonic()
            got = await exchange(2, again + timeout)
            after = got is not None and isinstance(got.message, icmp6.Echo)
            evidence.append(
                f"the same {size}-byte echo again, fragmented by the kernel to mtu {learned}: "
                + (
                    f"answered in {(got.at - again) * 1000:.1f} ms"
                    if after and got is not None
                    else f"no reply within {timeout * 1000:.0f} ms"
                )
            )
    return first, too_big, error, learned, after, ident, tuple(evidence)
