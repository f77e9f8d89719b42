"""Path MTU checks PMTU-*: does ICMPv6 Packet Too Big get back to containers, and do large
exchanges then complete (the IPv6 black hole: small pings work, large transfers hang).

Sent from each network's probe container only: the probe leaves a learnt path MTU in the route
cache of the namespace it runs in, which is the harness's own to change, never a workload's.
The judgement is in rules.pmtu."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from dataclasses import dataclass

import pytest

from probes import dns, pmtu
from probes.capture import Frame, LinkCapture
from probes.docker import ProbeContainer
from probes.errors import NetnsError
from rules.judgement import worst_of
from rules.pmtu import judge_fragments, judge_tcp_exchange, judge_too_big, sighting
from suites.plugin.facts import container_path
from suites.plugin.nameservers import host_resolv, liveness_question
from suites.plugin.site import Site, hold, probe_source
from suites.plugin.survey import Survey, surveyed

pytestmark = pytest.mark.pmtu

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


@surveyed
async def path_mtu(survey: Survey) -> PathMtuSurvey:
    """Every probe container's full-size exchanges at once, with the uplink captured."""
    site: Site = await survey.get("site")
    uplink: str | None = await survey.get("uplink")
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
    async with contextlib.AsyncExitStack() as stack:
        try:
            capture = await stack.enter_async_context(LinkCapture(site.target.netns, uplink))
        except NetnsError:  # judged all the same; where a PTB is lost stays unknown
            return PathMtuSurvey(await everyone(), uplink, (), False)
        found = await everyone()
    return PathMtuSurvey(found, uplink, tuple(capture.frames), True)


def _paths(survey: PathMtuSurvey, container: ProbeContainer) -> ContainerPaths:
    found = survey.containers[container.network.name]
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.mark.check("PMTU-01")
async def test_packet_too_big_reaches_container(
    site: Site, path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """A packet as large as the container's link, toward each anchor, is answered or draws a
    Packet Too Big that reaches the container, whose kernel then keeps the smaller MTU."""
    paths = _paths(path_mtu, container)
    hold(
        worst_of(
            [
                judge_too_big(
                    r,
                    sighting(path_mtu.frames, r.ident, watched=path_mtu.watched),
                    network=container.network.name,
                    uplink=path_mtu.uplink,
                    docker=site.docker_version,
                )
                for r in paths.toward
            ]
        ),
        needs=container_path(container),
    )


@pytest.mark.check("PMTU-02")
async def test_large_tcp_exchange_completes(
    path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """A DNS query padded to several full-size TCP segments, to the host's first IPv6
    nameserver, is answered where a small one is."""
    paths = _paths(path_mtu, container)
    if not paths.toward:
        pytest.skip("no anchor was probed")
    hold(
        judge_tcp_exchange(
            paths.toward[0],
            tcp=paths.tcp,
            tcp_skipped=paths.tcp_skipped,
            network=container.network.name,
        ),
        needs=container_path(container),
    )


@pytest.mark.check("PMTU-03")
async def test_fragmented_datagrams_get_through(
    site: Site, path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """An echo twice the container's link size, fragmented by its kernel at the MTU it holds
    toward each anchor, is answered."""
    paths = _paths(path_mtu, container)
    network = container.network.name
    judged = [
        judge_fragments(r, network=network, uplink=path_mtu.uplink, docker=site.docker_version)
        for r in paths.toward
    ]
    hold(worst_of(judged), needs=container_path(container))
