"""Neighbor Discovery probes: does a neighbour answer a Neighbor Solicitation?"""

from __future__ import annotations

import time
from dataclasses import dataclass

from probes import icmp6
from probes.netns import Netns


@dataclass(frozen=True, slots=True)
class SolicitResult:
    target: str
    source: str
    interface: str
    answered_ms: float | None  # None: no Neighbor Advertisement before the deadline
    advert: icmp6.NeighborAdvert | None
    evidence: tuple[str, ...]

    @property
    def answered(self) -> bool:
        return self.answered_ms is not None


async def solicit(
    netns: Netns,
    target: str,
    *,
    source: str,
    interface: str,
    source_mac: bytes | None = None,
    timeout: float = 1.0,
    count: int = 3,
) -> SolicitResult:
    """Send Neighbor Solicitations for ``target`` to its solicited-node group (RFC 4861 7.2.2).

    ``source`` must be a usable (non-tentative) address of ``interface``: a link-local one for a
    link-local target. Only an advert with hop limit 255 and our target counts (RFC 4861 7.1.2).
    """
    group = icmp6.solicited_node(target)
    evidence: list[str] = []
    message = icmp6.encode_neighbor_solicit(target, source_mac)
    async with icmp6.RawIcmp6(netns, interface=interface, source=source) as raw:
        # the neighbour's deadline starts with our socket open (see icmp6.echo)
        until = time.monotonic() + timeout

        def ours(got: icmp6.Received) -> bool:
            m = got.message
            return isinstance(m, icmp6.NeighborAdvert) and m.target == target

        first = time.monotonic()
        for n in range(count):
            raw.send(message, group)
            mac = f", source lladdr {icmp6.mac_str(source_mac)}" if source_mac else ""
            evidence.append(
                f"sent NS who-has {target} from {source} to {group} on {interface}{mac}"
            )
            slot = until if n == count - 1 else min(until, time.monotonic() + timeout / count)
            got = await raw.receive_matching(slot, ours)
            if got is None:
                continue
            advert = got.message
            assert isinstance(advert, icmp6.NeighborAdvert)
            flags = (
                "".join(
                    f
                    for f, on in (
                        ("R", advert.router),
                        ("S", advert.solicited),
                        ("O", advert.override),
                    )
                    if on
                )
                or "-"
            )
            evidence.append(
                f"got NA from {got.source}: target {advert.target} flags {flags} "
                f"tlla {advert.target_lladdr or 'none'} hop limit {got.hop_limit}"
            )
            if got.hop_limit not in (None, 255):
                evidence.append("ignored: hop limit is not 255 (RFC 4861 7.1.2)")
                continue
            return SolicitResult(
                target, source, interface, (got.at - first) * 1000, advert, tuple(evidence)
            )
    evidence.append(f"no Neighbor Advertisement within {timeout * 1000:.0f} ms")
    return SolicitResult(target, source, interface, None, None, tuple(evidence))
