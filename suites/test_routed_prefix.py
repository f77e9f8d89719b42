"""Routed-prefix checks RT-*: is the container prefix really reachable, and if not, why."""

from __future__ import annotations

import pytest

from probes.docker import NetworkInfo, ProbeContainer
from probes.firewall import (
    Drop,
    Ruleset,
    assess_forward,
    site_chain,
)
from probes.netmode import Ipv6Mode
from probes.netspec import NetworkSpec
from probes.sysctl import forwarding_state
from probes.target import Target, privileged
from reports.diagnosis import Hold
from rules.gw import in_subnets
from rules.isolation import isolated
from rules.judgement import fact
from rules.rt import (
    broken_hop,
    judge_anchors,
    judge_far_end,
    judge_firewall,
    judge_forwarding,
)
from rules.rt_mode import judge_mode
from rules.rt_prefix import judge_prefix
from rules.rt_router import judge_default_router
from suites.plugin.facts import container_path, of_container
from suites.plugin.parts.routing import ContainerReach, Reachability, UplinkState
from suites.plugin.routers import DefaultRouters
from suites.plugin.site import Site, cannot_run, find_uplink, needs_root

pytestmark = pytest.mark.routing


@pytest.mark.check("RT-01")
async def test_forwarding_and_accept_ra(
    hold: Hold, target: Target, pytestconfig: pytest.Config, default_routers: DefaultRouters
) -> None:
    """IPv6 forwarding is on; an uplink that learns its default route from RAs has accept_ra=2;
    where several routers announce a default route, the one the kernel routes by leads on."""
    if target.netns.path is not None and not privileged():
        needs_root(pytestconfig, "reading another namespace's sysctls needs setns")
    uplink, snap = await find_uplink(target)
    state = await forwarding_state(target.netns, uplink)
    defaults = [r for r in snap.default_routes() if uplink is None or r.interface == uplink]
    forwarding = judge_forwarding(
        state,
        uplink=uplink,
        default_routes=[str(r) for r in snap.default_routes()],
        default_protocols=[r.protocol for r in defaults],
    )
    hold(
        judge_default_router(
            forwarding,
            uplink=default_routers.uplink,
            adverts=default_routers.adverts,
            chosen=default_routers.chosen,
            via=default_routers.via,
            unseen=default_routers.unseen,
        )
    )


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
    hold: Hold, site: Site, reachability: Reachability, any_container: ProbeContainer
) -> None:
    """Every reachability anchor answers echo from the container's global address."""
    isolation = isolated(any_container.network, "reaching the anchors")
    if isolation is not None:
        hold(isolation)
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


@pytest.mark.check("RT-03")
async def test_prefix_routed_to_host(
    hold: Hold,
    site: Site,
    reachability: Reachability,
    uplink_state: UplinkState | str,
    ruleset: Ruleset | str,
    modes: dict[str, Ipv6Mode],
    container: ProbeContainer,
    pytestconfig: pytest.Config,
) -> None:
    """The container prefix is routed to the host, or the host proxies ND for every address."""
    mode = modes[container.network.name]
    _skip_if_masqueraded(pytestconfig, mode, ruleset, "whether the prefix is routed here")
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
    # container prefixes inside the uplink's on-link prefix are one fault: the upstream treats
    # that whole prefix as on-link, whichever network's containers it stranded
    onlink = [p for p in uplink_state.prefixes if in_subnets(source, (p,))]
    prefix = fact("prefix", onlink[0] if onlink else subnet)
    hold(verdict, breaks=[prefix, fact("path", net), fact("inbound", net)])


def _skip_if_masqueraded(
    config: pytest.Config, mode: Ipv6Mode, ruleset: Ruleset | str, what: str
) -> None:
    """A masqueraded network's containers are not reached from outside by design: asking
    {what} means nothing there (RT-06 judges whether that mode is the one intended). Where the
    firewall could not be read, whether it is masqueraded is not known: nothing is judged."""
    if mode.inbound_reachable is False:
        pytest.skip(f"{mode.summary}; so {what} does not apply (RT-06 judges the mode)")
    if mode.masqueraded is None and isinstance(ruleset, str):
        cannot_run(
            config,
            f"{what} is not judged: whether {mode.network} is masqueraded is not known, for "
            f"the firewall could not be read: {ruleset}",
        )


