"""The resolv.conf checks' judgement (RC-01..RC-03) on crafted resolver reports: no lab, no
fixtures, no builds."""

from __future__ import annotations

from probes import build
from probes.resolvconf import ResolvConf, parse_resolv_conf
from probes.resolver import Lookup, ResolverReport, ServerAnswer
from rules.rc import (
    BUILD_NETWORK,
    NO_BUILD_COMMAND,
    build_unavailable,
    dropped_nameservers,
    judge_build_step,
    judge_container_resolv,
    judge_fallback,
    unusable_reason,
)

NS6 = "2001:db8:53::53"
NS4 = "203.0.113.53"
ROUTED = ("2001:db8:1:1::/64 dev eth0  metric 256", "fe80::/64 dev eth0  metric 256")
LINK_ONLY = ("fe80::/64 dev eth0  metric 256",)
REGISTRY = "registry-1.docker.io"


def conf(text: str) -> ResolvConf:
    return parse_resolv_conf(text, source="/etc/resolv.conf")


def answered(address: str) -> ServerAnswer:
    return ServerAnswer(address, 0.01, "NOERROR", "answered", "")


def silent(address: str) -> ServerAnswer:
    return ServerAnswer(address, 1.0, None, "no answer before the deadline", "")


def lookup(name: str = REGISTRY, elapsed: float | None = 0.05, *, ok: bool = True) -> Lookup:
    """``elapsed`` None: still resolving at the deadline (killed there)."""
    stopped = elapsed is None
    address = "2001:db8:f00d::80" if ok and not stopped else None
    return Lookup(name, "any", elapsed, address, stopped, "")


def report(
    text: str,
    *servers: ServerAnswer,
    routes: tuple[str, ...] = ROUTED,
    lookups: tuple[Lookup, ...] = (),
    where: str = "container v6conform-1-v6net",
) -> ResolverReport:
    return ResolverReport(where, conf(text), routes, lookups, servers, 1.0, True)


# --- why a host nameserver is no use in a container ----------------------------------------------


def test_unusable_reasons() -> None:
    loopback, embedded, link_local, six, four = conf(
        "nameserver 127.0.0.53\nnameserver 127.0.0.11\nnameserver fe80::1%eth0\n"
        f"nameserver {NS6}\nnameserver {NS4}\n"
    ).nameservers
    assert (unusable_reason(loopback, has_ipv6=True, network="n") or "").startswith("loopback:")
    assert unusable_reason(embedded, has_ipv6=True, network="n") is None
    assert (unusable_reason(link_local, has_ipv6=True, network="n") or "").startswith("link-local")
    assert unusable_reason(six, has_ipv6=False, network="bridge") == (
        "IPv6 nameserver, but bridge has no IPv6"
    )
    assert unusable_reason(six, has_ipv6=True, network="n") is None
    assert unusable_reason(four, has_ipv6=False, network="n") is None


# --- RC-01 --------------------------------------------------------------------------------------


def test_rc01_passes_when_every_used_nameserver_answers_from_inside() -> None:
    r = report(f"nameserver {NS6}\nnameserver {NS4}\n", answered(NS6), answered(NS4))
    j = judge_container_resolv(r, network="v6net")
    assert j.outcome == "pass", j
    assert j.diagnosis == (
        "the container on v6net can use its resolv.conf: every nameserver it uses "
        f"({NS6}, {NS4}) answered from inside"
    )


def test_rc01_fails_on_a_silent_nameserver_beyond_the_container() -> None:
    r = report(f"nameserver {NS6}\nnameserver {NS4}\n", answered(NS6), silent(NS4))
    j = judge_container_resolv(r, network="v6net")
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"the container on v6net cannot use its resolv.conf: nameserver {NS4}: no answer before "
        "the deadline after 1.00 s"
    )
    # silence does not say where the answer was lost: the picture says it cannot tell
    assert j.hop == "unknown"
    assert j.breaks == (f"nameserver:{NS4}",)  # seen first-hand from the container
    assert j.needs == (f"nameserver:{NS6}", f"nameserver:{NS4}")
    assert j.evidence[0] == f"nameserver {NS4}: no answer before the deadline after 1.00 s"
    assert j.fix == (
        'set the nameservers containers get to ones reachable from v6net: daemon.json "dns": '
        "[...] (or --dns per container); for IPv6 nameservers, enable IPv6 on the network; never "
        "a loopback or link-local address"
    )


def test_rc01_fails_on_a_nameserver_the_script_did_not_ask() -> None:
    j = judge_container_resolv(report(f"nameserver {NS6}\n"), network="v6net")
    assert j.diagnosis.endswith(f"nameserver {NS6}: not asked")


def test_rc01_an_unusable_nameserver_fails_in_the_container_even_if_it_answered() -> None:
    r = report(f"nameserver {NS6}\n", answered(NS6), routes=LINK_ONLY)
    j = judge_container_resolv(r, network="bridge")
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(
        f"nameserver {NS6}: answered NOERROR after 0.01 s — IPv6 nameserver, but bridge has no IPv6"
    )
    assert j.hop == "container"


