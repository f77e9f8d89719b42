"""The path MTU checks' survey part (PMTU-*): large and fragmented packets from each network's
probe container, the uplink watched meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from dataclasses import dataclass

import pytest

from probes import dns, ifaddr, pmtu
from probes.capture import Frame, LinkCapture
from probes.docker import ProbeContainer
from probes.errors import NetnsError
from suites.plugin.keys import PATH_MTU, SITE_PART, UPLINK
from suites.plugin.nameservers import host_resolv, liveness_question
from suites.plugin.site import Site, probe_source
from suites.plugin.survey import Survey, surveyed

PAD = 4096  # the large TCP query: three full-size segments at a 1500-byte MTU


@dataclass(frozen=True, slots=True)
class ContainerPaths:
    """One probe container's full-size exchanges: toward each anchor, and over TCP."""

    toward: tuple[pmtu.PathMtu, ...]
    tcp: tuple[dns.DnsResult, dns.DnsResult] | None  # a small query, then a padded one
    tcp_skipped: str | None  # why no TCP exchange was tried


@dataclass(frozen=True, slots=True)
class PathMtuSurvey:
    containers: dict[str, ContainerPaths | str]  # by network; a string: why none was probed
    uplink: str | None
    frames: tuple[Frame, ...]
    watched: bool
    gateway: str | None = None  # the host's default router on the uplink (PMTU-03's fix)


def tcp_server(survey: Survey) -> str | None:
    """Where the large TCP exchange goes: the host's first global IPv6 nameserver (the one its
    containers are handed), else the profile's."""
    conf = host_resolv(survey.config)
    listed = [str(ns) for ns in conf.used_nameservers] + list(survey.target.profile.nameservers)
    for server in listed:
        try:
            address = ipaddress.ip_address(server)
        except ValueError:
            continue
        local = address.is_loopback or address.is_link_local or address.is_unspecified
        if address.version == 6 and not (local or address.is_multicast):
            return server
    return None


@surveyed(PATH_MTU)
async def path_mtu(survey: Survey) -> PathMtuSurvey:
    """Every probe container's full-size exchanges at once, with the uplink captured."""
    site: Site = await survey.get(SITE_PART)
    uplink: str | None = await survey.get(UPLINK)
    profile = site.target.profile
    server = tcp_server(survey)
    qname, rdtype = liveness_question(profile)

    async def one(network: str, container: ProbeContainer) -> ContainerPaths | str:
        snap = site.settled[network]
        link = snap.interface(container.interface)
        source = probe_source(site, network)
        if source is None:
            return "the container has no usable global address (GW-02)"
        mtu = link.mtu if link and link.mtu else 1500
        timeout = profile.timeout
        async with asyncio.TaskGroup() as tg:
            toward = [
                tg.create_task(
                    pmtu.discover(container.netns, a, link_mtu=mtu, source=source, timeout=timeout)
                )
                for a in profile.anchors
            ]
            ask = (
                [
                    tg.create_task(
                        dns.query(
                            container.netns,
                            server,
                            qname,
                            rdtype,
                            transport="tcp",
                            timeout=timeout * 2,
                            pad=pad,
                        )
                    )
                    for pad in (0, PAD)
                ]
                if server
                else []
            )
        tcp = (ask[0].result(), ask[1].result()) if ask else None
        skipped = None if server else "the host lists no global IPv6 nameserver to ask over TCP"
        return ContainerPaths(tuple(t.result() for t in toward), tcp, skipped)

    async def everyone() -> dict[str, ContainerPaths | str]:
        async with asyncio.TaskGroup() as tg:
            tasks = {n: tg.create_task(one(n, c)) for n, c in site.containers.items()}
        return {n: t.result() for n, t in tasks.items()}

    if not profile.anchors:
        pytest.skip("the profile names no reachability anchors (anchors = [...]) to probe toward")
    if uplink is None:
        return PathMtuSurvey(await everyone(), None, (), False)
    snap = await ifaddr.snapshot(site.target.netns)
    gateway = next(
        (r.gateway for r in snap.default_routes() if r.interface == uplink and r.gateway), None
    )
    async with contextlib.AsyncExitStack() as stack:
        try:
            capture = await stack.enter_async_context(LinkCapture(site.target.netns, uplink))
        except NetnsError:  # judged all the same; where a PTB is lost stays unknown
            return PathMtuSurvey(await everyone(), uplink, (), False, gateway)
        found = await everyone()
    return PathMtuSurvey(found, uplink, tuple(capture.frames), True, gateway)
