"""AF-01: the address family an application in a container uses for a dual-stack name.

The verdict rests on what the container's own C library returned (``probes.family``): the first
answer of an AF_UNSPEC ``getaddrinfo`` is what an application that takes the first answer
connects to. :mod:`rules.rfc6724` only explains it: which rule of RFC 6724 §6 put IPv4 first,
with the C library's own policy table (glibc's RFC 3484 one or what ``/etc/gai.conf`` makes of
it, musl's), and so the fix. How long a client waits before it falls back to the other family
is shown, never judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Literal

from probes.family import FamilyReport, NameOrder
from rules.judgement import Fix, Judgement, fact, failed, not_observed, passed, worst_of
from rules.rfc6724 import (
    GLIBC,
    MUSL,
    RFC6724,
    Decision,
    Destination,
    PolicyTable,
    decide,
    parse_gai_conf,
)

Prefer = Literal["ipv6", "any"]
HAPPY_EYEBALLS_S = 0.25  # RFC 8305 §5: the recommended Connection Attempt Delay
ULA = ipaddress.IPv6Network("fc00::/7")

# glibc's label table with ULA given ::/0's label (gai.conf replaces the whole half): a ULA
# source then matches a global destination's label (Rule 5), and Rule 6 ranks ::/0 (40) above
# IPv4 (glibc: 10)
GAI_LABEL_LINES = (
    "label ::1/128 0",
    "label ::/0 1",
    "label fc00::/7 1",
    "label 2002::/16 2",
    "label ::/96 3",
    "label ::ffff:0:0/96 4",
    "label fec0::/10 5",
    "label 2001:0::/32 7",
)
# ... and its precedence table with ULA destinations above IPv4, for Rule 6
GAI_PRECEDENCE_LINES = (
    "precedence ::1/128 50",
    "precedence ::/0 40",
    "precedence fc00::/7 40",
    "precedence 2002::/16 30",
    "precedence ::/96 20",
    "precedence ::ffff:0:0/96 10",
)


def policy_of(report: FamilyReport) -> tuple[PolicyTable, tuple[str, ...]]:
    """The policy table the container's C library sorts with, and the gai.conf lines that made
    it (glibc only: musl reads no gai.conf)."""
    if report.libc == "glibc":
        return parse_gai_conf(report.gai_conf or "", GLIBC)
    if report.libc == "musl":
        return MUSL, ()
    return RFC6724, ()


def ula_site(address: str | None) -> str | None:
    """The ULA /48 (RFC 4193: fd + 40-bit global ID) an address belongs to, if it is a ULA."""
    if address is None:
        return None
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return None
    if ip not in ULA:
        return None
    return str(ipaddress.IPv6Network(f"{ip}/48", strict=False))


def fallback_lines(report: FamilyReport) -> list[str]:
    """How long a client waits before it tries the other family, and what that rests on."""
    out = []
    retries = report.tcp_syn_retries
    if retries is not None:
        # the SYN is sent again after 1, 2, 4 … s (initial RTO 1 s, RFC 6298 §2.1, doubling)
        wait = (1 << (retries + 1)) - 1
        out.append(
            f"fallback: an application that tries the answers in order waits about {wait} s on "
            f"a first address that does not answer before it tries the next (TCP connect: "
            f"net.ipv4.tcp_syn_retries = {retries} in the container's namespace, RTO from 1 s "
            "doubling; applies to IPv6 too) unless it sets its own timeout; one with Happy "
            f"Eyeballs (RFC 8305 §5) starts the other family after {HAPPY_EYEBALLS_S * 1000:.0f} ms"
        )
    if report.resolv_conf is not None:
        o = report.resolv_conf.options
        out.append(
            f"fallback: the lookup itself, if a nameserver is silent: up to "
            f"{report.resolv_conf.worst_case_seconds():g} s (resolv.conf timeout:{o.timeout} "
            f"attempts:{o.attempts} over {len(report.resolv_conf.used_nameservers)} "
            "nameserver(s), glibc's schedule)"
        )
    return out


def _version(address: str) -> int:
    return ipaddress.ip_address(address.split("%", 1)[0]).version


def combined(judgements: Sequence[Judgement]) -> Judgement:
    """One verdict over several containers or names: the first failure; else a pass where any
    passed (what could not be judged elsewhere, a name not dual-stack from an image that asks
    with AI_ADDRCONFIG, is kept in the evidence); else not observed."""
    if any(j.outcome == "fail" for j in judgements) or not any(j.ok for j in judgements):
        return worst_of(judgements)
    ok = [j for j in judgements if j.ok]
    verdict = worst_of(ok)
    unjudged = [f"not judged: {j.diagnosis}" for j in judgements if not j.ok]
    return Judgement("pass", verdict.diagnosis, (*verdict.evidence, *unjudged))


def judge_family(
    reports: Sequence[FamilyReport],
    *,
    prefer: Prefer,
    network: str,
    daemon_major: int | None = None,
) -> Judgement:
    """AF-01 for one network: in each container asked there, every name's first answer in the
    family the profile prefers."""
    if not reports:
        return not_observed(f"no container on {network} was asked")
    return combined(
        [
            judge_container(r, prefer=prefer, network=network, daemon_major=daemon_major)
            for r in reports
        ]
    )


def judge_container(
    report: FamilyReport, *, prefer: Prefer, network: str, daemon_major: int | None = None
) -> Judgement:
    """AF-01 for one container: every name's first answer in the family the profile prefers."""
    if not report.names:
        return not_observed("the profile lists no dual-stack names ([family] names, [[names]])")
    if report.unfaithful is not None:
        return not_observed(f"{report.where}: {report.unfaithful}")
    judgements = [
        _judge_name(report, n, prefer=prefer, network=network, daemon_major=daemon_major)
        for n in report.names
    ]
    verdict = combined(judgements)
    extra = [*report.lines(), *fallback_lines(report)]
    return Judgement(
        verdict.outcome,
        verdict.diagnosis,
        (*verdict.evidence, *extra),
        verdict.remedy,
        verdict.hop,
        verdict.breaks,
        verdict.needs,
    )


