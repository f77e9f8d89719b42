"""Routed-prefix checks RT-*: is the container prefix really reachable, and if not, why."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass

import pytest

from probes import icmp6, ifaddr
from probes.capture import Frame, LinkCapture
from probes.docker import NetworkInfo, ProbeContainer
from probes.errors import NetnsError
from probes.firewall import (
    FirewallUnreadable,
    Ruleset,
    assess_forward,
    read_ruleset,
)
from probes.gateway import in_subnets
from probes.judgement import Judgement, fact
from probes.ndproxy import ProxyState, proxy_state
from probes.netmode import Ipv6Mode, ipv6_mode, judge_mode
from probes.netns import Netns
from probes.routed_prefix import judge_prefix, uplink_view
from probes.routing_rules import (
    broken_hop,
    judge_anchors,
    judge_far_end,
    judge_firewall,
    judge_forwarding,
)
from probes.sysctl import forwarding_state
from probes.target import Target, privileged
from reports.diagnosis import explain
from suites.plugin.facts import container_path, of_container
from suites.plugin.site import Site, cannot_run, find_uplink, hold
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, guarded, looked_at

pytestmark = pytest.mark.routing


@pytest.mark.check("RT-01")
async def test_forwarding_and_accept_ra(target: Target, pytestconfig: pytest.Config) -> None:
    """IPv6 forwarding is on; an uplink that learns its default route from RAs has accept_ra=2."""
    if target.netns.path is not None and not privileged():
        cannot_run(pytestconfig, "not root: reading another namespace's sysctls needs setns")
    uplink, snap = await find_uplink(target)
    state = await forwarding_state(target.netns, uplink)
    defaults = [r for r in snap.default_routes() if uplink is None or r.interface == uplink]
    hold(
        judge_forwarding(
            state,
            uplink=uplink,
            default_routes=[str(r) for r in snap.default_routes()],
            default_protocols=[r.protocol for r in defaults],
        )
    )


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


@surveyed
async def reachability(survey: Survey) -> Reachability:
    """All echoes for every container at once (timeouts overlap), with the uplink captured."""
    site: Site = await survey.get("site")
    views: WorkloadViews = await survey.get("workload_views")
    uplink: str | None = await survey.get("uplink")
    profile = site.target.profile
    far_end = Netns.named(profile.far_end_namespace) if profile.far_end_namespace else None
    rules: Ruleset | str = await survey.get("ruleset")

    def reached_from_outside(container: ProbeContainer) -> bool:
        """Whether RT-05 will judge the far end's echo: not on a masqueraded network, where it
        can only go unanswered and would hold the run for its whole timeout."""
        mode = ipv6_mode(
            container.network, daemon_major=site.daemon_major, ruleset=rules, uplink=uplink
        )
        return mode.inbound_reachable is not False

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
                tg.create_task(icmp6.echo(far_end, source, timeout=profile.timeout, count=2))
                # RT-05 is judged on probe containers only, where they can be reached
                if far_end and not container.workload and reached_from_outside(container)
                else None
            )
        return ContainerReach(
            source, tuple(t.result() for t in anchors), back.result() if back else None
        )

    async def everyone() -> dict[str, ContainerReach | str]:
        async with asyncio.TaskGroup() as tg:
            tasks = {
                k: tg.create_task(guarded(views, c, functools.partial(one, c, snap)))
                for k, (c, snap) in looked_at(site, views).items()
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


def _hop(reachability: Reachability, container: str, *, outbound: bool) -> str | None:
    watched = reachability.capture_error is None and reachability.uplink is not None
    return broken_hop(reachability.frames, watched=watched, container=container, outbound=outbound)


def _reach(reachability: Reachability, container: ProbeContainer) -> ContainerReach:
    found = reachability.containers[container.key]
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _global_source(reach: ContainerReach) -> str:
    if reach.source is None:
        pytest.skip("the container has no usable global address in its subnet (GW-02)")
    return reach.source


@pytest.mark.check("RT-02")
async def test_anchors_answer(
    site: Site, reachability: Reachability, any_container: ProbeContainer
) -> None:
    """Every reachability anchor answers echo from the container's global address."""
    if not site.target.profile.anchors:
        pytest.skip("the profile names no reachability anchors (anchors = [...])")
    container = any_container
    reach = _reach(reachability, container)
    source = _global_source(reach)
    capture = [f"[uplink {reachability.uplink}]"] + [
        f.describe(reachability.started) for f in reachability.frames
    ]
    hold(
        judge_anchors(
            reach.to_anchors,
            source=source,
            container=container.name,
            capture=capture,
            hop=_hop(reachability, source, outbound=True),
        ),
        # what it saw broken is the network's path, unless something else already broke it
        breaks=[of_container("reach", container), fact("path", container.network.name)],
        needs=[*container_path(container), of_container("link", container)],
    )


