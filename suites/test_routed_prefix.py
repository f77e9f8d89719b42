"""Routed-prefix checks RT-*: is the container prefix really reachable, and if not, why."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import pytest

from probes import icmp6, ifaddr
from probes.capture import Frame, LinkCapture
from probes.docker import NetworkInfo, ProbeContainer
from probes.errors import NetnsError
from probes.firewall import (
    Drop,
    FirewallUnreadable,
    Ruleset,
    assess_forward,
    dropped_traffic,
    drops_diagnosis,
    read_ruleset,
)
from probes.gateway import in_subnets
from probes.ndproxy import ProxyState, proxy_state
from probes.netmode import Ipv6Mode, ipv6_mode, judge_mode
from probes.netns import Netns
from probes.routed_prefix import judge_prefix, uplink_view
from probes.sysctl import accept_ra_trap, forwarding_state
from probes.target import Target, privileged
from reports.diagnosis import explain
from suites.plugin.site import Site, cannot_run, find_uplink

pytestmark = pytest.mark.routing


@pytest.mark.check("RT-01")
async def test_forwarding_and_accept_ra(target: Target, pytestconfig: pytest.Config) -> None:
    """IPv6 forwarding is on; an uplink that learns its default route from RAs has accept_ra=2."""
    if target.netns.path is not None and not privileged():
        cannot_run(pytestconfig, "not root: reading another namespace's sysctls needs setns")
    uplink, snap = await find_uplink(target)
    state = await forwarding_state(target.netns, uplink)
    defaults = [r for r in snap.default_routes() if uplink is None or r.interface == uplink]
    evidence = [*state.lines(), "IPv6 default routes:"]
    evidence += [f"  {r}" for r in snap.default_routes()] or ["  (none)"]
    assert state.forwarding == "1", explain(
        f"IPv6 forwarding is off on this host (net.ipv6.conf.all.forwarding = "
        f"{state.forwarding}): containers' packets are not routed beyond the bridge",
        evidence,
        fix="sysctl -w net.ipv6.conf.all.forwarding=1 and persist it in /etc/sysctl.d/; "
        f"then set accept_ra=2 on {uplink or 'the uplink'} if it learns its route from RAs",
    )
    if uplink is None or state.uplink_accept_ra is None:
        return  # no uplink to judge: forwarding alone is the requirement
    trap = accept_ra_trap(state, [r.protocol for r in defaults])
    assert trap is None, explain(
        trap or "",
        evidence,
        fix=f"sysctl -w net.ipv6.conf.{uplink}.accept_ra=2 (with forwarding on, 1 drops RAs) "
        "and persist it, or configure a static default route",
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

    containers: dict[str, ContainerReach]  # by network name
    uplink: str | None
    frames: tuple[Frame, ...]  # ICMPv6 on the uplink during the echoes
    capture_error: str | None  # why there is no capture, if there is none
    started: float = 0.0  # monotonic time the capture and echoes began


def _global_address(site: Site, container: ProbeContainer) -> str | None:
    snap = site.settled[container.network.name]
    return next(
        (
            a.address
            for a in snap.on(container.interface)
            if not a.link_local and a.usable and in_subnets(a.address, container.network.subnets6)
        ),
        None,
    )


@pytest.fixture(scope="session")
async def reachability(site: Site, uplink: str | None) -> Reachability:
    """All echoes for every container at once (timeouts overlap), with the uplink captured."""
    profile = site.target.profile
    far_end = Netns.named(profile.far_end_namespace) if profile.far_end_namespace else None

    async def one(container: ProbeContainer) -> ContainerReach:
        source = _global_address(site, container)
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
                if far_end
                else None
            )
        return ContainerReach(
            source, tuple(t.result() for t in anchors), back.result() if back else None
        )

    async def everyone() -> dict[str, ContainerReach]:
        async with asyncio.TaskGroup() as tg:
            tasks = {n: tg.create_task(one(c)) for n, c in site.containers.items()}
        return {n: t.result() for n, t in tasks.items()}

    if uplink is None:
        return Reachability(await everyone(), None, (), "no uplink: no IPv6 default route")
    async with contextlib.AsyncExitStack() as stack:
        try:
            capture = await stack.enter_async_context(LinkCapture(site.target.netns, uplink))
        except NetnsError as exc:  # judge reachability all the same; RT-03 skips with why
            return Reachability(await everyone(), uplink, (), str(exc))
        found = await everyone()
    return Reachability(found, uplink, tuple(capture.frames), None, capture.started)


def broken_hop(reachability: Reachability, container: str, *, outbound: bool) -> str | None:
    """Where the uplink capture says an echo stopped: the host (it never left, or its answer
    came back and went no further) or beyond the uplink (it left and nothing came back).
    ``outbound``: the container asked (RT-02); else the far end asked the container (RT-05)."""
    if reachability.capture_error is not None or reachability.uplink is None:
        return None
    seen = {
        (f.outgoing, f.message.type, f.src if f.outgoing else f.dst)
        for f in reachability.frames
        if isinstance(f.message, icmp6.Echo)
    }  # (sent by the host, echo type, the container's end)
    ask, answer = icmp6.ECHO_REQUEST, icmp6.ECHO_REPLY
    if outbound:
        left, came = (True, ask, container) in seen, (False, answer, container) in seen
        return "host" if not left or came else "upstream"
    came = (False, ask, container) in seen
    left = (True, answer, container) in seen
    return "upstream" if not came or left else "host"


def _global_source(reach: ContainerReach) -> str:
    if reach.source is None:
        pytest.skip("the container has no usable global address in its subnet (GW-02)")
    return reach.source


@pytest.mark.check("RT-02")
async def test_anchors_answer(
    site: Site, reachability: Reachability, container: ProbeContainer
) -> None:
    """Every reachability anchor answers echo from the container's global address."""
    if not site.target.profile.anchors:
        pytest.skip("the profile names no reachability anchors (anchors = [...])")
    reach = reachability.containers[container.network.name]
    source = _global_source(reach)
    silent = [r for r in reach.to_anchors if not r.answered]
    evidence = [line for r in reach.to_anchors for line in (f"[{r.target}]", *r.evidence)]
    evidence += [f"[uplink {reachability.uplink}]"] + [
        f.describe(reachability.started) for f in reachability.frames
    ]
    why = "; ".join(f"{r.target}: {r.error or 'no reply'}" for r in silent)
    assert not silent, explain(
        f"from {source} (container {container.name}) {len(silent)} of "
        f"{len(reach.to_anchors)} anchors did not answer: {why}",
        evidence,
        fix="see RT-01 (forwarding), RT-03 (is the prefix routed to this host?) and RT-04 "
        "(firewall)",
        hop=broken_hop(reachability, source, outbound=True),
    )