def _judge_name(
    report: FamilyReport,
    n: NameOrder,
    *,
    prefer: Prefer,
    network: str,
    daemon_major: int | None,
) -> Judgement:
    six, four = n.candidates(6), n.candidates(4)
    if not six or not four:
        lacking = " and ".join(w for w, got in (("AAAA", six), ("A", four)) if not got)
        return not_observed(
            f"{n.name} does not resolve dual-stack in {report.where} (no {lacking} answer from "
            "its C library): no family to choose between"
        )
    first = n.first
    if first is None:
        return not_observed(
            f"{report.where}'s C library returned nothing for {n.name} (AF_UNSPEC) though "
            "each family resolved: no first answer to judge"
        )
    table, gai_lines = policy_of(report)
    v6 = Destination(six[0], n.source_of(six[0]))
    v4 = Destination(four[0], n.source_of(four[0]))
    order, decision = decide(v6, v4, table)
    model_v6 = order <= 0  # Rule 10 keeps the order given: the AAAA answer comes first
    if report.modelled:
        ahead = v6 if model_v6 else v4
        words = f"{decision.why} ({table.name})"
        if gai_lines:
            words += f"; /etc/gai.conf: {'; '.join(gai_lines)}"
        return not_observed(
            f"{report.where}: modelled, not observed (a workload is only read; its C library "
            f"is not run): its {report.libc} would put IPv{6 if model_v6 else 4} first for "
            f"{n.name} ({ahead.address} from {ahead.source or 'no source'}): {words}"
        )
    used = _version(first)
    src = n.source_of(first)
    said = f"{n.name}: the first answer is {first} (from {src or 'no source'}): IPv{used}"
    why = _why(decision, table, gai_lines, report, model_v6, used)
    evidence = [f"{said}; {why}"]
    who = f"{report.where} ({report.libc})"
    if used == 6:
        return passed(f"{who}: {n.name}: IPv6 first ({first} from {src})", evidence)
    if prefer == "any":
        return passed(
            f"{who}: {n.name}: IPv4 first ({first}); the profile accepts either family",
            evidence,
        )
    site = ula_site(v6.source)
    breaks = [fact("ula", site)] if site else []
    if decision.rule == 1 and v6.source is None:
        breaks.append(fact("route", report.where.removeprefix("container ")))
    if gai_lines:
        breaks.append(fact("gai", report.where.removeprefix("container ")))
    return failed(
        f"an application in {report.where} that takes the first answer for {n.name} connects "
        f"over IPv4 ({first} from {src}), not IPv6 ({v6.address} from "
        f"{v6.source or 'no source'}): {why}",
        evidence,
        fix=_fix(decision, report, v6, network, daemon_major),
        hop="container" if gai_lines or decision.rule == 1 else "bridge",
        breaks=breaks,
    )


def _why(
    decision: Decision,
    table: PolicyTable,
    gai_lines: tuple[str, ...],
    report: FamilyReport,
    model_v6: bool,
    used: int,
) -> str:
    if model_v6 != (used == 6):
        return (
            f"the C library's own order ({report.libc}): RFC 6724 with {table.name} puts "
            f"IPv{6 if model_v6 else 4} first ({decision.why}), the library did not"
        )
    words = f"{decision.why} ({table.name}, RFC 6724 §6)"
    if gai_lines:
        words += f"; /etc/gai.conf: {'; '.join(gai_lines)}"
    return words


def _fix(
    decision: Decision,
    report: FamilyReport,
    v6: Destination,
    network: str,
    daemon_major: int | None,
) -> Fix:
    routed = (
        # the default bridge takes its prefix from daemon.json (its gateway mode cannot be set)
        'daemon.json: "fixed-cidr-v6": "<a global /64 of the site\'s>" (then restart dockerd)'
        if network == "bridge"
        else f"docker network create --ipv6 --subnet <a global /64 of the site's> "
        f"-o com.docker.network.bridge.gateway_mode_ipv6=routed {network}"
    )
    if decision.rule == 1 or v6.source is None:
        return Fix(
            f"give {network}'s containers an IPv6 route to {v6.address} (a global address "
            "and default route: see GW-02): without a source address IPv6 is unusable (Rule 1)"
        )
    global_prefix = (
        f"give {network} a global IPv6 prefix routed to this host (Docker 27 and later: "
        "gateway mode routed; the upstream routes the prefix here) so containers' sources "
        "are global: RFC 6724 ranks global IPv6 above IPv4"
    )
    if report.libc == "musl":
        return Fix(
            f"{global_prefix} (musl reads no /etc/gai.conf: its table cannot be changed)",
            (routed,),
            docker=">= 27",
        )
    lines = GAI_LABEL_LINES if decision.rule == 5 else GAI_PRECEDENCE_LINES
    if report.libc == "glibc" and decision.rule in (5, 6):
        return Fix(
            f"{global_prefix}; or, for glibc images, an /etc/gai.conf that ranks ULA as "
            f"global ({'label' if decision.rule == 5 else 'precedence'} lines replace the "
            "whole built-in half, so all of them): " + "; ".join(lines),
            (routed, *(f"echo '{line}' >> /etc/gai.conf" for line in lines)),
            docker=">= 27",
        )
    return Fix(global_prefix, (routed,), docker=">= 27")
