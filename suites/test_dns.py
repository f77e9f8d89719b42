"""DNS checks DNS-*: do the configured nameservers answer over IPv6, do names resolve to AAAA."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from probes import dns, dns64, resolver
from probes.docker import ProbeContainer
from probes.errors import HarnessError
from probes.profile import ExpectedName
from probes.resolvconf import ResolvConf
from probes.target import Target, privileged
from reports.diagnosis import explain, first_of
from suites.plugin.keys import HOST_RESOLV
from suites.plugin.nameservers import NameserverItem, configured_nameservers, warn_about
from suites.plugin.site import Site, cannot_run, caught, resolver_deadline, seen

pytestmark = pytest.mark.dns

TRANSPORTS: tuple[dns.Transport, ...] = ("udp", "tcp")


@dataclass(frozen=True, slots=True)
class Answers:
    """Every query of DNS-01 and DNS-02, asked at once so their timeouts overlap."""

    liveness: dict[str, dns.DnsResult]  # DNS-01: per IPv6 nameserver
    names: dict[tuple[str, str, str, str], dns.DnsResult]  # (name, type, server, transport)
    dns64: dict[str, dns64.Dns64Finding]  # DNS-04: per nameserver
    # DNS-03: per network (or the probe's error there), or why there is none
    inside: dict[str, resolver.ResolverReport | HarnessError] | str


def _probe_name(target: Target) -> tuple[str, str]:
    """What DNS-01 asks: the profile's first name (the site's own zone), else the root's NS."""
    names = target.profile.names
    return (names[0].name, "AAAA") if names else (".", "NS")


def _wanted_types(name: ExpectedName) -> tuple[str, ...]:
    return ("AAAA", "A") if name.dual_stack or name.a else ("AAAA",)


@pytest.fixture(scope="session")
async def answers(target: Target, pytestconfig: pytest.Config, site_if_any: Site | str) -> Answers:
    if target.netns.path is not None and not privileged():
        cannot_run(pytestconfig, "not root: asking from the target's namespace needs setns")
    servers = [s.address for s in configured_nameservers(pytestconfig) if s.address]
    timeout = target.profile.timeout
    qname, qtype = _probe_name(target)
    names = tuple(n.name for n in target.profile.names)
    async with asyncio.TaskGroup() as tg:
        inside = (
            {
                net: tg.create_task(
                    caught(resolver.in_container(c, names, deadline=resolver_deadline(target)))
                )
                for net, c in site_if_any.containers.items()
            }
            if isinstance(site_if_any, Site) and names
            else {}
        )
        synth = {
            s: tg.create_task(dns64.discover(target.netns, s, timeout=timeout)) for s in servers
        }
        live = {
            s: tg.create_task(dns.query(target.netns, s, qname, qtype, timeout=timeout))
            for s in servers
            if ":" in s
        }
        named = {
            (n.name, t, s, tr): tg.create_task(
                dns.query(target.netns, s, n.name, t, transport=tr, timeout=timeout)
            )
            for n in target.profile.names
            for t in _wanted_types(n)
            for s in servers
            for tr in TRANSPORTS
        }
    return Answers(
        {s: t.result() for s, t in live.items()},
        {k: t.result() for k, t in named.items()},
        {s: t.result() for s, t in synth.items()},
        {n: t.result() for n, t in inside.items()}
        if isinstance(site_if_any, Site)
        else site_if_any,
    )


def _resolv_evidence(conf: ResolvConf) -> list[str]:
    return [f"{conf.source}:", *(f"  {line}" for line in conf.summary_lines())]