@pytest.mark.check("RT-04")
async def test_firewall_forwards_container_traffic(
    hold: Hold,
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
    isolation = isolated(network, "forwarding its traffic beyond the uplink")
    if isolation is not None:
        hold(isolation)
    if isinstance(ruleset, str):  # asked and not seen: the run cannot say the host is fine
        cannot_run(pytestconfig, f"the firewall could not be read: {ruleset}")
    if network.bridge is None or not network.subnets6:
        pytest.skip(f"{network.name} has no bridge or no IPv6 subnet to judge")
    mode = modes.get(network.name)
    inbound = mode is None or mode.inbound_reachable is not False
    # traffic from outside comes addressed to the containers unless the network is masqueraded
    # (then to the host's address, past the raw stage's per-container drops)
    direct = (
        None if mode is not None and mode.masqueraded is None else not (mode and mode.masqueraded)
    )
    verdict = assess_forward(
        ruleset, subnets=network.subnets6, bridges=[network.bridge], uplink=uplink,
        destinations=site.target.profile.anchors, inbound_new=inbound, direct=direct,
    )  # fmt: skip
    hold(
        judge_firewall(
            verdict,
            network=network,
            mode=mode,
            uplink=uplink,
            docker=site.docker_version,
            ip6tables_text=ruleset.ip6tables_text,
            site_chain=site_chain(ruleset, site.firewall_backend),
            backend=site.firewall_backend,
        )
    )


@pytest.mark.check("RT-06")
async def test_ipv6_mode_as_intended(
    pytestconfig: pytest.Config,
    hold: Hold,
    site: Site,
    ruleset: Ruleset | str,
    modes: dict[str, Ipv6Mode],
    network_specs: dict[str, NetworkSpec | str],
    network: NetworkInfo,
) -> None:
    """The network's IPv6 mode (routed, masqueraded…) is what the profile says the site wants."""
    mode = modes.get(network.name)
    if mode is None:
        pytest.skip(f"no probe container on {network.name}")
    wanted = site.target.profile.wanted_mode(network.name)
    judged = wanted not in (None, "any") and not (mode.internal or mode.mode == "isolated")
    if judged and isinstance(ruleset, str):  # what it could not read is no evidence
        cannot_run(pytestconfig, f"the firewall could not be read: {ruleset}")
    # unread, its fix is in words only, saying why
    spec = network_specs.get(network.name)
    hold(
        judge_mode(mode, wanted, daemon_version=site.docker_version, spec=spec),
        breaks=[fact("mode", network.name)],
    )


ECHO_IN = "inbound new ICMPv6 echo-request"


def _echo_dropped(
    ruleset: Ruleset | str,
    network: NetworkInfo,
    address: str,
    uplink: str | None,
    anchors: tuple[str, ...] | list[str],
    answered: bool,
) -> tuple[Drop, ...]:
    """The firewall's proven drops of an echo from outside to the container's own address
    (both stages), to explain RT-05's failure; nothing when it was answered or is unread."""
    if answered or isinstance(ruleset, str) or network.bridge is None:
        return ()
    verdict = assess_forward(
        ruleset, subnets=[f"{address}/128"], bridges=[network.bridge], uplink=uplink,
        destinations=anchors,
    )  # fmt: skip
    return tuple(d for d in verdict.drops if d.traffic == ECHO_IN)


@pytest.mark.check("RT-05")
async def test_far_end_reaches_container(
    hold: Hold,
    site: Site,
    reachability: Reachability,
    ruleset: Ruleset | str,
    modes: dict[str, Ipv6Mode],
    container: ProbeContainer,
    pytestconfig: pytest.Config,
) -> None:
    """The far end reaches the container's global address directly (where it is not NATed)."""
    mode = modes[container.network.name]
    _skip_if_masqueraded(pytestconfig, mode, ruleset, "reaching it from the far end")
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
            dropped_by=_echo_dropped(
                ruleset,
                container.network,
                source,
                reachability.uplink,
                site.target.profile.anchors,
                reach.from_far_end.answered,
            ),
            network=container.network,
            docker=site.docker_version,
        ),
        breaks=[fact("inbound", container.network.name)],
        needs=[*container_path(container), fact("inbound", container.network.name)],
    )
