"""The DNS checks' judgement (DNS-01..DNS-04) on crafted probe results: no lab, no fixtures."""

from __future__ import annotations

from probes import dns, dns64
from probes.profile import ExpectedName
from probes.resolvconf import parse_resolv_conf
from probes.resolver import Lookup, ResolverReport, ServerAnswer
from probes.router_advert import AnnouncedServer
from rules.dns import (
    judge_announced_nameservers,
    judge_container_lookups,
    judge_dns64,
    judge_name,
    judge_nameserver,
    judge_resolv_line,
    wanted_types,
)
from rules.judgement import Judgement

NS6 = "2001:db8:53::53"
NS6B = "2001:db8:53::54"
WWW = "www.lab.example"
TRANSPORTS: tuple[dns.Transport, ...] = ("udp", "tcp")


def reply(
    server: str = NS6,
    *,
    qname: str = WWW,
    rdtype: str = "AAAA",
    transport: dns.Transport = "udp",
    rcode: str | None = "NOERROR",
    addresses: tuple[str, ...] = ("2001:db8:f00d::80",),
    error: str | None = None,
) -> dns.DnsResult:
    if rcode is None:
        return dns.DnsResult(
            server, transport, qname, rdtype, None, (), (), 1000.4, error or "timed out"
        )
    answer = tuple(f"{qname}. 300 IN {rdtype} {a}" for a in addresses)
    return dns.DnsResult(server, transport, qname, rdtype, rcode, answer, addresses, 2.5, None)


# --- DNS-01 -------------------------------------------------------------------------------------


def test_dns01_a_broken_resolv_conf_line_fails_with_the_file_and_the_line() -> None:
    host = parse_resolv_conf("nameserver dns.lab.example\n", source="/etc/resolv.conf")
    j = judge_resolv_line(host, line=1, problem="not an IP address: 'dns.lab.example'")
    assert j.outcome == "fail"
    assert j.diagnosis == "/etc/resolv.conf line 1: not an IP address: 'dns.lab.example'"
    assert j.evidence[0] == "/etc/resolv.conf:"
    assert j.evidence[1].startswith("  /etc/resolv.conf: 1 lines")
    assert (j.fix or "").startswith("correct or remove the line")


def test_dns01_a_whole_broken_file_names_no_line() -> None:
    host = parse_resolv_conf(b"\x00\x01", source="/etc/resolv.conf")
    j = judge_resolv_line(host, line=0, problem="no valid nameserver line")
    assert j.diagnosis == "/etc/resolv.conf: no valid nameserver line"


def test_dns01_passes_on_noerror_and_on_nxdomain() -> None:
    j = judge_nameserver(reply(rdtype="NS"), origin="/etc/resolv.conf line 1")
    assert j.outcome == "pass", j
    assert j.diagnosis == f"nameserver {NS6} answered over IPv6 UDP with NOERROR in 2.5 ms"
    assert j.evidence[-1] == "configured in: /etc/resolv.conf line 1"
    assert judge_nameserver(reply(rcode="NXDOMAIN", addresses=()), origin="profile").ok


def test_dns01_says_a_refusing_server_answered_and_places_it_at_the_far_end() -> None:
    """A port unreachable came back: the path works and nothing listens there; not "nothing
    came back"."""
    refused = "refused (port unreachable, or TCP reset)"
    j = judge_nameserver(reply(rcode=None, error=refused), origin="profile")
    assert j.outcome == "fail"
    assert "nothing listens on port 53" in j.diagnosis
    assert j.hop == "far end"
    assert j.remedy is not None
    assert j.remedy.where == "DNS server"
    # the address the server must listen on, from the evidence, named in words and as a value
    assert j.remedy.values == (("listen", NS6),)
    assert f"listen on {NS6}" in j.remedy.text
    assert "<" not in j.remedy.text


def test_dns01_fails_on_a_silent_nameserver_with_the_time_it_waited() -> None:
    j = judge_nameserver(reply(rcode=None, error="timed out"), origin="profile")
    assert j.outcome == "fail"
    assert j.diagnosis == f"nameserver {NS6} did not answer over IPv6 UDP: timed out after 1000 ms"
    assert (j.fix or "").endswith("else remove it from profile: every lookup waits for it first")


def test_dns01_fails_on_refused_and_servfail() -> None:
    for rcode in ("REFUSED", "SERVFAIL"):
        j = judge_nameserver(reply(rcode=rcode, addresses=()), origin="profile")
        assert j.outcome == "fail"
        assert j.diagnosis == f"nameserver {NS6} answered over IPv6 but with {rcode}"
        assert (j.fix or "").startswith("REFUSED: allow this host's addresses")


ROUTER = "fe80::1"