@dataclass(frozen=True, slots=True)
class UplinkState:
    name: str
    addresses: tuple[str, ...]  # global addresses: where a route for the prefix should point
    prefixes: tuple[str, ...]  # on-link prefixes
    proxy: ProxyState


@surveyed
async def uplink_state(survey: Survey) -> UplinkState | str:
    """The uplink's addresses, on-link prefixes and ND proxy; or why it cannot be read."""
    site: Site = await survey.get("site")
    reachability: Reachability = await survey.get("reachability")
    if reachability.uplink is None:
        return "no uplink: the host has no IPv6 default route and none was named (--uplink)"
    name = reachability.uplink
    snap = await ifaddr.snapshot(site.target.netns)
    pairs = [(a.address, a.prefixlen) for a in snap.on(name)]
    routes = {r.dst: r.gateway for r in snap.routes if r.interface == name}
    addresses, prefixes = uplink_view(pairs, routes)
    return UplinkState(name, addresses, prefixes, await proxy_state(site.target.netns, name))


@pytest.mark.check("RT-03")
async def test_prefix_routed_to_host(
    site: Site,
    reachability: Reachability,
    uplink_state: UplinkState | str,
    modes: dict[str, Ipv6Mode],
    container: ProbeContainer,
) -> None:
    """The container prefix is routed to the host, or the host proxies ND for every address."""
    _skip_if_masqueraded(modes[container.network.name], "whether the prefix is routed here")
    reach = _reach(reachability, container)
    source = _global_source(reach)
    if isinstance(uplink_state, str):
        pytest.skip(uplink_state)
    if reachability.capture_error:
        pytest.skip(f"the uplink could not be watched: {reachability.capture_error}")
    if not reach.to_anchors and reach.from_far_end is None:
        pytest.skip(
            "no anchors and no far-end vantage: nothing made the upstream look for "
            "the containers (set anchors in the profile)"
        )
    subnet = next(s for s in container.network.subnets6 if in_subnets(source, (s,)))
    verdict = judge_prefix(
        addresses=[source],
        subnet=subnet,
        frames=reachability.frames,
        since=reachability.started,
        uplink=uplink_state.name,
        uplink_addresses=uplink_state.addresses,
        uplink_prefixes=uplink_state.prefixes,
        proxy=uplink_state.proxy,
    )
    net = container.network.name
    judged = Judgement(verdict.outcome, verdict.diagnosis, verdict.evidence, verdict.fix)
    # container prefixes inside the uplink's on-link prefix are one fault: the upstream treats
    # that whole prefix as on-link, whichever network's containers it stranded
    onlink = [p for p in uplink_state.prefixes if in_subnets(source, (p,))]
    prefix = fact("prefix", onlink[0] if onlink else subnet)
    hold(judged, breaks=[prefix, fact("path", net), fact("inbound", net)])


@surveyed
async def ruleset(survey: Survey) -> Ruleset | str:
    """The host's ip6tables and nftables rules, read once; or why they cannot be read."""
    site: Site = await survey.get("site")
    try:
        return await read_ruleset(site.target.netns, timeout=site.target.profile.timeout * 2)
    except FirewallUnreadable as exc:
        return str(exc)