def test_rc01_a_zoned_nameserver_is_found_by_its_zone_among_the_answers() -> None:
    r = report("nameserver fe80::53%eth0\n", answered("fe80::53%eth0"))
    j = judge_container_resolv(r, network="v6net")
    assert j.diagnosis.endswith(
        "nameserver fe80::53%eth0: answered NOERROR after 0.01 s — link-local: its zone names a "
        "host interface that does not exist in the container"
    )


def test_rc01_a_breaking_line_fails_in_the_container() -> None:
    r = report(f"nameserver {NS4}\r\n", answered(NS4))
    j = judge_container_resolv(r, network="v6net")
    assert j.outcome == "fail"
    assert j.diagnosis.startswith("the container on v6net cannot use its resolv.conf: /etc/resolv")
    assert j.hop == "container"


def test_rc01_behind_the_embedded_dns_the_fix_is_dockerds_nameservers() -> None:
    r = report("nameserver 127.0.0.11\n", silent("127.0.0.11"))
    j = judge_container_resolv(r, network="v6net")
    assert j.outcome == "fail"
    assert j.hop == "unknown"
    assert j.fix == (
        "Docker's embedded DNS (127.0.0.11) forwards to the nameservers dockerd took from the "
        "host; when it does not answer, it has none it can use (on Docker 20.10 it forwards to "
        'IPv4 nameservers only). Give dockerd nameservers it can reach: daemon.json "dns": [...], '
        "or an IPv4 nameserver in the host's resolv.conf"
    )


# --- RC-02 --------------------------------------------------------------------------------------


def built(r: ResolverReport | None, builder: build.Builder = "buildkit") -> build.BuildResult:
    return build.BuildResult(builder, r, None if r else "exit 1", False, 4.24, ())


def step(
    text: str,
    *servers: ServerAnswer,
    routes: tuple[str, ...] = ROUTED,
    lookups: tuple[Lookup, ...] = (),
) -> ResolverReport:
    return report(text, *servers, routes=routes, lookups=lookups, where="build step (BuildKit)")


def test_rc02_not_observed_on_a_daemon_without_the_builder() -> None:
    none = build.BuildResult("buildkit", None, "BuildKit is not enabled", True, 0.0, ())
    assert build_unavailable(none) == "the daemon has no BuildKit: BuildKit is not enabled"
    j = judge_build_step(none, threshold=1.0)
    assert (j.outcome, j.diagnosis) == (
        "not-observed",
        "the daemon has no BuildKit: BuildKit is not enabled",
    )
    assert build_unavailable(built(None)) is None


def test_rc02_not_observed_when_the_build_left_no_report() -> None:
    j = judge_build_step(built(None, "classic"), threshold=1.0)
    assert j.outcome == "not-observed"
    assert j.diagnosis == "the throwaway build with the classic builder failed: exit 1"


def test_rc02_passes_on_fast_lookups_a_fast_no_such_name_included() -> None:
    r = step(f"nameserver {NS4}\n", answered(NS4), lookups=(lookup(), lookup("gone", ok=False)))
    j = judge_build_step(built(r), threshold=1.0)
    assert j.outcome == "pass", j
    assert j.evidence[0] == "built with BuildKit in 4.2 s"


def test_rc02_fails_on_a_lookup_stopped_at_the_deadline_with_the_silent_server() -> None:
    r = step(f"nameserver {NS6}\n", silent(NS6), routes=LINK_ONLY, lookups=(lookup(elapsed=None),))
    j = judge_build_step(built(r), threshold=1.0)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"in a build step (BuildKit), {REGISTRY} did not resolve within 1 s (after 1.00 s); "
        f"unreachable nameserver {NS6}: no answer before the deadline after 1.00 s"
    )
    # an IPv6 nameserver in a step without IPv6: the step's own resolv.conf is at fault
    assert j.hop == "container"
    assert j.fix == (
        f"the step's resolv.conf lists {NS6} but the build network has no IPv6: set daemon.json "
        '"dns" to nameservers reachable over IPv4 (BuildKit copies the host\'s IPv6 nameservers '
        "into build steps: moby/buildkit#2936), or enable IPv6 on the default bridge "
        '("ipv6": true, "fixed-cidr-v6") so build steps can reach them' + NO_BUILD_COMMAND
    )
    assert j.remedy is not None
    assert not j.remedy.commands  # the values are the site's: words only


def test_rc02_fails_on_a_late_lookup_beyond_the_container() -> None:
    r = step(f"nameserver {NS4}\n", answered(NS4), lookups=(lookup(elapsed=1.5),))
    j = judge_build_step(built(r, "classic"), threshold=1.0)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        f"in a build step (the classic builder), {REGISTRY} took more than 1 s (after 1.50 s)"
    )
    assert j.hop == "far end"
    assert j.fix == (
        'make the step\'s nameservers answer within 1 s (daemon.json "dns"), or remove the '
        "silent ones: glibc waits 5 s for each"
    )


