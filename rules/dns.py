"""The DNS checks' rules (DNS-01..DNS-04): pure functions over what the queries, the DNS64
discovery and a container's resolver saw, each returning a :class:`Judgement`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from probes import dns, dns64, resolver
from probes.errors import ProbeError
from probes.profile import ExpectedName
from probes.resolvconf import ResolvConf
from probes.router_advert import AnnouncedServer
from rules.judgement import (
    Fix,
    Judgement,
    fact,
    failed,
    first_of,
    nameserver_fact,
    not_observed,
    passed,
)
from rules.rc import resolver_needs

# DNS-02: one query of a name, by (name, type, server, transport)
NameKey = tuple[str, str, str, str]


def wanted_types(name: ExpectedName) -> tuple[str, ...]:
    """DNS-02: the record types a name must have: AAAA, and A for a dual-stack one."""
    return ("AAAA", "A") if name.dual_stack or name.a else ("AAAA",)


def resolv_evidence(conf: ResolvConf) -> list[str]:
    return [f"{conf.source}:", *(f"  {line}" for line in conf.summary_lines())]


# DNS-01 -----------------------------------------------------------------------------------------
def listen_fix(server: str, origin: str) -> Fix:
    """The DNS server's host answered, nothing listens at ``server``: it must listen there. Its
    software is not known from here: words, with the address (and examples for two servers)."""
    return Fix(
        f"make the DNS server listen on {server} (UDP and TCP port 53), or remove {server} from "
        f"{origin}: every lookup tries it first; its host answered, nothing listens there (for "
        f"example unbound: interface: {server}, BIND: listen-on-v6 {{ {server}; }})",
        where="DNS server",
        values=(("listen", server),),
    )


def judge_resolv_line(host: ResolvConf, *, line: int, problem: str | None) -> Judgement:
    """DNS-01 for a line of the host's resolv.conf that fails to be a nameserver (``line`` 0: the
    file as a whole): always a failure, the file's whole summary as the evidence; a file the
    parser itself failed on is no verdict but a harness error (ProbeError)."""
    host.checked()
    return failed(
        f"{host.source}" + (f" line {line}" if line else "") + f": {problem}",
        resolv_evidence(host),
        fix="correct or remove the line: resolvers skip what they cannot read, so the "
        "host, and every container that copies this file, lose what it meant to say",
        hop="host",
        breaks=(fact("resolv", "this host"),),
    )


def judge_nameserver(result: dns.DnsResult, *, origin: str) -> Judgement:
    """DNS-01: the nameserver (configured in ``origin``) answered the query over IPv6, with
    NOERROR or NXDOMAIN."""
    evidence = [*result.lines(), f"configured in: {origin}"]
    if not result.answered and (result.error or "").startswith("refused"):
        # a port unreachable (UDP) or a reset (TCP) came back: the path to the server works,
        # the server's host is up, and nothing there listens on port 53 over IPv6
        return failed(
            f"nameserver {result.server} refused DNS over IPv6 {result.transport.upper()}: its "
            f"host answered ({result.error}) after {result.elapsed_ms:.0f} ms, so the path "
            "works and nothing listens on port 53 at that address",
            evidence,
            fix=listen_fix(result.server, origin),
            hop="far end",
            breaks=(nameserver_fact(result.server),),
        )
    if not result.answered:
        return failed(
            f"nameserver {result.server} did not answer over IPv6 {result.transport.upper()}: "
            f"{result.error} after {result.elapsed_ms:.0f} ms",
            evidence,
            fix_where="DNS server",
            fix="check that the server listens on its IPv6 address (and port 53 is not filtered), "
            "and that this host routes to it; else remove it from "
            f"{origin}: every lookup waits for it first",
            hop="unknown",  # no answer says where it was lost: the path or the server
            breaks=(nameserver_fact(result.server),),
        )
    if result.rcode not in ("NOERROR", "NXDOMAIN"):
        return failed(
            f"nameserver {result.server} answered over IPv6 but with {result.rcode}",
            evidence,
            fix_where="DNS server",
            fix="REFUSED: allow this host's addresses in the server's access control; "
            "SERVFAIL: the server cannot resolve (its own upstream or DNSSEC)",
            hop="far end",  # it answered: the path works, the server says no
            breaks=(nameserver_fact(result.server),),
        )
    return passed(
        f"nameserver {result.server} answered over IPv6 {result.transport.upper()} with "
        f"{result.rcode} in {result.elapsed_ms:.1f} ms",
        evidence,
    )


def judge_announced_nameservers(
    announced: Sequence[AnnouncedServer],
    answers: Mapping[str, dns.DnsResult],
    *,
    configured: Mapping[str, str],
) -> Judgement:
    """DNS-01 for the nameservers the routers announce (RDNSS, RFC 8106): each one a host would
    use (unicast, lifetime non-zero) answered over IPv6 with NOERROR or NXDOMAIN.

    ``answers``: per announced server (without zone), what it said to DNS-01's question;
    ``configured``: servers that are also the host's own (resolv.conf, profile), by origin."""
    if not announced:
        return not_observed("no router announced an RDNSS server (RA-02 says whether one should)")
    used = [a for a in announced if a.used]
    evidence = [f"announced: {a.text()}" for a in announced]
    unused = [a for a in announced if not a.used]
    evidence += [f"not asked: {a.server}: hosts do not use it (RA-02)" for a in unused]
    if not used:
        return not_observed(
            "no announced RDNSS server is one hosts use (lifetime 0, or not unicast: RA-02): "
            + ", ".join(a.server for a in unused),
            evidence,
        )
    verdicts: list[Judgement] = []
    proofs: list[str] = []
    for server in dict.fromkeys(a.server for a in used):
        routers = ", ".join(a.router for a in used if a.server == server)
        origin = f"the RDNSS option of {routers}"
        if server in configured:
            origin += f" (and {configured[server]})"
        result = answers.get(server)
        if result is None:  # the survey asks every unicast server it saw: a harness fault
            raise ProbeError(f"RDNSS server {server}", "announced, but the survey did not ask it")
        verdicts.append(judge_nameserver(result, origin=origin))
        proofs.append(
            f"{result.server} (from {routers}) {result.rcode} in {result.elapsed_ms:.1f} ms"
        )
    evidence += [line for v in verdicts for line in v.evidence]
    wrong = [v.diagnosis for v in verdicts if not v.ok]
    if wrong:
        first = next(v for v in verdicts if not v.ok)
        return failed(
            first_of(wrong),
            evidence,
            hop=first.hop,
            breaks=[f for v in verdicts for f in v.breaks],
            fix_where="DNS server",
            fix="the routers announce a nameserver hosts cannot use over IPv6: make it answer "
            "on that address (port 53 open, this host's prefix allowed), or announce one that "
            "does (radvd: RDNSS <address> { ... };); hosts that take DNS from RAs (systemd-"
            "networkd, NetworkManager, rdnssd) wait for it first",
        )
    return passed("every announced nameserver answered over IPv6: " + "; ".join(proofs), evidence)


