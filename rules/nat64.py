"""Judgement of NAT64-01 (IPv4-only destinations reached through the site's NAT64) and DNS-05
(the A-only trap on IPv6-only networks): pure functions over probes.nat64's findings."""

from __future__ import annotations

from collections.abc import Mapping

from probes.dns import DEFINITE, DnsResult
from probes.icmp6 import EchoResult
from probes.nat64 import Echo4Result, Synthesis
from rules.judgement import Fix, Judgement, fact, failed, not_observed, passed

DNS64_FIX = (
    "have the resolvers the containers use synthesize AAAA (DNS64, RFC 6147) with the site's "
    "NAT64 prefix, or give the name a native AAAA; Docker passes the host's resolvers on "
    "(any version), its embedded DNS included"
)
NAT64_FIX = (
    "the NAT64 for {prefix} does not translate (or no route leads to it): check that it runs, "
    "that the prefix is routed to it from this host's upstream, and that its IPv4 pool is "
    "routed back to it; this is beyond the Docker host (any Docker version)"
)


def nat64_fix(prefix: str) -> Fix:
    """The NAT64 gateway for the prefix the resolvers synthesize from (the evidence's) must
    translate it: its software is not known from here, so words with the prefix."""
    return Fix(
        NAT64_FIX.format(prefix=prefix), where="NAT64 gateway", values=(("nat64-prefix", prefix),)
    )


def judge_nat64_reach(
    s: Synthesis,
    *,
    echoes: Mapping[str, EchoResult],
    ipv4: Mapping[str, Echo4Result],
    network: str,
) -> Judgement:
    """NAT64-01, one IPv4-only name from one container: the resolvers give a AAAA synthesized
    from its A record, and that address answers echo through the NAT64."""
    evidence = [*s.lines()]
    for address, e in echoes.items():
        evidence += [f"through the NAT64, to {address}:", *e.evidence]
    for address, e4 in ipv4.items():
        evidence += [f"over IPv4 from the host, to {address}:", *e4.evidence]
    if not s.a:
        return not_observed(
            f"{s.name} has no A record: no IPv4-only destination to reach (the profile's "
            "ipv4_only names it)",
            evidence,
        )
    if s.native:
        return not_observed(
            f"{s.name} has a native AAAA ({', '.join(s.native)}): it is no IPv4-only "
            "destination, so it says nothing of the NAT64",
            evidence,
        )
    if not s.synthesized and not s.aaaa_said:
        return not_observed(
            f"no nameserver gave a definite answer for {s.name} AAAA (silence, SERVFAIL or "
            "REFUSED): whether DNS64 synthesizes it cannot be told (DNS-01 judges the servers)",
            evidence,
        )
    if not s.synthesized:
        return failed(
            f"no AAAA for {s.name} (A {', '.join(s.a)}), native or synthesized: the resolvers do "
            "no DNS64, so a container without IPv4 cannot reach it",
            evidence,
            fix_where="DNS server",
            fix=DNS64_FIX,
            hop="far end",
            breaks=[fact("synth", s.name)],
        )
    answered = [a for a, e in echoes.items() if e.answered]
    if answered:
        prefix = s.synthesized[answered[0]]
        return passed(
            f"{s.name} (A {', '.join(s.a)}) answered through the NAT64 at {answered[0]} "
            f"(prefix {prefix})",
            evidence,
        )
    prefix = next(iter(s.synthesized.values()))
    errors = "; ".join(f"{a}: {e.error}" for a, e in echoes.items() if e.error) or "silence"
    head = f"{s.name}'s synthesized AAAA ({', '.join(s.synthesized)}) got no answer through the "
    needs = [fact("path", network), fact("synth", s.name)]
    if any(e.answered for e in ipv4.values()):
        return failed(
            f"{head}NAT64 ({errors}), while its IPv4 address answers over IPv4",
            evidence,
            fix=nat64_fix(prefix),
            hop="far end",
            breaks=[fact("nat64", prefix)],
            needs=needs,
        )
    silent = [a for a, e in ipv4.items() if e.error is None]
    if silent:  # the host could ask over IPv4 and got nothing: the destination may be down
        return not_observed(
            f"{s.name}'s IPv4 address ({', '.join(silent)}) does not answer the host over IPv4 "
            "either: whether the NAT64 works cannot be told from it",
            evidence,
        )
    # the host has no IPv4 of its own toward it (an IPv6-only host): nothing to compare with
    return failed(
        f"{head}NAT64 ({errors}); the host could not ask its IPv4 address itself (no IPv4 "
        "route), so a destination that is down is not ruled out",
        evidence,
        fix=nat64_fix(prefix),
        hop="unknown",
        needs=needs,
    )


def judge_a_only(network: str, answers: Mapping[str, tuple[DnsResult, DnsResult]]) -> Judgement:
    """DNS-05: on an IPv6-only network, through the container's own nameserver, every name the
    profile cares about has a AAAA (native or synthesized); what asking for A only gets is
    stated (IPv4 addresses the network cannot use), and a name that resolves only through A is
    named."""
    evidence: list[str] = []
    traps, silent, a_only_gets = [], [], []
    nothing = []
    for name, (a, aaaa) in answers.items():
        evidence += [*aaaa.lines(), *a.lines()]
        if aaaa.rcode not in DEFINITE:  # silence or a server error says nothing of records
            silent.append(name)
            continue
        if a.addresses:
            a_only_gets.append(f"{name} {', '.join(a.addresses)}")
        if a.addresses and not aaaa.addresses:
            traps.append(f"{name} (A {', '.join(a.addresses)})")
        elif not aaaa.addresses:
            nothing.append(f"{name} ({aaaa.rcode})")
    if silent and len(silent) == len(answers):
        return not_observed(
            f"the nameserver of {network}'s container gave no definite AAAA answer (silence, "
            "SERVFAIL or REFUSED; RC-01 judges it)",
            evidence,
        )
    if nothing and not traps:
        return failed(
            f"on IPv6-only network {network}, {', '.join(nothing)} resolve to nothing at all "
            "through the container's own nameserver",
            evidence,
            fix_where="profile",
            fix="check the names (the profile's names and ipv4_only) and the zone that serves them",
            hop="far end",
            breaks=[fact("name", n.split(" ", 1)[0]) for n in nothing],
        )
    if traps:
        return failed(
            f"on IPv6-only network {network}, {', '.join(traps)} resolve only through A: no "
            "AAAA, native or synthesized, so its containers get nothing they can reach",
            evidence,
            fix_where="DNS server",
            fix=DNS64_FIX,
            hop="far end",
            breaks=[fact("synth", t.split(" ", 1)[0]) for t in traps],
        )
    said = (
        f"; software asking for A only gets {'; '.join(a_only_gets)}: IPv4 it cannot use here"
        if a_only_gets
        else ""
    )
    unknown = f" ({', '.join(silent)}: no definite answer, not judged)" if silent else ""
    return passed(
        f"on IPv6-only network {network}, every name resolves to AAAA through the container's "
        f"own nameserver{unknown}{said}",
        evidence,
    )