def test_rc02_the_step_is_at_fault_only_for_an_ipv6_nameserver_without_ipv6() -> None:
    stalled = (lookup(elapsed=None),)
    four = step(f"nameserver {NS4}\n", silent(NS4), routes=LINK_ONLY, lookups=stalled)
    assert judge_build_step(built(four), threshold=1.0).hop == "unknown"
    six = step(f"nameserver {NS6}\n", silent(NS6), routes=ROUTED, lookups=stalled)
    j = judge_build_step(built(six), threshold=1.0)
    assert j.hop == "unknown"  # a silent server: where it was lost, nothing says
    assert j.breaks == (f"nameserver:{NS6}",)
    assert "path:bridge" in j.needs
    assert (j.fix or "").startswith("make the step's nameservers answer within 1 s")
    no_route = step(f"nameserver {NS6}\n", silent(NS6), routes=LINK_ONLY, lookups=stalled)
    j = judge_build_step(built(no_route), threshold=1.0)
    assert j.hop == "container"
    assert j.breaks == ("v6-nameservers:bridge",)  # Docker's doing, for every step there


def test_rc02_fails_on_a_silent_server_alone_and_says_what_resolved() -> None:
    two = f"nameserver {NS4}\nnameserver 192.0.2.53\n"
    r = step(two, answered(NS4), silent("192.0.2.53"), lookups=(lookup(),))
    j = judge_build_step(built(r), threshold=1.0)
    assert j.outcome == "fail"
    assert j.diagnosis.startswith("in a build step (BuildKit), names resolved (after 0.05 s)")
    r = step(f"nameserver {NS4}\n", silent(NS4), lookups=(lookup(ok=False),))
    j = judge_build_step(built(r), threshold=1.0)
    assert j.diagnosis.startswith(f"in a build step (BuildKit), {REGISTRY} did not resolve (")


def test_rc02_on_the_public_fallback_the_fix_points_at_rc03() -> None:
    r = step("nameserver 8.8.8.8\n", silent("8.8.8.8"), lookups=(lookup(elapsed=None),))
    j = judge_build_step(built(r, "classic"), threshold=1.0)
    assert (j.fix or "").startswith("the step got Docker's public fallback (8.8.8.8; see RC-03)")


# --- RC-03 --------------------------------------------------------------------------------------

HOST = conf(f"nameserver {NS6}\nnameserver 127.0.0.53\n")


def test_rc03_passes_on_the_hosts_own_nameservers() -> None:
    r = report(f"nameserver {NS6}\n", answered(NS6))
    j = judge_fallback(r, HOST, network="v6net", has_ipv6=True)
    assert j.outcome == "pass", j
    assert j.evidence[0] == "/etc/resolv.conf:"
    assert "dropped 127.0.0.53 (loopback:" in j.evidence[-1]


def test_rc03_fails_on_the_public_fallback_and_says_what_docker_dropped() -> None:
    r = report("nameserver 8.8.8.8\nnameserver 8.8.4.4\n", where="build step (classic)")
    j = judge_fallback(r, HOST, network=BUILD_NETWORK, has_ipv6=False)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        "build step (classic) got Docker's public fallback 8.8.8.8, 8.8.4.4 instead of the "
        f"host's nameservers: Docker dropped {NS6} (IPv6 nameserver, but the build network "
        "(default bridge) has no IPv6); 127.0.0.53 (loopback: inside the container that is the "
        "container itself, where nothing listens (a host stub resolver such as "
        "systemd-resolved's 127.0.0.53 is not there))"
    )
    assert j.fix == (
        'give dockerd nameservers the containers can use: daemon.json "dns": [...] (reachable '
        "over IPv4, or enable IPv6 on the network); the public resolvers may be unreachable from "
        "this site, and they see every name you look up"
    )


def test_rc03_a_public_resolver_the_host_lists_itself_is_no_fallback() -> None:
    host = conf("nameserver 8.8.8.8\n")
    j = judge_fallback(report("nameserver 8.8.8.8\n"), host, network="v6net", has_ipv6=True)
    assert j.outcome == "pass"
    assert "the host's own" in j.diagnosis


def test_dropped_nameservers_behind_the_embedded_dns() -> None:
    host = conf(f"nameserver {NS4}\nnameserver {NS6}\nnameserver 127.0.0.53\n")
    embedded = conf("nameserver 127.0.0.11\n")
    # IPv4 servers sit behind the embedded DNS; IPv6 and loopback ones do not
    dropped = dropped_nameservers(host, embedded, has_ipv6=True, network="v6net")
    assert [d.split(" ")[0] for d in dropped] == [NS6, "127.0.0.53"]
    assert dropped[0] == f"{NS6} (reason unknown)"
    # Docker 26+ names what its resolver forwards to: those are kept
    forwarded = conf("nameserver 127.0.0.11\n# ExtServers: [host(127.0.0.53) 2001:db8:53::53]\n")
    assert dropped_nameservers(host, forwarded, has_ipv6=True, network="v6net") == []