def test_dns01_announced_servers_pass_when_each_answers() -> None:
    announced = (AnnouncedServer(NS6, ROUTER, 600), AnnouncedServer(NS6B, ROUTER, 600))
    j = judge_announced_nameservers(
        announced,
        {NS6: reply(rdtype="NS"), NS6B: reply(NS6B, rcode="NXDOMAIN", addresses=())},
        configured={NS6: "/etc/resolv.conf line 1"},
    )
    assert j.outcome == "pass", j
    assert j.diagnosis == (
        f"every announced nameserver answered over IPv6: {NS6} (from {ROUTER}) NOERROR in 2.5 ms; "
        f"{NS6B} (from {ROUTER}) NXDOMAIN in 2.5 ms"
    )
    assert f"configured in: the RDNSS option of {ROUTER} (and /etc/resolv.conf line 1)" in (
        j.evidence
    )
    assert f"announced: {NS6B} announced by {ROUTER} (lifetime 600 s)" in j.evidence


def test_dns01_announced_server_that_is_silent_fails_and_names_its_router() -> None:
    j = judge_announced_nameservers(
        (AnnouncedServer(NS6, ROUTER, 600),),
        {NS6: reply(rcode=None, error="timed out")},
        configured={},
    )
    assert j.outcome == "fail"
    assert j.diagnosis == f"nameserver {NS6} did not answer over IPv6 UDP: timed out after 1000 ms"
    assert f"configured in: the RDNSS option of {ROUTER}" in j.evidence
    assert "announce one that does" in (j.fix or "")


def test_dns01_announced_servers_hosts_do_not_use_are_not_judged() -> None:
    # lifetime 0 tells hosts to stop using the server; a multicast one is no server: RA-02
    unused = (AnnouncedServer(NS6, ROUTER, 0), AnnouncedServer("ff02::1", ROUTER, 600))
    j = judge_announced_nameservers(unused, {}, configured={})
    assert j.outcome == "not-observed"
    assert "no announced RDNSS server is one hosts use" in j.diagnosis
    mixed = judge_announced_nameservers(
        (*unused, AnnouncedServer(NS6B, ROUTER, 600)), {NS6B: reply(NS6B)}, configured={}
    )
    assert mixed.outcome == "pass", mixed
    assert f"not asked: {NS6}: hosts do not use it (RA-02)" in mixed.evidence


def test_dns01_no_announced_server_is_not_observed() -> None:
    j = judge_announced_nameservers((), {}, configured={})
    assert j.outcome == "not-observed"
    assert j.diagnosis.startswith("no router announced an RDNSS server")


# --- DNS-02 -------------------------------------------------------------------------------------


def asked(
    name: ExpectedName, servers: tuple[str, ...] = (NS6,), **overrides: dns.DnsResult
) -> dict[tuple[str, str, str, str], dns.DnsResult]:
    """Every query DNS-02 makes for ``name``, all answered right, but for ``overrides`` by
    "TYPE_server_transport" (server's index)."""
    out: dict[tuple[str, str, str, str], dns.DnsResult] = {}
    for t in wanted_types(name):
        for i, s in enumerate(servers):
            for tr in TRANSPORTS:
                good = (
                    (name.aaaa or ("2001:db8:f00d::80",))
                    if t == "AAAA"
                    else name.a or ("192.0.2.80",)
                )
                r = reply(s, qname=name.name, rdtype=t, transport=tr, addresses=good)
                out[(name.name, t, s, tr)] = overrides.get(f"{t}_{i}_{tr}", r)
    return out


def test_dns02_wants_a_records_of_a_dual_stack_name_only() -> None:
    assert wanted_types(ExpectedName(WWW)) == ("AAAA",)
    assert wanted_types(ExpectedName(WWW, dual_stack=True)) == ("AAAA", "A")
    assert wanted_types(ExpectedName(WWW, a=("192.0.2.80",))) == ("AAAA", "A")


def test_dns02_passes_when_every_answering_server_gives_the_records() -> None:
    name = ExpectedName(WWW, aaaa=("2001:db8:f00d::80",), a=("192.0.2.80",))
    results = asked(name, (NS6, "203.0.113.53"))
    results |= asked(ExpectedName("other.lab.example"), AAAA_0_udp=reply(rcode=None))
    j = judge_name(name, results)
    assert j.outcome == "pass", j
    assert len(j.evidence) == 2 * 2 * 2 * 2  # types × servers × transports, a line and an RR


def test_dns02_fails_with_no_server_to_ask() -> None:
    j = judge_name(ExpectedName(WWW), {})
    assert j.outcome == "fail"
    assert j.diagnosis == f"no nameserver is configured to ask for {WWW}"


