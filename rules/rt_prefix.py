"""RT-03's rule: is the container prefix routed to this host? Judged, from what the uplink saw.

On a routed (not masqueraded) network, replies to a container come back to the container's own
address. If the upstream router has a route for the container prefix via this host, it forwards
them here. If it treats the prefix as on-link (the provider hands out one /64 on the uplink), it
asks for each container address with a Neighbor Solicitation on the uplink instead, and only an ND
proxy on the host (the kernel's proxy table, or a daemon such as ndppd) answers those. An NS for a
container address that the host leaves unanswered is therefore the proof that the prefix is not
routed here; an answered NS, or traffic for a container address arriving from the link, is the
proof that it reaches this host. Judged by the wire: the proxy configuration is evidence, not the
verdict. With nothing for the containers on the wire at all there is nothing to judge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from probes import icmp6
from probes.capture import Frame
from probes.ndproxy import ProxyState
from rules.judgement import Fix, Judgement, failed, not_observed, passed

MAX_EVIDENCE_FRAMES = 30


@dataclass(frozen=True, slots=True)
class Solicitation:
    """The first NS from the link for one container address, and the host's answer if any."""

    ns: Frame
    target: str
    answer: Frame | None  # the NA this host sent for the target, after the NS

    @property
    def answered(self) -> bool:
        return self.answer is not None


