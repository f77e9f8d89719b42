"""resolv.conf checks RC-*: what Docker wrote into containers and build steps, and whether it works.

The nameservers a container gets are not the host's: Docker filters them (loopback, link-local,
IPv6 on a network without IPv6), may fall back to public resolvers when nothing is left, and the
two builders do it differently. These checks read each probe container's and each build step's
resolv.conf, ask every listed server from inside, and time the resolver itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from probes import build, resolver
from probes.docker import NetworkInfo
from probes.errors import HarnessError
from probes.resolvconf import Nameserver, ResolvConf
from probes.target import Target
from reports.diagnosis import explain, first_of
from suites.plugin.keys import PLAIN_BRIDGE
from suites.plugin.nameservers import host_resolv, warn_about
from suites.plugin.networks import resolver_networks
from suites.plugin.site import Site, cannot_run, caught, resolver_deadline, seen

pytestmark = pytest.mark.resolvconf


@dataclass(frozen=True, slots=True)
class ResolvRound:
    """Every container's resolver and both throwaway builds, run at once."""

    containers: dict[str, resolver.ResolverReport | HarnessError]  # by network name
    builds: dict[build.Builder, build.BuildResult]


def lookup_names(target: Target) -> tuple[str, ...]:
    """What a build step resolves: the profile's names, else what a build resolves first."""
    return tuple(n.name for n in target.profile.names) or ("registry-1.docker.io",)


