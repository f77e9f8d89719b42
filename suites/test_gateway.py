"""Gateway checks GW-01..GW-03: the containers' link-local gateway, their route, its answer.

The judgement is in rules.gw; a check here gets what was seen and holds it to the rule."""

from __future__ import annotations

import asyncio
import functools

import pytest

from probes import icmp6, ifaddr, ndp
from probes.docker import NetworkInfo, ProbeContainer
from rules.gw import (
    NO_SOLICIT_SOURCE,
    GatewayExchange,
    gateways_to_probe,
    judge_bridge,
    judge_container_address,
    judge_gateway_answers,
    solicit_source,
)
from rules.judgement import fact
from suites.plugin.facts import of_container
from suites.plugin.site import Site, hold
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, looked_at, snapshot_of
from suites.plugin.workloads import guarded as _guarded

pytestmark = pytest.mark.gateway


@pytest.mark.check("GW-01")
async def test_bridge_carries_gateway(site: Site, network: NetworkInfo) -> None:
    """The network's bridge carries the expected gateway address, past DAD."""
    # read with a probe container attached: without carrier a bridge's addresses stay tentative
    snap = site.bridges.get(network.bridge) if network.bridge is not None else None
    hold(
        judge_bridge(network, snap, daemon=site.docker.daemon, profile=site.target.profile),
        breaks=[fact("gateway", network.name)],
    )


@pytest.mark.check("GW-02")
async def test_container_address_and_route(
    site: Site, any_container: ProbeContainer, workload_views: WorkloadViews
) -> None:
    """The container has a global address in its subnet and a link-local, and the right route."""
    snap = snapshot_of(site, workload_views, any_container)
    hold(
        judge_container_address(any_container, snap, profile=site.target.profile),
        breaks=[of_container("route", any_container)],
    )


@surveyed
async def gateway_exchanges(survey: Survey) -> dict[str, list[GatewayExchange] | str]:
    """NS and echo to each container's gateways, for every container at once.

    Probing all containers together keeps a broken site's verdict about as fast as a healthy
    one: the timeouts overlap instead of adding up item by item. Per network: the exchanges,
    or why none could be made.
    """
    site: Site = await survey.get("site")
    views: WorkloadViews = await survey.get("workload_views")
    everyone = looked_at(site, views)
    async with asyncio.TaskGroup() as tg:
        tasks = {
            k: tg.create_task(_guarded(views, c, functools.partial(_exchange, site, c, snap)))
            for k, (c, snap) in everyone.items()
        }
    return {k: t.result() for k, t in tasks.items()}


async def _exchange(
    site: Site, container: ProbeContainer, snap: ifaddr.Snapshot
) -> list[GatewayExchange] | str:
    network = container.network
    profile = site.target.profile
    link_local = solicit_source(snap.on(container.interface))
    if link_local is None:
        return NO_SOLICIT_SOURCE
    iface = snap.interface(container.interface)
    gateways = gateways_to_probe(site.daemon_major, network, profile)
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
    gateway_exchanges: dict[str, list[GatewayExchange] | str], any_container: ProbeContainer
) -> None:
    """From inside the container, the gateway answers Neighbor Solicitation and echo."""
    exchanges = gateway_exchanges[any_container.key]
    if isinstance(exchanges, str):  # nothing was sent: nothing to look at
        pytest.skip(exchanges)
    hold(
        judge_gateway_answers(exchanges, container=any_container),
        breaks=[of_container("link", any_container)],
        needs=[of_container("route", any_container), fact("gateway", any_container.network.name)],
    )
