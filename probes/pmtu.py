"""Path MTU discovery as a container meets it (RFC 8201).

IPv6 routers never fragment: a packet larger than the next link's MTU is dropped and the router
sends the source an ICMPv6 Packet Too Big with that MTU (RFC 4443 §3.2); the source's kernel keeps
the smaller MTU for that destination and sends smaller packets from then on. Where a firewall
drops the Packet Too Big, small packets pass and large ones vanish: the black hole.

:func:`discover` sends, from a namespace, an echo request as large as its link allows and that
may not be fragmented; reads what came of it (the reply, a Packet Too Big, another error, or
nothing), what the kernel's route cache then holds toward the destination, and then an echo
twice the link's size, which the kernel must fragment at the MTU it holds, to see fragmented
datagrams get through. A small echo goes out beside it, so "the path does not work at all"
is never taken for a black hole.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from probes import icmp6
from probes.errors import NetnsError
from probes.netns import Netns

FRAGMENT_ROUNDS = 4  # datagrams sent again after a Packet Too Big for their fragments
HEADERS = 48  # IPv6 (40) and ICMPv6 echo (8) headers
MIN_MTU = 1280  # IPv6's minimum link MTU (RFC 8200 §5)
First = Literal["answered", "too-big", "error", "silent", "refused"]
# what the full-size packets showed: first, too_big, error, learned_mtu, after, after_too_big,
# fragmented_size, then narrowed, last, last_size, last_seq (PathMtu's fields of those names)
Found = tuple[
    First, "TooBig | None", str | None, int | None, bool | None, "TooBig | None", int | None,
    "tuple[TooBig, ...]", First, int, int,
]  # fmt: skip


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
    after: bool | None  # a datagram of twice the link's size, fragmented by the container's
    # kernel (at the MTU it learnt): answered? None: not sent (the path already failed)
    after_too_big: TooBig | None  # a Packet Too Big for that fragmented datagram
    fragmented_size: int | None  # its size (None: not sent)
    small: icmp6.EchoResult  # a small echo at the same time: does the path work at all?
    evidence: tuple[str, ...]
    # over several narrower hops: every Packet Too Big the full-size packets drew, in order
    # (the first is ``too_big``), each sent again at the MTU the kernel took from it
    narrowed: tuple[TooBig, ...] = ()
    last: First | None = None  # what came of the last of them (None: the first was the last)
    last_size: int | None = None  # its size
    last_seq: int = 1  # its echo sequence number (finds it in an uplink capture)

    @property
    def final(self) -> First:
        """What came of the last full-size packet sent (the first, where no hop narrowed)."""
        return self.last if self.last is not None else self.first


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
    except NetlinkError as exc:
        if exc.code in icmp6.REFUSED_LOCALLY:  # no route toward it: nothing held either
            return None
        raise NetnsError(str(netns), f"route lookup for {dst} failed: {exc}") from exc
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
    """Probe path MTU discovery from ``netns`` toward ``dst``, as the kernel does it for an
    application over a path of several narrower hops: each Packet Too Big the kernel takes
    lowers the MTU it holds, and the next packet is sent at that size, until one is answered
    (or vanishes, or nothing narrower is said); then the fragmented datagram, in rounds the
    same way. One deadline for all of it: ``timeout`` for the full-size packets, as many more
    for the fragmented ones (a round answered or narrowed takes a round trip, not a wait); the
    small echo beside it has ``timeout``."""
    size = max(link_mtu, MIN_MTU)
    deadline = time.monotonic() + 2 * timeout
    async with asyncio.TaskGroup() as tg:
        small = tg.create_task(icmp6.echo(netns, dst, source=source, timeout=timeout, count=2))
        large = tg.create_task(_full_size(netns, dst, size, source, timeout, deadline))
    found, ident, evidence = large.result()
    return PathMtu(dst, source, size, ident, *found[:7], small.result(), evidence, *found[7:])


def _ours(ident: int, seq: int) -> Callable[[icmp6.Received], bool]:
    def wanted(got: icmp6.Received) -> bool:
        m = got.message
        if isinstance(m, icmp6.Echo):
            return m.type == icmp6.ECHO_REPLY and m.ident == ident and m.seq == seq
        return isinstance(m, icmp6.Icmp6Error) and (
            m.invoking_echo is not None
            and m.invoking_echo.ident == ident
            and m.invoking_echo.seq == seq
        )

    return wanted


async def _unfragmented(
    raw: icmp6.RawIcmp6, dst: str, ident: int, seq: int, size: int, until: float
) -> tuple[First, TooBig | None, str | None, str]:
    """One echo of ``size`` bytes that may not be fragmented: what came of it, the Packet Too
    Big it drew, the error, and the evidence line."""
    sent = time.monotonic()
    try:
        raw.send(icmp6.encode_echo_request(ident, seq, bytes(size - HEADERS)), dst)
    except OSError as exc:
        if exc.errno == errno.EMSGSIZE:
            error = "the kernel already holds a smaller path MTU toward it"
            return "refused", None, error, f"{size}-byte echo request (seq {seq}): {error}"
        # the kernel's own no (no route, a local firewall), or any other errno
        error = f"not sent: {os.strerror(exc.errno or 0).lower()}"
        return "error", None, error, f"{size}-byte echo request to {dst} (seq {seq}): {error}"
    got = await raw.receive_matching(until, _ours(ident, seq))
    head = f"sent a {size}-byte echo request (seq {seq}), do not fragment: "
    if got is None:
        waited = max(until - sent, 0) * 1000
        return "silent", None, None, f"{head}no reply and no Packet Too Big within {waited:.0f} ms"
    m = got.message
    waited = (got.at - sent) * 1000
    if isinstance(m, icmp6.Echo):
        return "answered", None, None, f"{head}echo reply from {got.source} in {waited:.1f} ms"
    if isinstance(m, icmp6.Icmp6Error) and m.type == icmp6.PACKET_TOO_BIG:
        too_big = TooBig(got.source, m.mtu or 0)
        return "too-big", too_big, None, f"{head}{too_big.text()} after {waited:.1f} ms"
    error = f"{m.describe()} from {got.source}" if isinstance(m, icmp6.Icmp6Error) else "?"
    return "error", None, error, f"{head}received {error}"


async def _full_size(
    netns: Netns, dst: str, size: int, source: str | None, timeout: float, deadline: float
) -> tuple[Found, int, tuple[str, ...]]:
    ident = random.randrange(1, 0xFFFF)
    evidence = [
        f"echo requests id={ident} to {dst} from {source or 'kernel-chosen source'} in {netns}"
    ]
    async with icmp6.RawIcmp6(netns, source=source, dont_fragment=True) as raw:
        # the full-size packets: the first as large as the link allows, each next one at the
        # MTU the kernel took from the Packet Too Big before it, as an application's next
        # packet would be (a TCP segment, a datagram sent again)
        first_until = min(time.monotonic() + timeout, deadline)
        now_size, seq = size, 1
        narrowed: list[TooBig] = []
        first: First | None = None
        too_big: TooBig | None = None
        error: str | None = None
        learned: int | None = None
        while True:
            last, hop_too_big, error, line = await _unfragmented(
                raw, dst, ident, seq, now_size, first_until
            )
            evidence.append(line)
            if first is None:
                first, too_big = last, hop_too_big
            if last in ("error",):
                break
            learned = await route_mtu(netns, dst)
            evidence.append(
                f"route cache toward {dst}: "
                + (f"mtu {learned}" if learned else "no path MTU held (the link's MTU applies)")
            )
            if hop_too_big is not None:
                narrowed.append(hop_too_big)
            if last not in ("too-big", "refused") or not learned or learned >= now_size:
                break  # answered, vanished, or the kernel took nothing smaller: as it would
            if seq >= FRAGMENT_ROUNDS:
                break
            now_size, seq = learned, seq + 1
        last_size, last_seq = now_size, seq
        assert first is not None
        after: bool | None = None
        after_too_big: TooBig | None = None
        frag_size: int | None = None
        if last in ("answered", "too-big", "refused"):
            # a datagram the container's kernel must fragment, at the MTU it now holds toward
            # dst: the link's size where it learnt a smaller one (the hardest case for a host
            # that reassembles and sends on: the whole fits its own link, not the path), else
            # twice that; the reply comes back fragmented too
            frag_size = size if learned and learned < size else 2 * size
            mtu = learned or size
            raw.sock.setsockopt(socket.IPPROTO_IPV6, icmp6.IPV6_DONTFRAG, 0)
            # as an application's kernel does on a path of several narrower hops: each Packet
            # Too Big for a fragment lowers the MTU it holds, and the datagram sent again is
            # fragmented smaller, until it gets through or nothing narrower is said
            for seq in range(last_seq + 1, last_seq + 1 + FRAGMENT_ROUNDS):
                after, after_too_big = await _fragmented(
                    raw, dst, ident, seq, frag_size, mtu, deadline, _ours(ident, seq), evidence
                )
                if after_too_big is None or not after_too_big.mtu or after_too_big.mtu >= mtu:
                    break
                lower = await route_mtu(netns, dst)
                if not lower or lower >= mtu:
                    break  # the kernel did not take it: sending again would say the same
                evidence.append(f"the kernel now holds mtu {lower} toward {dst}: sent again")
                mtu = learned = lower
    found = (
        first, too_big, error, learned, after, after_too_big, frag_size,
        tuple(narrowed), last, last_size, last_seq,
    )  # fmt: skip
    return found, ident, tuple(evidence)


async def _fragmented(
    raw: icmp6.RawIcmp6,
    dst: str,
    ident: int,
    seq: int,
    size: int,
    mtu: int,
    until: float,
    wanted: Callable[[icmp6.Received], bool],
    evidence: list[str],
) -> tuple[bool | None, TooBig | None]:
    """One datagram of ``size`` bytes the kernel fragments at ``mtu``: answered (None: not
    sent), the Packet Too Big that came back for it, if one did."""
    again = time.monotonic()
    try:
        raw.send(icmp6.encode_echo_request(ident, seq, bytes(size - HEADERS)), dst)
    except OSError as exc:  # seen, not a fault: the kernel would not send it
        evidence.append(
            f"{size}-byte echo request (seq {seq}): not sent: {os.strerror(exc.errno or 0).lower()}"
        )
        return False, None
    got = await raw.receive_matching(until, wanted)
    after = got is not None and isinstance(got.message, icmp6.Echo)
    m = got.message if got is not None else None
    too_big = None
    if got is not None and isinstance(m, icmp6.Icmp6Error) and m.type == icmp6.PACKET_TOO_BIG:
        too_big = TooBig(got.source, m.mtu or 0)
    evidence.append(
        f"sent a {size}-byte echo request (seq {seq}) fragmented by the kernel at mtu {mtu}: "
        + (
            f"answered in {(got.at - again) * 1000:.1f} ms"
            if after and got is not None
            else f"{_said(got)} within {max(until - again, 0) * 1000:.0f} ms"
        )
    )
    return after, too_big


def _said(got: icmp6.Received | None) -> str:
    if got is None:
        return "no reply"
    m = got.message
    return f"{m.describe()} from {got.source}" if isinstance(m, icmp6.Icmp6Error) else "no reply"
