"""The resolv.conf checks' rules (RC-01..RC-03): pure functions over what a container's or a
build step's resolver saw (:class:`probes.resolver.ResolverReport`) and the host's resolv.conf,
each returning a :class:`Judgement`.

The nameservers a container gets are not the host's: Docker filters them (loopback, link-local,
IPv6 on a network without IPv6), may fall back to public resolvers when nothing is left, and the
two builders do it differently.
"""

from __future__ import annotations

from probes import build, resolver
from probes.resolvconf import Nameserver, ResolvConf
from rules.judgement import (
    Judgement,
    fact,
    failed,
    first_of,
    nameserver_fact,
    not_observed,
    passed,
)

# RC-03: what a build step's network is called in the reasons a host nameserver was dropped
BUILD_NETWORK = "the build network (default bridge)"
# the network build steps run on, as facts name it: Docker's default bridge network
BUILD_FACT_NETWORK = "bridge"


def resolver_needs(report: resolver.ResolverReport, *, network: str) -> tuple[str, ...]:
    """The facts a container's (or build step's) lookups rest on: each nameserver it uses, those
    Docker's embedded DNS says it forwards to, and, for a public resolver Docker put there in
    place of the host's, Docker's choice of nameservers for ``network``."""
    out: list[str] = []
    conf = report.resolv_conf
    for ns in conf.used_nameservers:
        if str(ns.transport_ip) == resolver.EMBEDDED_DNS:
            if network:
                out.append(fact("upstreams", network))
            out += [nameserver_fact(e.address) for e in conf.docker_ext_servers]
            continue
        out.append(nameserver_fact(ns.address))
        if ns.is_public_fallback and network:
            out.append(fact("fallback", network))
    return tuple(dict.fromkeys(out))


def _server_facts(
    report: resolver.ResolverReport, *, network: str, silent: list[str]
) -> tuple[str, ...]:
    """What a resolver's failure found broken: the IPv6 nameservers of a network without IPv6
    (Docker's doing, the same fault for every container and step there), or the servers that
    stayed silent though nothing on this side kept them from answering."""
    six = [ns for ns in report.resolv_conf.used_nameservers if ns.is_ipv6]
    if six and not report.has_ipv6_route:
        return (fact("v6-nameservers", network),)
    # a silent embedded DNS (each container's own 127.0.0.11) has no upstream it can use
    return tuple(
        fact("upstreams", network)
        if s.split("%")[0] == resolver.EMBEDDED_DNS
        else nameserver_fact(s)
        for s in silent
    )


def unusable_reason(ns: Nameserver, *, has_ipv6: bool, network: str) -> str | None:
    """Why Docker would not (or should not) hand a host nameserver to a container on
    ``network`` (``has_ipv6``: it has IPv6); None: nothing keeps it from being used."""
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


def build_unavailable(result: build.BuildResult) -> str | None:
    """RC-02, RC-03: why there is no build step to look at because the daemon has no such
    builder (nothing to judge); None when it has one."""
    return f"the daemon has no {result.name}: {result.error}" if result.unsupported else None


# RC-01 ------------------------------------------------------------------------------------------
def judge_container_resolv(
    report: resolver.ResolverReport, *, network: str, name: str | None = None
) -> Judgement:
    """RC-01: the container's resolv.conf (on ``network``) breaks nothing and lists only
    nameservers it can use, each of which answered when asked from inside.

    The hop: the container when its own resolv.conf is at fault (a breaking line, a nameserver
    it cannot use), else the far end (a server that should answer and did not)."""
    conf = report.resolv_conf
    who = f"the container {name}" if name else "the container"
    bad: list[str] = [f"{conf.source} {p}" for p in conf.breaking]
    local = bool(bad)
    for ns in conf.used_nameservers:
        answer = report.server(ns.address) or report.server(str(ns))
        why = unusable_reason(ns, has_ipv6=report.has_ipv6_route, network=network)
        if answer is not None and answer.answered and why is None:
            continue
        heard = answer.describe() if answer else f"{ns}: not asked"
        bad.append(f"nameserver {heard}" + (f" — {why}" if why else ""))
        local = local or why is not None
    if bad:
        silent = [ns.address for ns in conf.used_nameservers if not _answered(report, ns)]
        breaks = [fact("resolv", name or network)] if conf.breaking else []
        breaks += _server_facts(report, network=network, silent=silent)
        return failed(
            f"{who} on {network} cannot use its resolv.conf: {first_of(bad)}",
            [*bad, *report.lines()],
            fix=_reach_fix(report, network),
            # a silent server does not say where its answer was lost
            hop="container" if local else "unknown",
            breaks=breaks,
            needs=resolver_needs(report, network=network),
        )
    used = ", ".join(str(ns) for ns in conf.used_nameservers) or "none"
    return passed(
        f"{who} on {network} can use its resolv.conf: every nameserver it uses "
        f"({used}) answered from inside",
        report.lines(),
    )


def _answered(report: resolver.ResolverReport, ns: Nameserver) -> bool:
    answer = report.server(ns.address) or report.server(str(ns))
    return answer is not None and answer.answered


def _reach_fix(report: resolver.ResolverReport, network: str) -> str:
    conf = report.resolv_conf
    if any(str(ns.transport_ip) == resolver.EMBEDDED_DNS for ns in conf.used_nameservers):
        return (
            "Docker's embedded DNS (127.0.0.11) forwards to the nameservers dockerd took from the "
            "host; when it does not answer, it has none it can use (on Docker 20.10 it forwards "
            "to IPv4 nameservers only). Give dockerd nameservers it can reach: daemon.json "
            '"dns": [...], or an IPv4 nameserver in the host\'s resolv.conf'
        )
    return (
        f"set the nameservers containers get to ones reachable from {network}: daemon.json "
        '"dns": [...] (or --dns per container); for IPv6 nameservers, enable IPv6 on the '
        "network; never a loopback or link-local address"
    )