@dataclass(frozen=True, slots=True)
class UplinkState:
    name: str
    addresses: tuple[str, ...]  # global addresses: where a route for the prefix should point
    prefixes: tuple[str, ...]  # on-link prefixes
    proxy: ProxyState


@pytest.fixture(scope="session")
async def uplink_state(site: Site, reachability: Reachability) -> UplinkState | str:
    """The uplink's addresses, on-link prefixes and ND proxy; or why it cannot be read."""
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
    reach = reachability.containers[container.network.name]
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
    if verdict.outcome == "not-observed":
        pytest.skip(verdict.diagnosis)
    assert verdict.ok, explain(verdict.diagnosis, verdict.evidence, fix=verdict.fix)


@pytest.fixture(scope="session")
async def ruleset(site: Site) -> Ruleset | str:
    """The host's ip6tables and nftables rules, read once; or why they cannot be read."""
    try:
        return await read_ruleset(site.target.netns, timeout=site.target.profile.timeout * 2)
    except FirewallUnreadable as exc:
        return str(exc)


@pytest.fixture(scope="session")
def modes(site: Site, ruleset: Ruleset | str, uplink: str | None) -> dict[str, Ipv6Mode]:
    """Each IPv6 network's mode (routed, masqueraded…), from its options and the firewall."""
    return {
        c.network.name: ipv6_mode(
            c.network, daemon_major=site.daemon_major, ruleset=ruleset, uplink=uplink
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
        inbound_new=inbound,
    )  # fmt: skip
    evidence = [*(mode.evidence() if mode else ()), "modelled packets (one per traffic class):"]
    evidence += [f"  {p}" for p in verdict.packets]
    evidence += [f"not modelled: {why}" for why in verdict.left_out]
    evidence += [f"read: {what}" for what in verdict.problems + verdict.skipped]
    evidence += [f"not evaluated: {u}" for u in verdict.uncertain]
    if verdict.drops and ruleset.ip6tables_text:
        lines = ruleset.ip6tables_text.splitlines()
        evidence += ["ip6tables-save (as read):", *(f"  {line}" for line in lines[:60])]
    if verdict.drops:
        on = f"{network.name} ({', '.join(network.subnets6)})"
        assert not verdict.drops, explain(
            drops_diagnosis(verdict.drops, on),
            [d.describe() for d in verdict.drops] + evidence,
            fix=forward_fix(verdict.drops, network, uplink, site.docker_version),
        )
    if verdict.doubtful:
        pytest.skip("cannot decide: " + "; ".join(d.describe() for d in verdict.doubtful[:3]))


def forward_fix(
    drops: tuple[Drop, ...], network: NetworkInfo, uplink: str | None, docker: str
) -> str:
    """What to change for each traffic class dropped, never wider than that traffic: no rule
    that accepts every new connection to the bridge (it would open every container port)."""
    bridge, up = network.bridge, uplink or "UPLINK"
    first = drops[0]
    source = first.source

    def accept(ipt: str, nft: str) -> str:
        """One ACCEPT, in the tool and the place that can let the packet past the drop: an
        nftables drop is final whatever another table accepts, so its own chain, first."""
        if source == "ip6tables":
            return f"`ip6tables -I DOCKER-USER {ipt} -j ACCEPT`"
        return f"`nft insert rule {first.table} {first.chain} {nft} accept`"

    classes = dropped_traffic(drops)
    dropped = {" ".join(c.split()[:2]) for c in classes}  # "outbound new", "inbound related"…
    fixes = []
    by_rule = {(d.source, d.table, d.chain, d.rule): d for d in drops}  # one line per rule
    for rule in (d for d in by_rule.values() if not d.is_policy and not d.by_docker):
        fixes.append(
            f"`{rule.rule}` ({rule.source} {rule.table} {rule.chain}) is not Docker's: delete "
            f"it if it is not meant to drop this traffic ({rule.removal()}) or narrow it; an "
            "ACCEPT met after it cannot undo it"
        )
    if "outbound new" in dropped:
        fixes.append(
            "let the containers' own connections out: "
            + accept(f"-i {bridge} -o {up}", f'iifname "{bridge}" oifname "{up}"')
        )
    if "inbound established" in dropped:
        also = " (RELATED: the ICMPv6 errors for them too)" if "inbound related" in dropped else ""
        fixes.append(
            "let their replies back: "
            + accept(
                f"-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED",
                f'oifname "{bridge}" ct state established,related',
            )
            + also
        )
    elif "inbound related" in dropped:
        errors = [c.split()[-1] for c in classes if c.startswith("inbound related ICMPv6 ")]
        accepts = " and ".join(
            accept(
                f"-o {bridge} -p ipv6-icmp --icmpv6-type {name} -m conntrack --ctstate RELATED",
                f'oifname "{bridge}" icmpv6 type {name} ct state related',
            )
            for name in errors
        )
        fixes.append(
            "let the ICMPv6 errors for their traffic back, only those (RFC 4890 4.3.1: a "
            "firewall must not drop them; without packet-too-big, path MTU discovery breaks): "
            f"{accepts}"
        )
    if "inbound new" in dropped:
        fixes.append(
            "for connections from outside, open only what the site serves: on Docker 27 and "
            "later put the network in routed mode (`docker network create -o "
            "com.docker.network.bridge.gateway_mode_ipv6=routed …`: ICMPv6 and published ports "
            "only) and publish the service ports (`-p`); with Docker 26 or older, or ip6tables "
            "off, accept ICMPv6 ("
            + accept(
                f"-i {up} -o {bridge} -p ipv6-icmp",
                f'iifname "{up}" oifname "{bridge}" meta l4proto ipv6-icmp',
            )
            + ") and each service port (`-p tcp --dport PORT`), not all traffic"
        )
    where = f"Docker {docker}" if docker else "this Docker"
    if source == "ip6tables":
        tail = (
            f" (rules in DOCKER-USER survive Docker restarts; {where}: Docker makes that chain "
            "where it manages ip6tables, elsewhere use FORWARD)"
        )
    else:
        tail = f" (in the nftables chain that drops it, before the drop; {where})"
    return "; ".join(fixes) + tail + "; then persist the rule set"


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
        verdict.reason, list(verdict.evidence), fix=verdict.fix
    )


@pytest.mark.check("RT-05")
async def test_far_end_reaches_container(
    site: Site, reachability: Reachability, modes: dict[str, Ipv6Mode], container: ProbeContainer
) -> None:
    """The far end reaches the container's global address directly (where it is not NATed)."""
    _skip_if_masqueraded(modes[container.network.name], "reaching it from the far end")
    reach = reachability.containers[container.network.name]
    source = _global_source(reach)
    if reach.from_far_end is None:
        pytest.skip(
            "no far-end vantage: set far_end_namespace in the profile to test "
            "reachability from outside"
        )
    result = reach.from_far_end
    assert result.answered, explain(
        f"the far end ({site.target.profile.far_end_namespace}) cannot reach container "
        f"{container.name} at {source}: {result.error or 'no reply'}",
        result.evidence,
        fix="the container prefix must be routed to this host (or ND-proxied on the uplink): "
        "see RT-03; and forwarded by it: RT-01, RT-04",
        hop=broken_hop(reachability, source, outbound=False),
    )
