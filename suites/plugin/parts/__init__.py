"""Every survey part of a run, one module per check family (the parts the whole plugin shares,
the site and its probe containers, the routers and the workloads, live beside it in
suites.plugin), and the session's survey that runs those the collected checks ask for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from suites.plugin import routers, site, workloads
from suites.plugin.parts import (
    client_addr,
    dns,
    endpoints,
    family,
    gateway,
    nat64,
    pmtu,
    resolv,
    routing,
)  # fmt: skip
from suites.plugin.survey import Part, Survey, run_survey

ALL: tuple[Part[Any], ...] = (
    site.docker_endpoint,
    site.probe_containers,
    site.bridges_settled,
    site.site,
    site.uplink,
    routers.routers,
    routers.default_routers,
    workloads.workload_views,
    workloads.workload_resolvers,
    dns.answers,
    dns.container_lookups,
    endpoints.endpoints_seen,
    family.family_orders,
    gateway.gateway_exchanges,
    nat64.nat64_paths,
    pmtu.path_mtu,
    resolv.container_resolvers,
    resolv.build_steps,
    routing.reachability,
    routing.uplink_state,
    routing.ruleset,
    routing.network_specs,
    routing.modes,
    client_addr.client_addresses,
)


@pytest.fixture(scope="session", autouse=True)
async def survey(request: pytest.FixtureRequest) -> AsyncIterator[Survey]:
    """Every part the collected checks need, started at once and run to its end before the
    first check judges; what they hold is released when the session ends."""
    async for found in run_survey(request, ALL):
        yield found
