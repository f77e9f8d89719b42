"""Endpoint checks EP-*: the services the site publishes by name ([[endpoints]] in the profile)
are dual-stack in DNS, sound at a zone apex, and answer on every address from the host and from
each network's container, so "works over IPv4 only" shows at once.

The judgement is in rules.ep."""

from __future__ import annotations

import pytest

from probes.docker import NetworkInfo
from probes.profile import Endpoint
from reports.diagnosis import Hold
from rules.ep import judge_name, judge_reach
from rules.isolation import isolated
from rules.rt_router import DEFAULT_ROUTE
from suites.plugin.facts import container_path
from suites.plugin.parts.endpoints import EndpointsSeen
from suites.plugin.site import Site

pytestmark = pytest.mark.endpoints


def _endpoint(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        pytest.skip("the profile names no endpoints ([[endpoints]]: name, scheme, port, path)")
    return endpoint


@pytest.mark.check("EP-01")
async def test_endpoint_name_is_dual_stack(
    hold: Hold, endpoint: Endpoint | None, endpoints_seen: EndpointsSeen
) -> None:
    """The endpoint's name has both A and AAAA records; at a zone apex, no CNAME beside the
    SOA and NS."""
    e = _endpoint(endpoint)
    hold(judge_name(endpoints_seen.names[e.name], e))


@pytest.mark.check("EP-02")
async def test_endpoint_answers_from_host(
    hold: Hold, endpoint: Endpoint | None, endpoints_seen: EndpointsSeen
) -> None:
    """Every address of the endpoint's name answers from the host: a TCP connect, and for
    http(s) a status line."""
    e = _endpoint(endpoint)
    view = endpoints_seen.names[e.name]
    # from this host: beyond the uplink by its default route
    hold(judge_reach(e, view, endpoints_seen.host[e], where="the host"), needs=[DEFAULT_ROUTE])


@pytest.mark.check("EP-03")
async def test_endpoint_answers_from_containers(
    hold: Hold,
    site: Site,
    endpoint: Endpoint | None,
    endpoints_seen: EndpointsSeen,
    network: NetworkInfo,
) -> None:
    """Every address of the endpoint's name answers from the network's probe container (the
    AAAA only where the network has no IPv4)."""
    isolation = isolated(network, "reaching the site's published endpoints")
    if isolation is not None:
        hold(isolation)
    e = _endpoint(endpoint)
    container = site.containers.get(network.name)
    if container is None:
        pytest.skip(f"no probe container on {network.name}")
    view = endpoints_seen.names[e.name]
    hold(
        judge_reach(
            e,
            view,
            endpoints_seen.containers[(network.name, e)],
            where=f"{network.name}'s container",
            ipv4=network.enable_ipv4,
            network=network.name,
        ),
        needs=container_path(container),
    )
