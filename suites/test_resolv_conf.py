"""resolv.conf checks RC-*: what Docker wrote into containers and build steps, and whether it works.

The nameservers a container gets are not the host's: Docker filters them (loopback, link-local,
IPv6 on a network without IPv6), may fall back to public resolvers when nothing is left, and the
two builders do it differently. These checks read each probe container's and each build step's
resolv.conf, ask every listed server from inside, and time the resolver itself. The judgement is
in rules.rc; a check here gets what was seen and holds it to the rule.
"""

from __future__ import annotations

import pytest

from probes import build, resolver
from probes.errors import HarnessError
from probes.target import Target
from reports.diagnosis import Hold
from rules.isolation import isolated
from rules.rc import (
    BUILD_NETWORK,
    build_unavailable,
    judge_build_step,
    judge_container_resolv,
    judge_fallback,
)
from suites.plugin.facts import copied_from_host, lookup_path
from suites.plugin.keys import PLAIN_BRIDGE
from suites.plugin.nameservers import host_resolv, warn_about
from suites.plugin.site import Site, cannot_run, seen
from suites.plugin.workloads import Seat

pytestmark = pytest.mark.resolvconf


@pytest.mark.check("RC-01")
async def test_container_nameservers_reachable(
    hold: Hold,
    site: Site,
    resolv_seat: Seat,
    container_resolvers: dict[str, resolver.ResolverReport | HarnessError],
    workload_resolvers: dict[str, resolver.ResolverReport | str | HarnessError],
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
) -> None:
    """Each container's resolv.conf (the probe containers' and the host's own containers')
    lists only nameservers it can reach, and they answer."""
    isolation = isolated(resolv_seat.network, "answering for names beyond the host")
    if isolation is not None:
        hold(isolation)
    if resolv_seat.workload is None:
        report = seen(pytestconfig, container_resolvers[resolv_seat.key])
    elif isinstance(found := workload_resolvers[resolv_seat.key], str):
        pytest.skip(found)  # it exited during the run
    else:
        report = seen(pytestconfig, found)
    warn_about(request, report.resolv_conf)
    network = resolv_seat.network.name
    name = resolv_seat.workload or site.every_container[network].name
    hold(
        judge_container_resolv(report, network=network, name=resolv_seat.workload),
        needs=[
            *lookup_path(name, network, report.resolv_conf, daemon_major=site.daemon_major),
            *copied_from_host(report.resolv_conf, host_resolv(pytestconfig)),
        ],
    )


@pytest.mark.check("RC-02")
async def test_build_step_resolves(
    hold: Hold,
    target: Target,
    builder: build.Builder,
    build_steps: dict[build.Builder, build.BuildResult],
    pytestconfig: pytest.Config,
) -> None:
    """In a build step, names resolve within the threshold, with no unreachable nameserver."""
    result = build_steps[builder]
    j = judge_build_step(result, threshold=target.profile.resolve_threshold)
    if result.report is None and not result.unsupported:
        cannot_run(pytestconfig, j.diagnosis)  # nothing was seen of the step: no verdict, no pass
    copied = (
        copied_from_host(result.report.resolv_conf, host_resolv(pytestconfig))
        if result.report
        else ()
    )
    hold(j, needs=copied)


@pytest.mark.check("RC-03")
async def test_no_public_fallback(
    hold: Hold,
    place: str,
    build_steps: dict[build.Builder, build.BuildResult],
    container_resolvers: dict[str, resolver.ResolverReport | HarnessError],
    pytestconfig: pytest.Config,
) -> None:
    """Docker did not replace the host's nameservers with public resolvers."""
    host = host_resolv(pytestconfig)
    if place.startswith("build-"):
        result = build_steps[place.removeprefix("build-")]  # type: ignore[index]
        if (why := build_unavailable(result)) is not None:
            pytest.skip(why)
        if result.report is None:
            cannot_run(
                pytestconfig, f"the throwaway build with {result.name} did not run: {result.error}"
            )
        report = result.report
        plain = pytestconfig.stash.get(PLAIN_BRIDGE, None)
        network, has_ipv6 = BUILD_NETWORK, plain is None
    else:
        report = seen(pytestconfig, container_resolvers[place])
        network, has_ipv6 = place, report.has_ipv6_route
    hold(judge_fallback(report, host, network=network, has_ipv6=has_ipv6))
