"""IPv6-only checks: NAT64-01 (the profile's IPv4-only destinations reached through the site's
DNS64 and NAT64, end to end) and DNS-05 (the A-only trap: on an IPv6-only network, which names
resolve only through A).

The judgement is in rules.nat64; the probes in probes.nat64."""

from __future__ import annotations

import pytest

from probes.docker import NetworkInfo, ProbeContainer
from reports.diagnosis import Hold
from rules.isolation import isolated
from rules.judgement import worst_of
from rules.nat64 import judge_a_only, judge_nat64_reach
from suites.plugin.facts import container_path
from suites.plugin.parts.nat64 import Nat64Survey
from suites.plugin.site import Site, probe_source

pytestmark = pytest.mark.nat64


@pytest.mark.check("NAT64-01")
async def test_ipv4_only_destinations_through_nat64(
    hold: Hold, site: Site, nat64_paths: Nat64Survey, container: ProbeContainer
) -> None:
    """Each of the profile's IPv4-only destinations (ipv4_only) gets a AAAA synthesized from its
    A record, and that address answers echo from the container through the NAT64."""
    if (
        isolation := isolated(container.network, "reaching IPv4-only destinations through NAT64")
    ) is not None:
        hold(isolation)
    if not site.target.profile.ipv4_only:
        pytest.skip("the profile names no IPv4-only destinations (ipv4_only = [...])")
    network = container.network.name
    if probe_source(site, network) is None:
        pytest.skip("the container has no usable global address (GW-02)")
    reached = nat64_paths.through.get(network, {})
    hold(
        worst_of(
            [
                judge_nat64_reach(
                    s,
                    echoes=reached.get(name, {}),
                    ipv4={a: nat64_paths.ipv4[a] for a in s.a if a in nat64_paths.ipv4},
                    network=network,
                )
                for name, s in nat64_paths.names.items()
            ]
        ),
        needs=container_path(container),
    )


@pytest.mark.dns
@pytest.mark.check("DNS-05")
async def test_ipv6_only_network_resolves_to_aaaa(
    hold: Hold, nat64_paths: Nat64Survey, v6only_network: NetworkInfo
) -> None:
    """On an IPv6-only network, every name the profile cares about resolves to AAAA (native or
    synthesized) through the container's own nameserver; a name only A gives is named."""
    found = nat64_paths.a_only.get(v6only_network.name)
    if found is None:
        pytest.skip(f"no probe container on {v6only_network.name}")
    if isinstance(found, str):
        pytest.skip(found)
    hold(judge_a_only(v6only_network.name, found))
