"""The routed-prefix checks' survey parts: the containers' echoes with the uplink watched (RT-02,
RT-03, RT-05), the uplink's state (RT-03), the firewall's rules (RT-04, RT-06) and each
network's mode."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass

from probes import icmp6, ifaddr
from probes.capture import Frame, LinkCapture
from probes.docker import ProbeContainer
from probes.errors import HarnessError, NetnsError
from probes.firewall import (
    READ_TIMEOUT,
    FirewallUnreadable,
    Ruleset,
    read_ruleset,
)
from probes.ndproxy import ProxyState, proxy_state
from probes.netmode import Ipv6Mode, ipv6_mode
from probes.netns import Netns
from probes.netspec import NetworkSpec, network_spec
from rules.gw import in_subnets
from rules.rt_prefix import uplink_view
from suites.plugin.keys import (
    MODES,
    NETWORK_SPECS,
    REACHABILITY,
    RULESET,
    SITE_PART,
    UPLINK,
    UPLINK_STATE,
    WORKLOAD_VIEWS,
)
from suites.plugin.site import Site
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, guarded, looked_at


@dataclass(frozen=True, slots=True)
class ContainerReach:
    """Echo results of one container: to each anchor (RT-02), from the far end (RT-05)."""

    source: str | None  # the container's global address; None: it has none (GW-02)
    to_anchors: tuple[icmp6.EchoResult, ...]
    from_far_end: icmp6.EchoResult | None  # None: no far-end vantage configured


@dataclass(frozen=True, slots=True)
class Reachability:
    """Every echo of RT-02 and RT-05, and what the host's uplink saw meanwhile (RT-03)."""

    # by seat key: a network's name for its probe container, NAME@NETWORK for a workload; a
    # string says why a workload has none (it exited during the run)
    containers: dict[str, ContainerReach | str]
    uplink: str | None
    frames: tuple[Frame, ...]  # ICMPv6 on the uplink during the echoes
    capture_error: str | None  # why there is no capture, if there is none
    started: float = 0.0  # monotonic time the capture and echoes began


def _global_address(snap: ifaddr.Snapshot, container: ProbeContainer) -> str | None:
    return next(
        (
            a.address
            for a in snap.on(container.interface)
            if not a.link_local and a.usable and in_subnets(a.address, container.network.subnets6)
        ),
        None,
    )


@surveyed(REACHABILITY)
async def reachability(survey: Survey) -> Reachability:
    """All echoes for every container at once (timeouts overlap), with the uplink captured.

    The echoes toward the anchors (RT-02) start at once; only the far end's echo (RT-05) waits
    for the firewall's read, which says where it can be answered (MODES)."""
    site: Site = await survey.get(SITE_PART)
    views: WorkloadViews = await survey.get(WORKLOAD_VIEWS)
    uplink: str | None = await survey.get(UPLINK)
    profile = site.target.profile
    far_end = Netns.named(profile.far_end_namespace) if profile.far_end_namespace else None
    seats = looked_at(site, views)

    async def from_far_end(
        far: Netns, container: ProbeContainer, source: str
    ) -> icmp6.EchoResult | None:
        """The far end's echo (RT-05), where RT-05 will judge it: not on a masqueraded network,
        where it can only go unanswered and would hold the run for its whole timeout. Each
        network's mode is the one RT-05 reads (MODES), so this waits for the firewall's read;
        the anchors' echoes do not."""
        modes: dict[str, Ipv6Mode] = await survey.get(MODES)
        mode = modes.get(container.network.name)
        if mode is not None and mode.inbound_reachable is False:
            return None
        return await icmp6.echo(far, source, timeout=profile.timeout, count=2)

    async def one(container: ProbeContainer, snap: ifaddr.Snapshot) -> ContainerReach:
        source = _global_address(snap, container)
        if source is None:
            return ContainerReach(None, (), None)
        async with asyncio.TaskGroup() as tg:
            anchors = [
                tg.create_task(
                    icmp6.echo(
                        container.netns, anchor, source=source, timeout=profile.timeout, count=2
                    )
                )
                for anchor in profile.anchors
            ]
            back = (
                tg.create_task(from_far_end(far_end, container, source))
                # RT-05 is judged on probe containers only, where they can be reached
                if far_end and not container.workload
                else None
            )
        return ContainerReach(
            source, tuple(t.result() for t in anchors), back.result() if back else None
        )

    async def everyone() -> dict[str, ContainerReach | str]:
        async with asyncio.TaskGroup() as tg:
            tasks = {
                k: tg.create_task(guarded(views, c, functools.partial(one, c, snap)))
                for k, (c, snap) in seats.items()
            }
        return {k: t.result() for k, t in tasks.items()}

    if uplink is None:
        return Reachability(await everyone(), None, (), "no uplink: no IPv6 default route")
    async with contextlib.AsyncExitStack() as stack:
        try:
            capture = await stack.enter_async_context(LinkCapture(site.target.netns, uplink))
        except NetnsError as exc:  # judge reachability all the same; RT-03 skips with why
            return Reachability(await everyone(), uplink, (), str(exc))
        found = await everyone()
    return Reachability(found, uplink, tuple(capture.frames), None, capture.started)


