"""Judgement of the endpoint checks EP-01 (the name is dual-stack, and sound at a zone apex),
EP-02 (every address answers from the host) and EP-03 (from each network's container): pure
functions over probes.endpoint's findings."""

from __future__ import annotations

from collections.abc import Sequence

from probes.dns import DEFINITE
from probes.endpoint import Attempt, NameView
from probes.profile import Endpoint
from rules.judgement import Judgement, fact, failed, not_observed, passed

APEX_FIX = (
    "publish AAAA (and A) records at {name} itself; at a zone apex no CNAME may stand beside "
    "the SOA and NS (RFC 1034 §3.6.2, RFC 2181 §10.1): use address records, or the DNS "
    "provider's apex alias (ALIAS/ANAME), which answers with them"
)


def judge_name(view: NameView, endpoint: Endpoint) -> Judgement:
    """EP-01: the endpoint's name has both A and AAAA records; at a zone apex, no CNAME."""
    name = endpoint.name
    evidence = view.lines()
    said = {r.rdtype: r.rcode in DEFINITE for r in (view.a, view.aaaa)}
    if not said["A"] and not said["AAAA"]:
        return not_observed(
            f"no nameserver gave a definite answer for {name} ({view.aaaa.rcode or 'silence'}): "
            "DNS-01 judges the servers",
            evidence,
        )
    if view.a.rcode == "NXDOMAIN" and view.aaaa.rcode == "NXDOMAIN":
        return failed(
            f"{name} does not exist (NXDOMAIN): the endpoint has no name clients can resolve",
            evidence,
            fix_where="DNS server",
            fix=f"publish {name} (A and AAAA records) in its zone, or correct the profile",
            hop="far end",
            breaks=[fact("name", name)],
        )
    problems = []
    apex = view.apex
    called = f"{name} (the zone apex)" if apex else name
    if said["AAAA"] and not view.aaaa.addresses:
        problems.append(f"{called} has no AAAA: IPv6 clients cannot reach it")
    if said["A"] and not view.a.addresses:
        problems.append(f"{called} has no A: a dual-stack endpoint needs both")
    if apex and view.cnames:
        problems.append(f"{name} is a zone apex with a CNAME beside its SOA and NS")
    where = " (a zone apex: SOA at the name, no CNAME)" if apex else ""
    if not problems and not all(said.values()):
        missing = next(t for t, ok in said.items() if not ok)
        return not_observed(
            f"{name}'s {missing} query got no definite answer: whether it is dual-stack cannot "
            "be told",
            evidence,
        )
    if problems:
        return failed(
            "; ".join(problems),
            evidence,
            fix_where="DNS server",
            fix=APEX_FIX.format(name=name),
            hop="far end",
            breaks=[fact("name", name)],
        )
    return passed(
        f"{name} has A {', '.join(view.a.addresses)} and AAAA {', '.join(view.aaaa.addresses)}"
        f"{where}",
        evidence,
    )


def judge_reach(
    endpoint: Endpoint,
    view: NameView,
    attempts: Sequence[Attempt],
    *,
    where: str,
    ipv4: bool = True,
    network: str | None = None,
) -> Judgement:
    """EP-02 / EP-03: every address of the endpoint's name answers from ``where`` (the host,
    or a network's container): a TCP connect, and for http(s) a status line. ``ipv4``: whether
    the vantage has IPv4 at all (an IPv6-only network's container tries only the AAAA)."""
    evidence = [f"from {where}:", *(a.text() for a in attempts), "the name:", *view.lines()]
    label = endpoint.label
    if not view.a.addresses and not view.aaaa.addresses:
        return not_observed(f"{endpoint.name} has no address to try (EP-01)", evidence)
    v6 = [a for a in attempts if a.family == "IPv6"]
    v4 = [a for a in attempts if a.family == "IPv4"]
    bad = [a for a in attempts if not a.ok]
    needs = [fact("path", network)] if network else []
    if not v6:
        reached = "is reached over IPv4 only" if ipv4 else "cannot be reached at all (no IPv4 here)"
        return failed(
            f"{label} {reached} from {where}: its name has no AAAA (EP-01)",
            evidence,
            fix_where="DNS server",
            fix=APEX_FIX.format(name=endpoint.name),
            hop="far end",
            needs=[*needs, fact("name", endpoint.name)],
        )
    if not bad:
        families = "both families" if v4 else "IPv6" + ("" if ipv4 else " (no IPv4 here)")
        return passed(
            f"{label} answered from {where} over {families}: "
            + "; ".join(a.text() for a in attempts),
            evidence,
        )
    v6_ok = any(a.ok for a in v6)
    v4_ok = any(a.ok for a in v4)
    if v4_ok and not v6_ok:
        head = f"{label} works over IPv4 only from {where}"
    elif v6_ok and not v4_ok and v4:
        head = f"{label} works over IPv6 only from {where}"
    elif not v6_ok and not v4_ok:
        head = f"{label} answers over neither family from {where}"
    else:
        head = f"{label}: some of its addresses do not answer from {where}"
    services = [fact("service", f"{a.address} port {a.port}") for a in bad]
    # from a container, a service the host cannot reach either is the host's finding
    return failed(
        f"{head}: " + "; ".join(a.text() for a in bad),
        evidence,
        fix_where="DNS server",
        fix="make every address the name publishes answer (a stale AAAA or A points at "
        "nothing, or the service listens on one family only); drop the records of addresses "
        "that do not serve",
        hop="far end",
        breaks=services if network is None else [],
        needs=[*needs, *services] if network is not None else needs,
    )