@pytest.mark.check("DNS-01")
async def test_nameserver_answers_over_ipv6(
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
        pytest.fail(
            explain(
                f"{host.source}"
                + (f" line {nameserver.line}" if nameserver.line else "")
                + f": {nameserver.problem}",
                _resolv_evidence(host),
                fix="correct or remove the line: resolvers skip what they cannot read, so the "
                "host, and every container that copies this file, lose what it meant to say",
            ),
            pytrace=False,
        )
    if nameserver.origin.startswith(host.source):  # the file's own warnings, on its items
        warn_about(request, host)
    result = answers.liveness[nameserver.address]
    evidence = [*result.lines(), f"configured in: {nameserver.origin}"]
    assert result.answered, explain(
        f"nameserver {nameserver.address} did not answer over IPv6 {result.transport.upper()}: "
        f"{result.error} after {result.elapsed_ms:.0f} ms",
        evidence,
        fix="check that the server listens on its IPv6 address (and port 53 is not filtered), "
        "and that this host routes to it; else remove it from "
        f"{nameserver.origin}: every lookup waits for it first",
    )
    assert result.rcode in ("NOERROR", "NXDOMAIN"), explain(
        f"nameserver {nameserver.address} answered over IPv6 but with {result.rcode}",
        evidence,
        fix="REFUSED: allow this host's addresses in the server's access control; "
        "SERVFAIL: the server cannot resolve (its own upstream or DNSSEC)",
    )


@pytest.mark.check("DNS-02")
async def test_name_resolves_to_aaaa(
    target: Target, expected_name: ExpectedName | None, answers: Answers
) -> None:
    """The profile's name resolves to AAAA (and A if dual-stack) over UDP and TCP."""
    if expected_name is None:
        pytest.skip("the profile lists no names to resolve ([[names]])")
    mine = {k: r for k, r in answers.names.items() if k[0] == expected_name.name}
    servers = sorted({k[2] for k in mine})
    # a server silent over both transports is DNS-01's finding; judge those that answer
    answering = [s for s in servers if any(r.answered for k, r in mine.items() if k[2] == s)]
    evidence = [line for r in mine.values() for line in r.lines()]
    assert servers, explain(
        f"no nameserver is configured to ask for {expected_name.name}",
        evidence,
        fix="list nameservers in the profile (nameservers = [...]) or the host's resolv.conf",
    )
    assert answering, explain(
        f"no configured nameserver answered for {expected_name.name} "
        f"({', '.join(servers)}): see DNS-01",
        evidence,
        fix="make a nameserver reachable (DNS-01)",
    )
    wrong: list[str] = []
    for (_, rtype, server, transport), r in sorted(mine.items()):
        if server not in answering:
            continue
        expected = expected_name.aaaa if rtype == "AAAA" else expected_name.a
        where = f"{rtype} from {server} over {transport.upper()}"
        if not r.answered:
            wrong.append(f"{where}: {r.error} (it answers the other transport)")
        elif r.rcode != "NOERROR" or not r.addresses:
            wrong.append(f"{where}: {r.rcode}, no {rtype} record")
        elif expected and set(r.addresses) != set(expected):
            wrong.append(f"{where}: {', '.join(r.addresses)}, expected {', '.join(expected)}")
    assert not wrong, explain(
        f"{expected_name.name} does not resolve as expected: {first_of(wrong)}",
        [*wrong, *evidence],
        fix=f"publish the {'/'.join(_wanted_types(expected_name))} records of "
        f"{expected_name.name} in its zone (or fix the profile's expected addresses); a server "
        "that fails only over TCP needs port 53/tcp open (RFC 7766)",
    )


@pytest.mark.check("DNS-03")
async def test_container_resolves_names(
    target: Target, container: ProbeContainer, answers: Answers, pytestconfig: pytest.Config
) -> None:
    """Inside each probe container, its own resolver (libc, resolv.conf) finds the names' AAAA,
    within the resolution threshold."""
    if not target.profile.names:
        pytest.skip("the profile lists no names to resolve ([[names]])")
    if isinstance(answers.inside, str):
        pytest.skip(answers.inside)
    report = seen(pytestconfig, answers.inside[container.network.name])
    threshold = target.profile.resolve_threshold
    expected = {n.name: n.aaaa for n in target.profile.names}
    wrong: list[str] = []
    for lookup in report.lookups:
        want = expected.get(lookup.name, ())
        if not lookup.resolved:
            wrong.append(lookup.describe(report.deadline))
        elif lookup.elapsed_s is not None and lookup.elapsed_s > threshold:
            wrong.append(f"{lookup.describe(report.deadline)}: slower than {threshold:g} s")
        elif want and lookup.address not in want:
            wrong.append(f"{lookup.describe(report.deadline)}, expected {', '.join(want)}")
    silent = [s for s in report.servers if not s.answered]
    cause = ""
    if silent:
        first = " (listed first)" if silent[0] is report.servers[0] else ""
        cause = f"; nameserver {silent[0].describe()}{first}"
    assert not wrong, explain(
        f"in {container.label}, the container's resolver: {first_of(wrong)}" + cause,
        [*wrong, *report.lines()],
        fix=_inside_fix(report, silent),
    )


def _inside_fix(report: resolver.ResolverReport, silent: list[resolver.ServerAnswer]) -> str:
    if silent:
        conf = report.resolv_conf
        wait = conf.options.timeout
        return (
            f"the resolver asks its nameservers in order and waits {wait} s for each silent one "
            f"(up to {conf.worst_case_seconds():g} s per lookup): make "
            f"{', '.join(s.server for s in silent)} reachable from the container, or keep it "
            'out of the container\'s resolv.conf (daemon.json "dns", or `--dns`); see RC-01'
        )
    return (
        "every nameserver answers, so the records are missing or wrong: publish the names' AAAA "
        "records (DNS-02) or correct the profile's expected addresses"
    )


@pytest.mark.check("DNS-04")
async def test_dns64_as_expected(target: Target, answers: Answers) -> None:
    """DNS64 (RFC 7050 discovery via ipv4only.arpa) is there exactly when the profile says."""
    findings = list(answers.dns64.values())
    answered = [f for f in findings if f.result.answered]
    evidence = [f.describe() for f in findings] + [
        line for f in findings for line in f.result.lines()
    ]
    prefixes = sorted({p for f in answered for p in f.prefixes})
    found = f"DNS64 with NAT64 prefix {', '.join(prefixes)}" if prefixes else "no DNS64"
    if not findings:
        pytest.skip("no nameserver is configured (host resolv.conf, profile nameservers)")
    if not answered:
        pytest.skip(
            "cannot tell: no configured nameserver answered ipv4only.arpa AAAA (see DNS-01)"
        )
    expected = target.profile.dns64
    if expected is None:
        pytest.skip(
            f"found {found}; the profile does not say whether DNS64 is expected (dns64 = ...)"
        )
    if expected:
        lacking = [f.server for f in answered if not f.synthesizes]
        assert not lacking, explain(
            f"DNS64 is expected but {', '.join(lacking)} synthesize no AAAA for "
            f"{dns64.QNAME} (RFC 7050)",
            evidence,
            fix='enable DNS64 on these resolvers (unbound: module-config "dns64 validator '
            'iterator", dns64-prefix; BIND: dns64 64:ff9b::/96 { };) or drop them from the host',
        )
    else:
        synthesizing = [f for f in answered if f.synthesizes]
        assert not synthesizing, explain(
            f"{synthesizing[0].server} synthesizes AAAA ({found}) but the profile expects no "
            "DNS64: IPv6 clients will reach IPv4-only names through that NAT64 prefix",
            evidence,
            fix="if this site has a NAT64 gateway at that prefix, set dns64 = true in the profile; "
            "if not, turn DNS64 off on the resolver: its synthesized addresses lead nowhere",
        )