# DNS-02 -----------------------------------------------------------------------------------------
def judge_name(expected: ExpectedName, results: Mapping[NameKey, dns.DnsResult]) -> Judgement:
    """DNS-02: the name resolves to AAAA (and A if dual-stack), over UDP and TCP, to the
    profile's addresses if it lists any, from every configured nameserver that answers at all.

    ``results``: every DNS-02 query, keyed by (name, type, server, transport); those of other
    names are ignored."""
    mine = {k: r for k, r in results.items() if k[0] == expected.name}
    servers = sorted({k[2] for k in mine})
    # a server silent over both transports is DNS-01's finding; judge those that answer
    answering = [s for s in servers if any(r.answered for k, r in mine.items() if k[2] == s)]
    evidence = [line for r in mine.values() for line in r.lines()]
    if not servers:
        return failed(
            f"no nameserver is configured to ask for {expected.name}",
            evidence,
            hop="host",
            fix_where="profile",
            fix="list nameservers in the profile (nameservers = [...]) or the host's resolv.conf",
        )
    if not answering:
        return failed(
            f"no configured nameserver answered for {expected.name} "
            f"({', '.join(servers)}): see DNS-01",
            evidence,
            fix="make a nameserver reachable (DNS-01)",
            hop="unknown",
            needs=[nameserver_fact(server) for server in servers],
        )
    wrong: list[str] = []
    for (_, rtype, server, transport), r in sorted(mine.items()):
        if server not in answering:
            continue
        want = expected.aaaa if rtype == "AAAA" else expected.a
        where = f"{rtype} from {server} over {transport.upper()}"
        if not r.answered:
            wrong.append(f"{where}: {r.error} (it answers the other transport)")
        elif r.rcode != "NOERROR" or not r.addresses:
            wrong.append(f"{where}: {r.rcode}, no {rtype} record")
        elif want and set(r.addresses) != set(want):
            wrong.append(f"{where}: {', '.join(r.addresses)}, expected {', '.join(want)}")
    if wrong:
        return failed(
            f"{expected.name} does not resolve as expected: {first_of(wrong)}",
            [*wrong, *evidence],
            fix_where="DNS server",
            fix=f"publish the {'/'.join(wanted_types(expected))} records of "
            f"{expected.name} in its zone (or fix the profile's expected addresses); a server "
            "that fails only over TCP needs port 53/tcp open (RFC 7766)",
            hop="far end",  # the servers answered: what they said is wrong
            breaks=(fact("name", expected.name),),
        )
    return passed(
        f"{expected.name} resolved to {'/'.join(wanted_types(expected))} as expected from "
        f"{', '.join(answering)} over every transport asked",
        evidence,
    )