def test_dns02_fails_when_no_server_answers_and_points_at_dns01() -> None:
    silent = reply(rcode=None)
    name = ExpectedName(WWW)
    j = judge_name(name, asked(name, AAAA_0_udp=silent, AAAA_0_tcp=silent))
    assert j.outcome == "fail"
    assert j.diagnosis == f"no configured nameserver answered for {WWW} ({NS6}): see DNS-01"
    assert j.fix == "make a nameserver reachable (DNS-01)"


def test_dns02_a_server_silent_on_both_transports_is_left_to_dns01() -> None:
    silent = reply(NS6B, rcode=None)
    results = asked(ExpectedName(WWW), (NS6, NS6B), AAAA_1_udp=silent, AAAA_1_tcp=silent)
    assert judge_name(ExpectedName(WWW), results).ok


def test_dns02_fails_on_a_server_silent_over_tcp_only() -> None:
    results = asked(ExpectedName(WWW), AAAA_0_tcp=reply(transport="tcp", rcode=None))
    j = judge_name(ExpectedName(WWW), results)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"{WWW} does not resolve as expected: AAAA from {NS6} over TCP: timed out "
        "(it answers the other transport)"
    )
    assert j.evidence[0] == f"AAAA from {NS6} over TCP: timed out (it answers the other transport)"
    assert "53/tcp open (RFC 7766)" in (j.fix or "")


def test_dns02_fails_on_no_record_and_counts_the_others() -> None:
    name = ExpectedName(WWW, dual_stack=True)
    none = reply(rcode="NXDOMAIN", addresses=())
    j = judge_name(name, asked(name, A_0_udp=none, A_0_tcp=none))
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(f"A from {NS6} over TCP: NXDOMAIN, no A record (and 1 more)")
    assert (j.fix or "").startswith(f"publish the AAAA/A records of {WWW}")


def test_dns02_fails_on_an_answer_without_the_record() -> None:
    nodata = reply(rcode="NOERROR", addresses=())
    j = judge_name(ExpectedName(WWW), asked(ExpectedName(WWW), AAAA_0_udp=nodata))
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(f"AAAA from {NS6} over UDP: NOERROR, no AAAA record")


def test_dns02_fails_on_other_addresses_than_the_profiles() -> None:
    name = ExpectedName(WWW, aaaa=("2001:db8:f00d::80",))
    other = reply(addresses=("2001:db8:f00d::99",))
    j = judge_name(name, asked(name, AAAA_0_udp=other))
    assert j.diagnosis.endswith(
        f"AAAA from {NS6} over UDP: 2001:db8:f00d::99, expected 2001:db8:f00d::80"
    )


# --- DNS-03 -------------------------------------------------------------------------------------

CONF = parse_resolv_conf("nameserver 127.0.0.11\nnameserver 2001:db8:53::53\n")


def lookup(
    name: str = WWW,
    elapsed: float | None = 0.02,
    address: str | None = "2001:db8:f00d::80",
    *,
    killed: bool = False,
) -> Lookup:
    return Lookup(name, "IPv6", elapsed, address, killed, "")


def server(address: str, answered: bool = True) -> ServerAnswer:
    if answered:
        return ServerAnswer(address, 0.01, "NOERROR", "answered", "")
    return ServerAnswer(address, 1.0, None, "no answer before the deadline", "")


def report(*lookups: Lookup, servers: tuple[ServerAnswer, ...] = ()) -> ResolverReport:
    servers = servers or (server("127.0.0.11"), server(NS6))
    routes = ("2001:db8:1::/64 dev eth0",)
    return ResolverReport("container c", CONF, routes, lookups, servers, 1.0, True)


NAMES = (ExpectedName(WWW, aaaa=("2001:db8:f00d::80",)), ExpectedName("v6only.lab.example"))


def judge_inside(r: ResolverReport, threshold: float = 1.0) -> Judgement:
    return judge_container_lookups(r, names=NAMES, threshold=threshold, where="bridge/c")


def test_dns03_passes_on_every_name_within_the_threshold() -> None:
    j = judge_inside(report(lookup(), lookup("v6only.lab.example", 0.3, "2001:db8:f00d::66")))
    assert j.outcome == "pass", j
    assert "www.lab.example, v6only.lab.example within 1 s" in j.diagnosis
    assert j.evidence[0] == "container c: resolv.conf"


def test_dns03_fails_on_a_name_that_did_not_resolve() -> None:
    j = judge_inside(report(lookup(), lookup("v6only.lab.example", 0.1, None)))
    assert j.outcome == "fail"
    assert j.diagnosis == (
        "in bridge/c, the container's resolver: v6only.lab.example (AAAA): failed after 0.10 s: "
        "no output"
    )
    assert j.fix == (
        "every nameserver answers, so the records are missing or wrong: publish the names' AAAA "
        "records (DNS-02) or correct the profile's expected addresses"
    )