@pytest.fixture(scope="session")
async def resolv_round(site: Site, target: Target) -> ResolvRound:
    names = lookup_names(target)
    wait = resolver_deadline(target)
    async with asyncio.TaskGroup() as tg:
        inside = {
            net: tg.create_task(
                caught(resolver.in_container(c, names, family="any", deadline=wait))
            )
            for net, c in site.every_container.items()
        }
        builds = {
            b: tg.create_task(
                build.build_and_report(
                    site.docker,
                    b,
                    names,
                    run_id=site.run_id,
                    deadline=wait,
                    timeout=target.profile.build_timeout,
                )
            )
            for b in build.BUILDERS
        }
    return ResolvRound(
        {n: t.result() for n, t in inside.items()}, {b: t.result() for b, t in builds.items()}
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "builder" in metafunc.fixturenames:
        metafunc.parametrize("builder", build.BUILDERS)
    if "place" in metafunc.fixturenames:
        found = resolver_networks(metafunc.config)
        nets = [] if isinstance(found, str) else [n.name for n in found]
        places = [*nets, *(f"build-{b}" for b in build.BUILDERS)]
        metafunc.parametrize("place", places)


# why Docker would not (or should not) hand a host nameserver to a container -----------------
def unusable_reason(ns: Nameserver, *, has_ipv6: bool, network: str) -> str | None:
    if ns.is_loopback and str(ns.transport_ip) != resolver.EMBEDDED_DNS:
        return (
            "loopback: inside the container that is the container itself, where nothing listens "
            "(a host stub resolver such as systemd-resolved's 127.0.0.53 is not there)"
        )
    if ns.is_link_local and ns.is_ipv6:
        return "link-local: its zone names a host interface that does not exist in the container"
    if ns.is_ipv6 and not has_ipv6:
        return f"IPv6 nameserver, but {network} has no IPv6"
    return None


@pytest.mark.check("RC-01")
async def test_container_nameservers_reachable(
    any_network: NetworkInfo,
    resolv_round: ResolvRound,
    request: pytest.FixtureRequest,
    pytestconfig: pytest.Config,
) -> None:
    """Each probe container's resolv.conf lists only nameservers it can reach, and they answer."""
    report = seen(pytestconfig, resolv_round.containers[any_network.name])
    conf = report.resolv_conf
    where = f"container on {any_network.name}"
    bad: list[str] = [f"{conf.source} {p}" for p in conf.breaking]
    warn_about(request, conf)
    local = bool(bad)  # the container's own resolv.conf is at fault, not the path to a server
    for ns in conf.used_nameservers:
        answer = report.server(ns.address) or report.server(str(ns))
        why = unusable_reason(ns, has_ipv6=report.has_ipv6_route, network=any_network.name)
        if answer is not None and answer.answered and why is None:
            continue
        heard = answer.describe() if answer else f"{ns}: not asked"
        bad.append(f"nameserver {heard}" + (f" — {why}" if why else ""))
        local = local or why is not None
    assert not bad, explain(
        f"the {where} cannot use its resolv.conf: {first_of(bad)}",
        [*bad, *report.lines()],
        fix=_reach_fix(report, any_network),
        hop="container" if local else "far end",
    )


def _reach_fix(report: resolver.ResolverReport, network: NetworkInfo) -> str:
    conf = report.resolv_conf
    if any(str(ns.transport_ip) == resolver.EMBEDDED_DNS for ns in conf.used_nameservers):
        return (
            "Docker's embedded DNS (127.0.0.11) forwards to the nameservers dockerd took from the "
            "host; when it does not answer, it has none it can use (on Docker 20.10 it forwards "
            "to IPv4 nameservers only). Give dockerd nameservers it can reach: daemon.json "
            '"dns": [...], or an IPv4 nameserver in the host\'s resolv.conf'
        )
    return (
        f"set the nameservers containers get to ones reachable from {network.name}: daemon.json "
        '"dns": [...] (or --dns per container); for IPv6 nameservers, enable IPv6 on the '
        "network; never a loopback or link-local address"
    )


@pytest.mark.check("RC-02")
async def test_build_step_resolves(
    target: Target, builder: build.Builder, resolv_round: ResolvRound, pytestconfig: pytest.Config
) -> None:
    """In a build step, names resolve within the threshold, with no unreachable nameserver."""
    result = resolv_round.builds[builder]
    if result.unsupported:
        pytest.skip(f"the daemon has no {result.name}: {result.error}")
    if result.report is None:  # nothing was seen of the step: no verdict, and no pass
        cannot_run(pytestconfig, f"the throwaway build with {result.name} failed: {result.error}")
    report = result.report
    threshold = target.profile.resolve_threshold
    silent = [s for s in report.servers if not s.answered]
    slow = [
        lk
        for lk in report.lookups
        if not lk.completed or (lk.elapsed_s is not None and lk.elapsed_s > threshold)
    ]
    evidence = [f"built with {result.name} in {result.elapsed_s:.1f} s", *report.lines()]
    if not silent and not slow:
        return  # a fast "no such name" is DNS-02's business, not the build resolver's
    # a lookup that finished in 0.00 s took 0.00 s: only one stopped at the deadline took that
    took = max(
        (lk.elapsed_s if lk.elapsed_s is not None else report.deadline for lk in report.lookups),
        default=0.0,
    )
    stopped = [lk.name for lk in slow if not lk.completed]
    late = [lk.name for lk in slow if lk.completed]
    said = []
    if stopped:
        said.append(f"{', '.join(stopped)} did not resolve within {report.deadline:g} s")
    if late:
        said.append(f"{', '.join(late)} took more than {threshold:g} s")
    if not said:
        failed = [lk.name for lk in report.lookups if not lk.resolved]
        said.append(f"{', '.join(failed)} did not resolve" if failed else "names resolved")
    unreachable = "; ".join(s.describe() for s in silent)
    pytest.fail(
        explain(
            f"in a build step ({result.name}), {' and '.join(said)} (after {took:.2f} s)"
            + (f"; unreachable nameserver {unreachable}" if silent else ""),
            evidence,
            fix=_build_fix(report, target),
            # an IPv6 nameserver in a step without IPv6: the step's resolv.conf is at fault
            hop="container"
            if any(ns.is_ipv6 for ns in report.resolv_conf.used_nameservers)
            and not report.has_ipv6_route
            else "far end",
        ),
        pytrace=False,
    )


def _build_fix(report: resolver.ResolverReport, target: Target) -> str:
    conf = report.resolv_conf
    fallback = [str(ns) for ns in conf.used_nameservers if ns.is_public_fallback]
    six = [str(ns) for ns in conf.used_nameservers if ns.is_ipv6]
    if fallback:
        return (
            f"the step got Docker's public fallback ({', '.join(fallback)}; see RC-03): set "
            'daemon.json "dns" to resolvers this site can reach'
        )
    if six and not report.has_ipv6_route:
        return (
            f"the step's resolv.conf lists {', '.join(six)} but the build network has no IPv6: "
            'set daemon.json "dns" to nameservers reachable over IPv4 (BuildKit copies the '
            "host's IPv6 nameservers into build steps: moby/buildkit#2936), or enable IPv6 on the "
            'default bridge ("ipv6": true, "fixed-cidr-v6") so build steps can reach them'
        )
    return (
        f"make the step's nameservers answer within {target.profile.resolve_threshold:g} s "
        '(daemon.json "dns"), or remove the silent ones: glibc waits '
        f"{conf.options.timeout} s for each"
    )


@pytest.mark.check("RC-03")
async def test_no_public_fallback(
    place: str, resolv_round: ResolvRound, pytestconfig: pytest.Config
) -> None:
    """Docker did not replace the host's nameservers with public resolvers."""
    host = host_resolv(pytestconfig)
    if place.startswith("build-"):
        result = resolv_round.builds[place.removeprefix("build-")]  # type: ignore[index]
        if result.unsupported:
            pytest.skip(f"the daemon has no {result.name}: {result.error}")
        if result.report is None:
            cannot_run(
                pytestconfig, f"the throwaway build with {result.name} did not run: {result.error}"
            )
        report = result.report
        plain = pytestconfig.stash.get(PLAIN_BRIDGE, None)
        network, has_ipv6 = "the build network (default bridge)", plain is None
    else:
        report = seen(pytestconfig, resolv_round.containers[place])
        network, has_ipv6 = place, report.has_ipv6_route
    conf = report.resolv_conf
    fallback = [ns for ns in conf.used_nameservers if ns.is_public_fallback]
    host_has = {str(ns.transport_ip) for ns in host.nameservers}
    substituted = [ns for ns in fallback if str(ns.transport_ip) not in host_has]
    dropped = _dropped(host, conf, has_ipv6=has_ipv6, network=network)
    evidence = [
        f"{host.source}:",
        *(f"  {line}" for line in host.summary_lines()),
        *report.lines(),
        *(f"dropped {line}" for line in dropped),
    ]
    assert not substituted, explain(
        f"{report.where} got Docker's public fallback "
        f"{', '.join(str(ns) for ns in substituted)} instead of the host's nameservers"
        + (f": Docker dropped {'; '.join(dropped)}" if dropped else ""),
        evidence,
        fix='give dockerd nameservers the containers can use: daemon.json "dns": [...] '
        "(reachable over IPv4, or enable IPv6 on the network); the public resolvers may be "
        "unreachable from this site, and they see every name you look up",
    )


def _dropped(host: ResolvConf, conf: ResolvConf, *, has_ipv6: bool, network: str) -> list[str]:
    """The host's nameservers missing from a container's resolv.conf, each with the reason."""
    kept = {str(ns.transport_ip) for ns in conf.nameservers}
    embedded = resolver.EMBEDDED_DNS in kept
    kept |= {e.address for e in conf.docker_ext_servers}
    out = []
    for ns in host.used_nameservers:
        if str(ns.transport_ip) in kept or (embedded and not ns.is_ipv6 and not ns.is_loopback):
            continue  # behind the embedded DNS, which forwards to the host's IPv4 servers
        why = unusable_reason(ns, has_ipv6=has_ipv6, network=network)
        out.append(f"{ns} ({why or 'reason unknown'})")
    return out
