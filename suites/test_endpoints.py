"""Endpoint checks EP-*: the services the site publishes by name ([[endpoints]] in the profile)
are dual-stack in DNS, sound at a zone apex, and answer on every address from the host and from
each network's container, so "works over IPv4 only" shows at once.

The judgement is in rules.ep."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from probes import endpoint as ep
from probes.docker import NetworkInfo
from probes.profile import Endpoint
from rules.ep import judge_name, judge_reach
from suites.plugin.facts import container_path
from suites.plugin.nameservers import configured_nameservers
from suites.plugin.site import Site, cannot_run, hold
from suites.plugin.survey import Survey, surveyed

pytestmark = pytest.mark.endpoints


@dataclass(frozen=True, slots=True)
class EndpointsSeen:
    names: dict[str, ep.NameView]  # by endpoint name
    host: dict[Endpoint, tuple[ep.Attempt, ...]]
    containers: dict[tuple[str, Endpoint], tuple[ep.Attempt, ...]]  # (network, endpoint)


@surveyed
async def endpoints_seen(survey: Survey) -> EndpointsSeen:
    """Every endpoint's name asked of the host's nameservers, then each of its addresses
    tried from the host and from every IPv6 network's probe container, all at once."""
    target = survey.target
    endpoints = target.profile.endpoints
    if not endpoints:
        return EndpointsSeen({}, {}, {})
    servers = [s.address for s in configured_nameservers(survey.config) if s.address]
    if not servers:
        cannot_run(survey.config, "no nameserver to ask for the endpoints' names")
    timeout = target.profile.timeout
    # a TCP connect gets two timeouts: a first SYN lost (a busy server's full backlog) is
    # resent after the 1 s initial RTO (RFC 6298), and must not decide the verdict alone
    connect = 2 * timeout
    async with asyncio.TaskGroup() as tg:
        asks = {
            n: tg.create_task(ep.name_view(target.netns, servers, n, timeout=timeout))
            for n in dict.fromkeys(e.name for e in endpoints)
        }
    names = {n: t.result() for n, t in asks.items()}
    site: Site = await survey.get("site")

    def addresses(e: Endpoint, *, ipv4: bool) -> list[str]:
        view = names[e.name]
        return [*view.aaaa.addresses, *(view.a.addresses if ipv4 else ())]

    async with asyncio.TaskGroup() as tg:
        from_host = {
            e: [tg.create_task(ep.attempt(target.netns, a, e, timeout=connect))
                for a in addresses(e, ipv4=True)]
            for e in endpoints
        }  # fmt: skip
        from_containers = {
            (net, e): [
                tg.create_task(ep.attempt(c.netns, a, e, timeout=connect))
                for a in addresses(e, ipv4=c.network.enable_ipv4)
            ]
            for net, c in site.containers.items()
            for e in endpoints
        }
    return EndpointsSeen(
        names,
        {e: tuple(t.result() for t in ts) for e, ts in from_host.items()},
        {k: tuple(t.result() for t in ts) for k, ts in from_containers.items()},
    )


def _endpoint(endpoint: Endpoint | None) -> Endpoint:
    if endpoint is None:
        pytest.skip("the profile names no endpoints ([[endpoints]]: name, scheme, port, path)")
    return endpoint


@pytest.mark.check("EP-01")
async def test_endpoint_name_is_dual_stack(
    endpoint: Endpoint | None, endpoints_seen: EndpointsSeen
) -> None:
    """The endpoint's name has both A and AAAA records; at a zone apex, no CNAME beside the
    SOA and NS."""
    e = _endpoint(endpoint)
    hold(judge_name(endpoints_seen.names[e.name], e))


@pytest.mark.check("EP-02")
async def test_endpoint_answers_from_host(
    endpoint: Endpoint | None, endpoints_seen: EndpointsSeen
) -> None:
    """Every address of the endpoint's name answers from the host: a TCP connect, and for
    http(s) a status line."""
    e = _endpoint(endpoint)
    view = endpoints_seen.names[e.name]
    hold(judge_reach(e, view, endpoints_seen.host[e], where="the host"))


@pytest.mark.check("EP-03")
async def test_endpoint_answers_from_containers(
    site: Site, endpoint: Endpoint | None, endpoints_seen: EndpointsSeen, network: NetworkInfo
) -> None:
    """Every address of the endpoint's name answers from the network's probe container (the
    AAAA only where the network has no IPv4)."""
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