def test_dns03_fails_on_a_slow_name() -> None:
    j = judge_inside(report(lookup(elapsed=1.4)), threshold=1.0)
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(f"{WWW} (AAAA): 2001:db8:f00d::80 after 1.40 s: slower than 1 s")


def test_dns03_fails_on_an_address_the_profile_does_not_expect() -> None:
    j = judge_inside(report(lookup(address="2001:db8:f00d::99")))
    assert j.diagnosis.endswith("2001:db8:f00d::99 after 0.02 s, expected 2001:db8:f00d::80")


def test_dns03_names_the_silent_nameserver_listed_first_as_the_cause() -> None:
    silent = (server("127.0.0.11", answered=False), server(NS6))
    j = judge_inside(report(lookup(elapsed=None, address=None, killed=True), servers=silent))
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"in bridge/c, the container's resolver: {WWW} (AAAA): still resolving after 1 s "
        "(stopped there); nameserver 127.0.0.11: no answer before the deadline after 1.00 s "
        "(listed first)"
    )
    assert j.fix == (
        "the resolver asks its nameservers in order and waits 5 s for each silent one (up to 20 s "
        "per lookup): make 127.0.0.11 reachable from the container, or keep it out of the "
        'container\'s resolv.conf (daemon.json "dns", or `--dns`); see RC-01'
    )
    later = (server("127.0.0.11"), server(NS6, answered=False))
    j = judge_inside(report(lookup(address=None), servers=later))
    assert "listed first" not in j.diagnosis
    assert f"; nameserver {NS6}: no answer" in j.diagnosis


# --- DNS-04 -------------------------------------------------------------------------------------


def finding(server: str, *addresses: str, answered: bool = True) -> dns64.Dns64Finding:
    if not answered:
        return dns64.judge(reply(server, qname=dns64.QNAME, rcode=None))
    return dns64.judge(reply(server, qname=dns64.QNAME, addresses=addresses))


SYNTH = finding(NS6, "2001:db8:64::c000:aa", "2001:db8:64::c000:ab")
PLAIN = finding(NS6B)


def test_dns04_not_observed_without_a_nameserver() -> None:
    j = judge_dns64([], expected=True)
    assert (j.outcome, j.diagnosis) == (
        "not-observed",
        "no nameserver is configured (host resolv.conf, profile nameservers)",
    )


def test_dns04_not_observed_when_none_answered() -> None:
    j = judge_dns64([finding(NS6, answered=False)], expected=False)
    assert j.outcome == "not-observed"
    assert j.diagnosis == (
        "cannot tell: no configured nameserver answered ipv4only.arpa AAAA (see DNS-01)"
    )


def test_dns04_not_observed_without_an_expectation_but_says_what_it_found() -> None:
    j = judge_dns64([SYNTH], expected=None)
    assert j.outcome == "not-observed"
    assert j.diagnosis == (
        "found DNS64 with NAT64 prefix 2001:db8:64::/96; the profile does not say whether DNS64 "
        "is expected (dns64 = ...)"
    )
    assert judge_dns64([PLAIN], expected=None).diagnosis.startswith("found no DNS64;")


def test_dns04_passes_when_dns64_is_there_as_expected_and_absent_as_expected() -> None:
    assert judge_dns64([SYNTH, finding(NS6B, answered=False)], expected=True).ok
    assert judge_dns64([PLAIN], expected=False).ok


def test_dns04_fails_on_a_resolver_without_dns64_where_it_is_expected() -> None:
    j = judge_dns64([SYNTH, PLAIN], expected=True)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"DNS64 is expected but {NS6B} synthesize no AAAA for ipv4only.arpa (RFC 7050)"
    )
    assert j.evidence[0].startswith(f"{NS6}: DNS64, NAT64 prefix 2001:db8:64::/96")
    assert j.fix == (
        'enable DNS64 on these resolvers (unbound: module-config "dns64 validator iterator", '
        "dns64-prefix; BIND: dns64 64:ff9b::/96 { };) or drop them from the host"
    )


def test_dns04_fails_on_dns64_where_none_is_expected() -> None:
    j = judge_dns64([PLAIN, SYNTH], expected=False)
    assert j.outcome == "fail"
    assert j.diagnosis.startswith(
        f"{NS6} synthesizes AAAA (DNS64 with NAT64 prefix 2001:db8:64::/96) but the profile "
        "expects no DNS64"
    )
    # what to turn off and where, named: the resolver that synthesizes and its prefix
    assert j.remedy is not None
    assert j.remedy.where == "DNS server"
    assert j.fix is not None
    assert j.fix.startswith(
        f"turn DNS64 off on {NS6}, which synthesizes AAAA from 2001:db8:64::/96 while the "
        "profile says this site has no NAT64"
    )
    assert j.remedy.values == (("dns64-off", NS6), ("nat64-prefix", "2001:db8:64::/96"))