# DNS-03 -----------------------------------------------------------------------------------------
def judge_container_lookups(
    report: resolver.ResolverReport,
    *,
    names: Sequence[ExpectedName],
    threshold: float,
    where: str,
    network: str = "",
) -> Judgement:
    """DNS-03: inside a container (``where``, on ``network``), its own resolver resolved every
    name, within
    ``threshold`` seconds (the profile's resolve_threshold), to the profile's AAAA if it lists
    any."""
    expected = {n.name: n.aaaa for n in names}
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
    if wrong:
        cause = ""
        if silent:
            first = " (listed first)" if silent[0] is report.servers[0] else ""
            cause = f"; nameserver {silent[0].describe()}{first}"
        unresolved = [lk.name for lk in report.lookups if not lk.resolved]
        return failed(
            f"in {where}, the container's resolver: {first_of(wrong)}" + cause,
            [*wrong, *report.lines()],
            fix=_inside_fix(report, silent),
            hop=_lookup_hop(report, silent),
            breaks=(fact("lookup", where),),
            needs=(
                *resolver_needs(report, network=network),
                *(fact("name", n) for n in unresolved if not silent),
            ),
        )
    return passed(
        f"in {where}, the container's resolver resolved "
        f"{', '.join(lk.name for lk in report.lookups) or 'no name'} within {threshold:g} s",
        report.lines(),
    )


def _lookup_hop(report: resolver.ResolverReport, silent: list[resolver.ServerAnswer]) -> str:
    """Where a container's lookups broke, from what it saw: its own resolv.conf when it lists
    IPv6 nameservers and it has no IPv6 route; the far end when every server answered (the
    records are wrong); else unknown: a silent server does not say where the query was lost."""
    if not silent:
        return "far end"
    six = [ns for ns in report.resolv_conf.used_nameservers if ns.is_ipv6]
    if six and not report.has_ipv6_route and len(six) == len(silent):
        return "container"
    return "unknown"


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


# DNS-04 -----------------------------------------------------------------------------------------
def dns64_off_fix(servers: Sequence[str], prefixes: Sequence[str]) -> Fix:
    """DNS64 where the profile says the site has no NAT64: turn it off on the resolvers that
    synthesize (the profile is the site's word; where it is wrong, it is what to correct)."""
    named, prefix = ", ".join(dict.fromkeys(servers)), ", ".join(prefixes)
    return Fix(
        f"turn DNS64 off on {named}, which synthesizes AAAA from {prefix} while the profile says "
        "this site has no NAT64 (its synthesized addresses lead nowhere); if this site does "
        f"have a NAT64 gateway at {prefix}, set dns64 = true in the profile instead; for example "
        'unbound: module-config without "dns64" and no dns64-prefix, BIND: no dns64 block',
        where="DNS server",
        values=(
            *(("dns64-off", s) for s in dict.fromkeys(servers)),
            *(("nat64-prefix", p) for p in prefixes),
        ),
    )


def judge_dns64(findings: Sequence[dns64.Dns64Finding], *, expected: bool | None) -> Judgement:
    """DNS-04: DNS64 (RFC 7050 discovery via ipv4only.arpa) is there exactly when the profile
    says (``expected``, its dns64; None: it does not say, so nothing is judged)."""
    answered = [f for f in findings if f.result.answered]
    evidence = [f.describe() for f in findings] + [
        line for f in findings for line in f.result.lines()
    ]
    prefixes = sorted({p for f in answered for p in f.prefixes})
    found = f"DNS64 with NAT64 prefix {', '.join(prefixes)}" if prefixes else "no DNS64"
    if not findings:
        return not_observed(
            "no nameserver is configured (host resolv.conf, profile nameservers)", evidence
        )
    if not answered:
        return not_observed(
            "cannot tell: no configured nameserver answered ipv4only.arpa AAAA (see DNS-01)",
            evidence,
        )
    if expected is None:
        return not_observed(
            f"found {found}; the profile does not say whether DNS64 is expected (dns64 = ...)",
            evidence,
        )
    if expected:
        lacking = [f.server for f in answered if not f.synthesizes]
        if lacking:
            return failed(
                f"DNS64 is expected but {', '.join(lacking)} synthesize no AAAA for "
                f"{dns64.QNAME} (RFC 7050)",
                evidence,
                hop="far end",
                fix_where="DNS server",
                fix='enable DNS64 on these resolvers (unbound: module-config "dns64 validator '
                'iterator", dns64-prefix; BIND: dns64 64:ff9b::/96 { };) or drop them from the '
                "host",
            )
        return passed(
            f"DNS64 is expected and every answering nameserver synthesizes AAAA: {found}",
            evidence,
        )
    synthesizing = [f for f in answered if f.synthesizes]
    if synthesizing:
        return failed(
            f"{synthesizing[0].server} synthesizes AAAA ({found}) but the profile expects no "
            "DNS64: IPv6 clients will reach IPv4-only names through that NAT64 prefix",
            evidence,
            hop="far end",
            fix=dns64_off_fix([f.server for f in synthesizing], prefixes),
        )
    return passed(
        f"no DNS64 is expected and no answering nameserver synthesizes AAAA for {dns64.QNAME}",
        evidence,
    )
