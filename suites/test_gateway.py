"""Gateway checks GW-01..GW-03: the containers' link-local gateway, their route, its answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from probes import icmp6, ndp
from probes.docker import NetworkInfo, ProbeContainer
from probes.gateway import (
    LINK_LOCAL_GATEWAY,
    bridge_expectation,
    container_gateway,
    find_address,
    in_subnets,
)
from reports.diagnosis import explain
from suites.plugin.site import Site

pytestmark = pytest.mark.gateway


@pytest.mark.check("GW-01")
async def test_bridge_carries_gateway(site: Site, network: NetworkInfo) -> None:
    """The network's bridge carries the expected gateway address, past DAD."""
    if network.bridge is None:
        pytest.skip(f"{network.name} has no host-side bridge interface")
    expect = bridge_expectation(site.daemon_major, network, site.target.profile)
    version = site.docker.daemon.version if site.docker.daemon else "unknown"
    # read with a probe container attached: without carrier a bridge's addresses stay tentative
    snap = site.bridges.get(network.bridge)
    if snap is None:
        pytest.skip(f"no probe container on {network.name}, so its bridge was not read")
    addresses = snap.on(network.bridge)
    evidence = [
        f"Docker daemon {version}; expected {expect.address}"
        f"{'/' + str(expect.prefixlen) if expect.prefixlen else ''} because {expect.why}",
        f"{network.bridge} in {snap.netns}:",
    ]
    evidence += [f"  {a}" for a in addresses] or ["  (no IPv6 address)"]
    if expect.note:
        evidence.append(f"note: {expect.note}")
    found = find_address(addresses, expect.address, expect.prefixlen)
    assert found is not None, explain(
        f"bridge {network.bridge} of network {network.name} lacks the gateway {expect.address}",
        evidence,
        fix=f"restore it (`ip addr add {expect.address}/{expect.prefixlen or 64} dev "
        f"{network.bridge}`) or restart dockerd so it sets the bridge up again",
    )
    assert found.usable, explain(
        f"gateway {found} on {network.bridge} is not usable: "
        f"{' '.join(f for f in found.flag_names() if f in ('tentative', 'dadfailed'))}",
        evidence,
        fix="dadfailed: another node on the bridge claims the address; remove the duplicate. "
        "tentative: the bridge has no carrier (no container attached) or DAD is still running",
    )


@pytest.mark.check("GW-02")
async def test_container_address_and_route(site: Site, container: ProbeContainer) -> None:
    """The container has a global address in its subnet and a link-local, and the right route."""
    network = container.network
    snap = site.settled[network.name]
    mine = snap.on(container.interface)
    gateway = container_gateway(network, site.target.profile)
    evidence = [f"{container.interface} in {snap.netns}:"]
    evidence += [f"  {a}" for a in mine] or ["  (no IPv6 address)"]
    evidence.append("IPv6 routes:")
    evidence += [f"  {r}" for r in snap.routes] or ["  (none)"]
    problems = []
    globals_ = [a for a in mine if not a.link_local and in_subnets(a.address, network.subnets6)]
    if not globals_:
        problems.append(f"no global address inside {', '.join(network.subnets6) or 'its subnet'}")
    elif not any(a.usable for a in globals_):
        problems.append(f"global address {globals_[0]} has not passed DAD")
    link_locals = [a for a in mine if a.link_local]
    if not link_locals:
        problems.append("no link-local address")
    elif not any(a.usable for a in link_locals):
        problems.append(
            f"link-local {link_locals[0]} has not passed DAD "
            f"within {site.target.profile.dad_timeout} s"
        )
    defaults = snap.default_routes()
    good = [r for r in defaults if r.gateway == gateway and r.interface == container.interface]
    if not good:
        seen = "; ".join(str(r) for r in defaults) or "none"
        problems.append(
            f"no IPv6 default route via {gateway} dev {container.interface} "
            f"(default routes: {seen})"
        )
    assert not problems, explain(
        f"container {container.name} on {network.name}: {'; '.join(problems)}",
        evidence,
        fix="check the network's IPv6 settings (`docker network inspect "
        f"{network.name}`: EnableIPv6, IPv6 subnet) and the bridge's gateway (GW-01)",
    )


@dataclass(frozen=True, slots=True)
class GatewayExchange:
    gateway: str
    solicit: ndp.SolicitResult
    echo: icmp6.EchoResult


@pytest.fixture(scope="session")
async def gateway_exchanges(site: Site) -> dict[str, list[GatewayExchange] | str]:
    """NS and echo to each container's gateways, for every container at once.

    Probing all containers together keeps a broken site's verdict about as fast as a healthy
    one: the timeouts overlap instead of adding up item by item. Per network: the exchanges,
    or why none could be made.
    """
    async with asyncio.TaskGroup() as tg:
        tasks = {n: tg.create_task(_exchange(site, c)) for n, c in site.containers.items()}
    return {n: t.result() for n, t in tasks.items()}


async def _exchange(site: Site, container: ProbeContainer) -> list[GatewayExchange] | str:
    network = container.network
    profile = site.target.profile
    snap = site.settled[network.name]
    link_local = next((a for a in snap.on(container.interface) if a.link_local and a.usable), None)
    if link_local is None:
        return "the container has no usable link-local address to solicit from (GW-02)"
    iface = snap.interface(container.interface)
    gateways = [container_gateway(network, profile)]
    expect = bridge_expectation(site.daemon_major, network, profile)
    if expect.address == LINK_LOCAL_GATEWAY and LINK_LOCAL_GATEWAY not in gateways:
        gateways.append(LINK_LOCAL_GATEWAY)  # the link-local gateway GW-01 expects
    async with asyncio.TaskGroup() as tg:
        pending = [
            (
                gw,
                tg.create_task(
                    ndp.solicit(
                        container.netns,
                        gw,
                        source=link_local.address,
                        interface=container.interface,
                        source_mac=iface.mac if iface else None,
                        timeout=profile.timeout,
                    )
                ),
                tg.create_task(
                    icmp6.echo(
                        container.netns,
                        gw,
                        interface=container.interface,
                        timeout=profile.timeout,
                        count=2,
                    )
                ),
            )
            for gw in gateways
        ]
    return [GatewayExchange(gw, ns.result(), echo.result()) for gw, ns, echo in pending]


@pytest.mark.check("GW-03")
async def test_gateway_answers(
    gateway_exchanges: dict[str, list[GatewayExchange] | str], container: ProbeContainer
) -> None:
    """From inside the container, the gateway answers Neighbor Solicitation and echo."""
    exchanges = gateway_exchanges[container.network.name]
    if isinstance(exchanges, str):
        pytest.skip(exchanges)
    evidence: list[str] = []
    silent = []
    for x in exchanges:
        evidence += [f"[{x.gateway}] {line}" for line in (*x.solicit.evidence, *x.echo.evidence)]
        if not x.solicit.answered:
            silent.append(f"{x.gateway} did not answer Neighbor Solicitation")
        if not x.echo.answered:
            why = f" ({x.echo.error})" if x.echo.error else ""
            silent.append(f"{x.gateway} did not answer echo{why}")
    assert not silent, explain(
        f"from container {container.name} on {container.network.name}: {'; '.join(silent)}",
        evidence,
        fix=f"check the gateway addresses on {container.network.bridge} (GW-01) and the "
        "container's route (GW-02); an ip6tables INPUT rule on the host can also drop ICMPv6",
    )