@dataclass(frozen=True, slots=True)
class UplinkState:
    name: str
    addresses: tuple[str, ...]  # global addresses: where a route for the prefix should point
    prefixes: tuple[str, ...]  # on-link prefixes
    proxy: ProxyState


@surveyed(UPLINK_STATE)
async def uplink_state(survey: Survey) -> UplinkState | str:
    """The uplink's addresses, on-link prefixes and ND proxy; or why it cannot be read."""
    site: Site = await survey.get(SITE_PART)
    reachability: Reachability = await survey.get(REACHABILITY)
    if reachability.uplink is None:
        return "no uplink: the host has no IPv6 default route and none was named (--uplink)"
    name = reachability.uplink
    snap = await ifaddr.snapshot(site.target.netns)
    pairs = [(a.address, a.prefixlen) for a in snap.on(name)]
    routes = {r.dst: r.gateway for r in snap.routes if r.interface == name}
    addresses, prefixes = uplink_view(pairs, routes)
    return UplinkState(name, addresses, prefixes, await proxy_state(site.target.netns, name))


@surveyed(RULESET)
async def ruleset(survey: Survey) -> Ruleset | str:
    """The host's ip6tables and nftables rules, read once; or why they cannot be read."""
    site: Site = await survey.get(SITE_PART)
    try:
        return await read_ruleset(
            site.target.netns,
            timeout=max(site.target.profile.timeout * 2, READ_TIMEOUT),
            tool_root=site.target.tool_root,
        )
    except FirewallUnreadable as exc:
        return str(exc)


@surveyed(NETWORK_SPECS)
async def network_specs(survey: Survey) -> dict[str, NetworkSpec | str]:
    """Each IPv6 network as it would have to be created again (RT-06's fix on Docker 27+), with
    the host's containers on it; or why it could not be read."""
    site: Site = await survey.get(SITE_PART)

    async def one(name: str) -> NetworkSpec | str:
        try:
            return await network_spec(site.docker, name)
        except HarnessError as exc:
            return str(exc)

    async with asyncio.TaskGroup() as tg:
        tasks = {name: tg.create_task(one(name)) for name in site.containers}
    return {name: task.result() for name, task in tasks.items()}


@surveyed(MODES)
async def modes(survey: Survey) -> dict[str, Ipv6Mode]:
    """Each IPv6 network's mode (routed, masqueraded…), from its options and the firewall,
    toward the profile's anchors; worked out once, in a thread: the walk of a large ruleset
    must not hold the event loop while the survey's probes run."""
    site: Site = await survey.get(SITE_PART)
    rules: Ruleset | str = await survey.get(RULESET)
    uplink: str | None = await survey.get(UPLINK)

    def judge() -> dict[str, Ipv6Mode]:
        return {
            c.network.name: ipv6_mode(
                c.network,
                daemon_major=site.daemon_major,
                ruleset=rules,
                uplink=uplink,
                destinations=site.target.profile.anchors,
                docker_backend=site.firewall_backend,
            )
            for c in site.containers.values()
        }

    return await asyncio.to_thread(judge)
