"""Gateway checks GW-01..GW-03: the containers' link-local gateway, their route, its answer.

The judgement is in rules.gw; a check here gets what was seen and holds it to the rule."""

from __future__ import annotations

import pytest

from probes.docker import NetworkInfo, ProbeContainer
from reports.diagnosis import Hold
from rules.gw import (
    GatewayExchange,
    judge_bridge,
    judge_container_address,
    judge_gateway_answers,
)
from rules.judgement import fact
from suites.plugin.facts import of_container
from suites.plugin.site import Site
from suites.plugin.workloads import WorkloadViews, snapshot_of

pytestmark = pytest.mark.gateway


@pytest.mark.check("GW-01")
async def test_bridge_carries_gateway(hold: Hold, site: Site, network: NetworkInfo) -> None:
    """The network's bridge carries the expected gateway address, past DAD."""
    # read with a probe container attached: without carrier a bridge's addresses stay tentative
    snap = site.bridges.get(network.bridge) if network.bridge is not None else None
    hold(
        judge_bridge(network, snap, daemon=site.docker.daemon, profile=site.target.profile),
        breaks=[fact("gateway", network.name)],
    )


@pytest.mark.check("GW-02")
async def test_container_address_and_route(
    hold: Hold, site: Site, any_container: ProbeContainer, workload_views: WorkloadViews
) -> None:
    """The container has a global address in its subnet and a link-local, and the right route."""
    snap = snapshot_of(site, workload_views, any_container)
    hold(
        judge_container_address(any_container, snap, profile=site.target.profile),
        breaks=[of_container("route", any_container)],
    )


@pytest.mark.check("GW-03")
async def test_gateway_answers(
    hold: Hold,
    gateway_exchanges: dict[str, list[GatewayExchange] | str],
    any_container: ProbeContainer,
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