def _key(addr: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(addr.split("%")[0])


def solicitations(frames: Sequence[Frame], addresses: Sequence[str]) -> tuple[Solicitation, ...]:
    """Per container address: the first NS received for it, answered or not (RFC 4861 7.2.4)."""
    wanted = {_key(a) for a in addresses}
    found: dict[ipaddress.IPv6Address, Solicitation] = {}
    for frame in frames:
        m = frame.message
        if frame.outgoing or not isinstance(m, icmp6.NeighborSolicit):
            continue
        target = _key(m.target)
        if target not in wanted or target in found:
            continue
        if frame.hop_limit != 255:
            continue  # not a valid NS (RFC 4861 7.1.1): no router sent it on this link
        answer = next(
            (
                f
                for f in frames
                if f.outgoing
                and f.at >= frame.at
                and isinstance(f.message, icmp6.NeighborAdvert)
                and _key(f.message.target) == target
            ),
            None,
        )
        found[target] = Solicitation(frame, str(target), answer)
    return tuple(found.values())


def _on_link(subnet: str, uplink_prefixes: Sequence[str]) -> str | None:
    """The uplink prefix that contains ``subnet``, if any: the upstream will treat it as on-link."""
    net = ipaddress.IPv6Network(subnet, strict=False)
    for prefix in uplink_prefixes:
        if net.subnet_of(ipaddress.IPv6Network(prefix, strict=False)):
            return prefix
    return None


def _nd_lines(frames: Sequence[Frame], addresses: Sequence[str], since: float) -> list[str]:
    wanted = {_key(a) for a in addresses}
    lines = [
        f.describe(since)
        for f in frames
        if isinstance(f.message, icmp6.NeighborSolicit | icmp6.NeighborAdvert)
        and _key(f.message.target) in wanted
    ]
    if len(lines) > MAX_EVIDENCE_FRAMES:
        lines = [*lines[:MAX_EVIDENCE_FRAMES], f"… {len(lines) - MAX_EVIDENCE_FRAMES} more"]
    return lines


def judge_prefix(
    *,
    addresses: Sequence[str],
    subnet: str,
    frames: Sequence[Frame],
    since: float,
    uplink: str,
    uplink_addresses: Sequence[str],
    uplink_prefixes: Sequence[str],
    proxy: ProxyState,
) -> Judgement:
    """Judge one network's container addresses against what the uplink saw and the ND proxy.

    ``frames``: ICMPv6 on the uplink while traffic to and from the containers ran;
    ``uplink_addresses``: the host's global addresses there, the next hop a route should name;
    ``uplink_prefixes``: the uplink's on-link prefixes.
    """
    host = ", ".join(uplink_addresses) or f"this host's address on {uplink}"
    seen = solicitations(frames, addresses)
    on_link = _on_link(subnet, uplink_prefixes)
    evidence = [
        f"container addresses: {', '.join(addresses)} (network {subnet})",
        f"{uplink} prefixes: {', '.join(uplink_prefixes) or '(none)'}"
        + (
            f"; {subnet} lies inside {on_link}, so the upstream sees it as on-link"
            if on_link
            else ""
        ),
        *proxy.lines(),
        f"Neighbor Discovery for container addresses seen on {uplink} "
        f"(of {len(frames)} ICMPv6 packets captured):",
    ]
    evidence += [f"  {line}" for line in _nd_lines(frames, addresses, since)] or ["  (none)"]
    proxy_fix = (
        f"or answer for them with ND proxy: sysctl -w net.ipv6.conf.all.proxy_ndp=1 and "
        f"`ip -6 neigh add proxy ADDRESS dev {uplink}` for every container address"
    )
    unanswered = [s for s in seen if not s.answered]
    # the commands are the upstream router's (a Linux router's words), toward the host's first
    # global address on the uplink: the next hop it already reaches on-link
    fix = Fix(
        f"route {subnet} to {host} on the upstream router, {proxy_fix}",
        commands=tuple(f"ip -6 route replace {subnet} via {a}" for a in uplink_addresses[:1]),
        where="upstream router",
    )
    config = _proxy_problem(addresses, uplink, proxy) if on_link and proxy.in_use else None
    if unanswered:
        first = unanswered[0]
        missing = proxy.missing([s.target for s in unanswered])
        why = (
            f"ND proxy is on but has no entry for {', '.join(missing)}"
            if proxy.enabled and missing
            else config or "the prefix is not routed here"
        )
        return failed(
            f"upstream router {first.ns.src} sent NS for {first.target}"
            + (f" (and {len(unanswered) - 1} more)" if len(unanswered) > 1 else "")
            + f"; no NA from this host: {why}; route it to {host} or add ND proxy entries",
            evidence,
            hop="upstream",
            fix=fix,
        )
    wanted = {_key(a) for a in addresses}
    arrived = [f for f in frames if not f.outgoing and _key(f.dst) in wanted]
    left = [f for f in frames if f.outgoing and _key(f.src) in wanted]
    # a pass on the wire keeps what the proxy configuration says, as a note
    noted = tuple(evidence + ([f"note: {config}"] if config else []))
    if seen:
        by = (
            "the kernel's ND proxy"
            if proxy.enabled and not proxy.missing([s.target for s in seen])
            else "this host (not from the kernel's proxy table: an ND proxy daemon such as "
            "ndppd, or the addresses are on the uplink itself)"
        )
        slowest = max((s.answer.at - s.ns.at) * 1000 for s in seen if s.answer is not None)
        return passed(
            f"every NS from the upstream for {len(seen)} container address(es) of {subnet} was "
            f"answered on {uplink} by {by}, within {slowest:.1f} ms",
            noted,
        )
    if arrived:
        first_in = arrived[0]
        return passed(
            f"traffic for container address {first_in.dst} arrived from the upstream on "
            f"{uplink} ({first_in.describe(since)}): {subnet} is routed to this host",
            noted,
        )
    if left:
        return failed(
            f"{len(left)} packet(s) from container addresses of {subnet} left on {uplink}, and "
            "nothing addressed to them came back from the upstream (no reply, no Neighbor "
            f"Solicitation): the prefix is not routed to {host}, or the upstream drops what "
            "comes back" + (f"; {config}" if config else ""),
            evidence,
            hop="upstream",
            fix=fix,
        )
    return not_observed(
        f"nothing from or for the container addresses of {subnet} crossed {uplink} while the "
        "echoes ran (the host did not send them out: see RT-01, RT-04), so whether the prefix "
        "is routed here could not be seen" + (f"; {config}" if config else ""),
        evidence,
    )


def _proxy_problem(addresses: Sequence[str], uplink: str, proxy: ProxyState) -> str | None:
    """What keeps the kernel's ND proxy from answering for ``addresses``, if anything."""
    missing = proxy.missing(addresses)
    if missing:
        return f"no proxy entry on {uplink} for {', '.join(missing)}"
    if not proxy.enabled:
        return f"proxy entries exist on {uplink} but proxy_ndp is 0 (all and {uplink})"
    return None


def uplink_view(
    addresses: Sequence[tuple[str, int]], routes: Mapping[str, str | None]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The uplink's global addresses and on-link prefixes, from (address, prefixlen) pairs and
    its routes (dst → gateway, None for a connected one)."""
    globals_ = tuple(a for a, _ in addresses if not _key(a).is_link_local)
    prefixes = {
        str(ipaddress.IPv6Network(f"{a}/{n}", strict=False))
        for a, n in addresses
        if not _key(a).is_link_local
    }
    prefixes |= {
        str(ipaddress.IPv6Network(dst, strict=False))
        for dst, gw in routes.items()
        if gw is None and dst != "default" and not ipaddress.IPv6Network(dst).is_link_local
    }
    return globals_, tuple(sorted(prefixes))
