"""DNS checks DNS-*: do the configured nameservers answer over IPv6, do names resolve to AAAA.

The judgement is in rules.dns; a check here gets what was seen and holds it to the rule."""

from __future__ import annotations

import pytest

from probes import resolver
from probes.docker import ProbeContainer
from probes.errors import HarnessError
from probes.profile import ExpectedName
from probes.target import Target
from reports.diagnosis import Hold
from rules.dns import (
    judge_announced_nameservers,
    judge_container_lookups,
    judge_dns64,
    judge_name,
    judge_nameserver,
    judge_resolv_line,
)
from rules.isolation import isolated
from rules.rt_router import DEFAULT_ROUTE
from suites.plugin.facts import lookup_path
from suites.plugin.keys import HOST_RESOLV
from suites.plugin.nameservers import (
    NameserverItem,
    configured_nameservers,
    warn_about,
)
from suites.plugin.parts.dns import Answers
from suites.plugin.routers import RouterRound
from suites.plugin.site import Site, seen

pytestmark = pytest.mark.dns


@pytest.mark.check("DNS-01")
async def test_nameserver_answers_over_ipv6(
    hold: Hold,
    target: Target,
    nameserver: NameserverItem | None,
    answers: Answers,
    pytestconfig: pytest.Config,
    request: pytest.FixtureRequest,
) -> None:
    """Every configured IPv6 nameserver answers a query over IPv6 within the timeout."""
    if nameserver is None:
        pytest.skip("no IPv6 nameserver is configured (host resolv.conf, profile nameservers)")
    host = pytestconfig.stash[HOST_RESOLV]
    if nameserver.address is None:  # the item stands for a broken resolv.conf line
        hold(judge_resolv_line(host, line=nameserver.line, problem=nameserver.problem))
        return
    if nameserver.origin.startswith(host.source):  # the file's own warnings, on its items
        warn_about(request, host)
    result = answers.liveness[nameserver.address]
    # asked from this host: beyond the uplink by its default route
    hold(judge_nameserver(result, origin=nameserver.origin), needs=[DEFAULT_ROUTE])


@pytest.mark.check("DNS-01")
async def test_announced_nameservers_answer(
    hold: Hold, routers: RouterRound, pytestconfig: pytest.Config
) -> None:
    """The nameservers the routers announce (RDNSS) answer over IPv6 as well: hosts that take
    DNS from RAs use them. Asked once, by the RA exchange (RA-03 judges the same answers)."""
    configured = {i.address: i.origin for i in configured_nameservers(pytestconfig) if i.address}
    hold(
        judge_announced_nameservers(
            routers.announced, routers.rdnss_answers, configured=configured
        ),
        needs=[DEFAULT_ROUTE],
    )


@pytest.mark.check("DNS-02")
async def test_name_resolves_to_aaaa(
    hold: Hold, target: Target, expected_name: ExpectedName | None, answers: Answers
) -> None:
    """The profile's name resolves to AAAA (and A if dual-stack) over UDP and TCP."""
    if expected_name is None:
        pytest.skip("the profile lists no names to resolve ([[names]])")
    hold(judge_name(expected_name, answers.names))


@pytest.mark.check("DNS-03")
async def test_container_resolves_names(
    hold: Hold,
    target: Target,
    site: Site,
    container: ProbeContainer,
    container_lookups: dict[str, resolver.ResolverReport | HarnessError],
    pytestconfig: pytest.Config,
) -> None:
    """Inside each probe container, its own resolver (libc, resolv.conf) finds the names' AAAA,
    within the resolution threshold."""
    if (
        isolation := isolated(
            container.network,
            "resolving names beyond the host",
        )
    ) is not None:
        hold(isolation)
    if not target.profile.names:
        pytest.skip("the profile lists no names to resolve ([[names]])")
    report = seen(pytestconfig, container_lookups[container.network.name])
    hold(
        judge_container_lookups(
            report,
            names=target.profile.names,
            threshold=target.profile.resolve_threshold,
            where=container.label,
            network=container.network.name,
        ),
        needs=lookup_path(
            container.name,
            container.network.name,
            report.resolv_conf,
            daemon_major=site.daemon_major,
        ),
    )


@pytest.mark.check("DNS-04")
async def test_dns64_as_expected(hold: Hold, target: Target, answers: Answers) -> None:
    """DNS64 (RFC 7050 discovery via ipv4only.arpa) is there exactly when the profile says."""
    hold(judge_dns64(list(answers.dns64.values()), expected=target.profile.dns64))
