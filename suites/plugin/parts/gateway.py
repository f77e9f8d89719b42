"""The gateway checks' survey part (GW-03): Neighbor Solicitation and echo to each container's
gateways, every container at once."""

from __future__ import annotations

import asyncio
import functools

from probes import icmp6, ifaddr, ndp
from probes.docker import ProbeContainer
from rules.gw import (
    NO_SOLICIT_SOURCE,
    GatewayExchange,
    gateways_to_probe,
    solicit_source,
)
from suites.plugin.keys import GATEWAY_EXCHANGES, SITE_PART, WORKLOAD_VIEWS
from suites.plugin.site import Site
from suites.plugin.survey import Survey, surveyed
from suites.plugin.workloads import WorkloadViews, looked_at
from suites.plugin.workloads import guarded as _guarded


@surveyed(GATEWAY_EXCHANGES)
async def gateway_exchanges(survey: Survey) -> dict[str, list[GatewayExchange] | str]:
    """NS and echo to each container's gateways, for every container at once.

    Probing all containers together keeps a broken site's verdict about as fast as a healthy
    one: the timeouts overlap instead of adding up item by item. Per network: the exchanges,
    or why none could be made.
    """
    site: Site = await survey.get(SITE_PART)
    views: WorkloadViews = await survey.get(WORKLOAD_VIEWS)
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