# RC-02 ------------------------------------------------------------------------------------------
def judge_build_step(result: build.BuildResult, *, threshold: float) -> Judgement:
    """RC-02: in the throwaway build's step, every lookup completed within ``threshold`` seconds
    (the profile's resolve_threshold) and every listed nameserver answered. A fast "no such
    name" passes: that is DNS-02's business, not the build resolver's.

    Not observed when the daemon has no such builder. A build that ran but left no report is the
    harness's failure, not the host's: the caller says so (it is not observed here too)."""
    if (why := build_unavailable(result)) is not None:
        return not_observed(why)
    report = result.report
    if report is None:
        return not_observed(f"the throwaway build with {result.name} failed: {result.error}")
    silent = [s for s in report.servers if not s.answered]
    slow = [
        lk
        for lk in report.lookups
        if not lk.completed or (lk.elapsed_s is not None and lk.elapsed_s > threshold)
    ]
    evidence = [f"built with {result.name} in {result.elapsed_s:.1f} s", *report.lines()]
    if not silent and not slow:
        return passed(
            f"in a build step ({result.name}), every lookup completed within {threshold:g} s "
            "and every nameserver answered",
            evidence,
        )
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
        failed_names = [lk.name for lk in report.lookups if not lk.resolved]
        said.append(
            f"{', '.join(failed_names)} did not resolve" if failed_names else "names resolved"
        )
    unreachable = "; ".join(s.describe() for s in silent)
    return failed(
        f"in a build step ({result.name}), {' and '.join(said)} (after {took:.2f} s)"
        + (f"; unreachable nameserver {unreachable}" if silent else ""),
        evidence,
        fix=_build_fix(report, threshold),
        # an IPv6 nameserver in a step without IPv6: the step's resolv.conf is at fault; a
        # silent server does not say where; answers that came late, the far end
        hop="container"
        if any(ns.is_ipv6 for ns in report.resolv_conf.used_nameservers)
        and not report.has_ipv6_route
        else "unknown"
        if silent
        else "far end",
        breaks=_server_facts(report, network=BUILD_FACT_NETWORK, silent=[s.server for s in silent]),
        needs=(
            *resolver_needs(report, network=BUILD_FACT_NETWORK),
            fact("path", BUILD_FACT_NETWORK),
        ),
    )


# why RC-02's fix has no commands: each way needs a value that is the site's to choose
NO_BUILD_COMMAND = (
    "; no command here: which IPv4 nameserver, or which of the site's global /64s (Docker's "
    "own would be a ULA one, NATed, which puts IPv4 first), is the site's choice, not in the "
    "evidence; either is a daemon.json change merged into the file dockerd reads, and a "
    "dockerd restart, which stops every container unless live-restore is on"
)


def _build_fix(report: resolver.ResolverReport, threshold: float) -> str:
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
            f"{NO_BUILD_COMMAND}"
        )
    return (
        f"make the step's nameservers answer within {threshold:g} s "
        '(daemon.json "dns"), or remove the silent ones: glibc waits '
        f"{conf.options.timeout} s for each"
    )


# RC-03 ------------------------------------------------------------------------------------------
def judge_fallback(
    report: resolver.ResolverReport, host: ResolvConf, *, network: str, has_ipv6: bool
) -> Judgement:
    """RC-03: Docker did not replace the host's nameservers with public resolvers in the place
    ``report`` saw (a container on ``network``, or a build step on :data:`BUILD_NETWORK`);
    ``has_ipv6``: that network has IPv6 (the reasons a host nameserver was dropped depend on
    it). A public resolver the host's resolv.conf lists itself is no fallback."""
    conf = report.resolv_conf
    fallback = [ns for ns in conf.used_nameservers if ns.is_public_fallback]
    host_has = {str(ns.transport_ip) for ns in host.nameservers}
    substituted = [ns for ns in fallback if str(ns.transport_ip) not in host_has]
    dropped = dropped_nameservers(host, conf, has_ipv6=has_ipv6, network=network)
    evidence = [
        f"{host.source}:",
        *(f"  {line}" for line in host.summary_lines()),
        *report.lines(),
        *(f"dropped {line}" for line in dropped),
    ]
    if substituted:
        subject = BUILD_FACT_NETWORK if network == BUILD_NETWORK else network
        breaks = [fact("fallback", subject)]
        if any("has no IPv6" in line for line in dropped):
            breaks.append(fact("v6-nameservers", subject))
        return failed(
            f"{report.where} got Docker's public fallback "
            f"{', '.join(str(ns) for ns in substituted)} instead of the host's nameservers"
            + (f": Docker dropped {'; '.join(dropped)}" if dropped else ""),
            evidence,
            fix='give dockerd nameservers the containers can use: daemon.json "dns": [...] '
            "(reachable over IPv4, or enable IPv6 on the network); the public resolvers may be "
            "unreachable from this site, and they see every name you look up",
            hop="container",
            breaks=breaks,
        )
    kept = "; the public resolvers it lists are the host's own" if fallback else ""
    return passed(
        f"{report.where} got no public fallback in place of the host's nameservers{kept}",
        evidence,
    )


def dropped_nameservers(
    host: ResolvConf, conf: ResolvConf, *, has_ipv6: bool, network: str
) -> list[str]:
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
