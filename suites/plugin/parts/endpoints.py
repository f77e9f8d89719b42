"""The published endpoints' survey part (EP-*): each endpoint's names and addresses, reached from
the host and from the containers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from probes import endpoint as ep
from probes.profile import Endpoint
from suites.plugin.keys import ENDPOINTS_SEEN, SITE_PART
from suites.plugin.nameservers import configured_nameservers
from suites.plugin.site import Site, cannot_run
from suites.plugin.survey import Survey, surveyed


@dataclass(frozen=True, slots=True)
class EndpointsSeen:
    names: dict[str, ep.NameView]  # by endpoint name
    host: dict[Endpoint, tuple[ep.Attempt, ...]]
    containers: dict[tuple[str, Endpoint], tuple[ep.Attempt, ...]]  # (network, endpoint)


@surveyed(ENDPOINTS_SEEN)
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
    site: Site = await survey.get(SITE_PART)

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
