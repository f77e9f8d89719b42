"""Path MTU checks PMTU-*: does ICMPv6 Packet Too Big get back to containers, and do large
exchanges then complete (the IPv6 black hole: small pings work, large transfers hang).

Sent from each network's probe container only: the probe leaves a learnt path MTU in the route
cache of the namespace it runs in, which is the harness's own to change, never a workload's.
The judgement is in rules.pmtu."""

from __future__ import annotations

import pytest

from probes.docker import ProbeContainer
from reports.diagnosis import Hold
from rules.isolation import isolated
from rules.judgement import worst_of
from rules.pmtu import judge_fragments, judge_tcp_exchange, judge_too_big, sighting
from suites.plugin.facts import container_path
from suites.plugin.parts.pmtu import ContainerPaths, PathMtuSurvey
from suites.plugin.site import Site

pytestmark = pytest.mark.pmtu


def _paths(survey: PathMtuSurvey, container: ProbeContainer) -> ContainerPaths:
    found = survey.containers[container.network.name]
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.mark.check("PMTU-01")
async def test_packet_too_big_reaches_container(
    hold: Hold, site: Site, path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """A packet as large as the container's link, toward each anchor, is answered or draws a
    Packet Too Big that reaches the container, whose kernel then keeps the smaller MTU."""
    if (
        isolation := isolated(container.network, "path MTU discovery toward the anchors")
    ) is not None:
        hold(isolation)
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
                    last_sight=sighting(
                        path_mtu.frames, r.ident, watched=path_mtu.watched, seq=r.last_seq
                    ),
                    gateway=path_mtu.gateway,
                )
                for r in paths.toward
            ]
        ),
        needs=container_path(container),
    )


@pytest.mark.check("PMTU-02")
async def test_large_tcp_exchange_completes(
    hold: Hold, path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """A DNS query padded to several full-size TCP segments, to the host's first IPv6
    nameserver, is answered where a small one is."""
    if (isolation := isolated(container.network, "a large exchange beyond the host")) is not None:
        hold(isolation)
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
    hold: Hold, site: Site, path_mtu: PathMtuSurvey, container: ProbeContainer
) -> None:
    """An echo twice the container's link size, fragmented by its kernel at the MTU it holds
    toward each anchor, is answered."""
    if (
        isolation := isolated(container.network, "sending fragmented datagrams toward the anchors")
    ) is not None:
        hold(isolation)
    paths = _paths(path_mtu, container)
    network = container.network.name
    judged = [
        judge_fragments(
            r,
            network=network,
            uplink=path_mtu.uplink,
            docker=site.docker_version,
            gateway=path_mtu.gateway,
        )
        for r in paths.toward
    ]
    hold(worst_of(judged), needs=container_path(container))