@pytest.fixture(scope="session")
def modes(site: Site, ruleset: Ruleset | str, uplink: str | None) -> dict[str, Ipv6Mode]:
    """Each IPv6 network's mode (routed, masqueraded…), from its options and the firewall."""
    return {
        c.network.name: ipv6_mode(
            c.network,
            daemon_major=site.daemon_major,
            ruleset=ruleset,
            uplink=uplink,
            destinations=site.target.profile.anchors,
        )
        for c in site.containers.values()
    }


def _skip_if_masqueraded(mode: Ipv6Mode, what: str) -> None:
    """A masqueraded network's containers are not reached from outside by design: asking
    {what} means nothing there (RT-06 judges whether that mode is the one intended)."""
    if mode.inbound_reachable is False:
        pytest.skip(f"{mode.summary}; so {what} does not apply (RT-06 judges the mode)")


@pytest.mark.check("RT-04")
async def test_firewall_forwards_container_traffic(
    site: Site,
    ruleset: Ruleset | str,
    uplink: str | None,
    modes: dict[str, Ipv6Mode],
    network: NetworkInfo,
    pytestconfig: pytest.Config,
) -> None:
    """No ip6tables / nftables forward rule or policy drops the traffic the network's mode
    needs, class by class: outbound ICMPv6 echo, TCP and UDP and their replies, and the ICMPv6
    errors for them (packet too big…) always; inbound new only where it is not masqueraded."""
    if isinstance(ruleset, str):  # asked and not seen: the run cannot say the host is fine
        cannot_run(pytestconfig, f"the firewall could not be read: {ruleset}")
    if network.bridge is None or not network.subnets6:
        pytest.skip(f"{network.name} has no bridge or no IPv6 subnet to judge")
    mode = modes.get(network.name)
    inbound = mode is None or mode.inbound_reachable is not False
    verdict = assess_forward(
        ruleset, subnets=network.subnets6, bridges=[network.bridge], uplink=uplink,
        destinations=site.target.profile.anchors, inbound_new=inbound,
    )  # fmt: skip
    hold(
        judge_firewall(
            verdict,
            network=network,
            mode=mode,
            uplink=uplink,
            docker=site.docker_version,
            ip6tables_text=ruleset.ip6tables_text,
        )
    )


@pytest.mark.check("RT-06")
async def test_ipv6_mode_as_intended(
    site: Site, modes: dict[str, Ipv6Mode], network: NetworkInfo
) -> None:
    """The network's IPv6 mode (routed, masqueraded…) is what the profile says the site wants."""
    mode = modes.get(network.name)
    if mode is None:
        pytest.skip(f"no probe container on {network.name}")
    wanted = site.target.profile.wanted_mode(network.name)
    verdict = judge_mode(mode, wanted, daemon_version=site.docker_version)
    if verdict.outcome == "not-observed":
        pytest.skip(verdict.reason)
    assert verdict.outcome == "pass", explain(
        verdict.reason,
        list(verdict.evidence),
        fix=verdict.fix,
        breaks=[fact("mode", network.name)],
    )


@pytest.mark.check("RT-05")
async def test_far_end_reaches_container(
    site: Site, reachability: Reachability, modes: dict[str, Ipv6Mode], container: ProbeContainer
) -> None:
    """The far end reaches the container's global address directly (where it is not NATed)."""
    _skip_if_masqueraded(modes[container.network.name], "reaching it from the far end")
    reach = _reach(reachability, container)
    source = _global_source(reach)
    if reach.from_far_end is None:
        pytest.skip(
            "no far-end vantage: set far_end_namespace in the profile to test "
            "reachability from outside"
        )
    hold(
        judge_far_end(
            reach.from_far_end,
            far_end=str(site.target.profile.far_end_namespace),
            source=source,
            container=container.name,
            hop=_hop(reachability, source, outbound=False),
        ),
        breaks=[fact("inbound", container.network.name)],
        needs=[*container_path(container), fact("inbound", container.network.name)],
    )
