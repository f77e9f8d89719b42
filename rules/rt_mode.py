"""RT-06's rule: is each network's IPv6 mode (routed, masqueraded…) the one the site wants?

What the mode is comes from ``probes.netmode.ipv6_mode`` (the network's options, the daemon's
settings and the firewall's NAT rules); this judges it against the profile's ``ipv6_mode`` and
gives the Docker-native fix for the daemon's version."""

from __future__ import annotations

import shlex

from probes.docker import DaemonInfo
from probes.netmode import (
    DAEMON_JSON,
    FIRST_WITH_GATEWAY_MODES,
    GATEWAY_MODE_OPTION,
    MASQUERADE_OPTION,
    WANTED,
    Ipv6Mode,
)
from probes.netspec import NetworkSpec
from rules.judgement import Fix, Judgement, failed, not_observed, passed

# --- judging it (RT-06) --------------------------------------------------------------------


def judge_mode(
    found: Ipv6Mode,
    wanted: str | None,
    *,
    daemon_version: str,
    spec: NetworkSpec | str | None = None,
) -> Judgement:
    """RT-06 "IPv6 mode as intended": ``wanted`` is the profile's ipv6_mode, "routed", "nat",
    or "any" / None (not stated: report, judge nothing). Anything else raises ValueError.
    ``spec``: the network as it would have to be created again (its IPAM, options, labels and
    containers), or why it cannot be read: with it, a fix that recreates the network has
    commands."""
    if wanted not in (*WANTED, None):
        raise ValueError(f"ipv6_mode must be one of {', '.join(WANTED)}, not {wanted!r}")
    major = DaemonInfo(daemon_version, "").major or found.daemon_major
    evidence = found.evidence()
    if wanted in (None, "any"):
        reason = f"the profile states no ipv6_mode; found: {found.summary}"
        return not_observed(reason, evidence)
    if found.internal or found.mode == "isolated":
        reason = f"{found.summary}: neither routed nor NAT applies to it"
        return not_observed(reason, evidence)
    if wanted == "routed":
        return _judge_routed(found, major, evidence, spec)
    return _judge_nat(found, major, evidence)


def _first_rule(found: Ipv6Mode) -> str:
    return f"`{found.rules[0]}`" if found.rules else "a masquerade rule"


UNDECIDED_NOTES = (
    "firewall not read",
    "a masquerade rule may",
    "no IPv6 subnet",
)


def _undecided(found: Ipv6Mode, evidence: tuple[str, ...]) -> Judgement:
    why = next((n for n in found.notes if n.startswith(UNDECIDED_NOTES)), None)
    reason = f"could not tell whether {found.network} is masqueraded"
    reason += f": {why}" if why else ""
    reason += f"; by its options: {found.basis}"
    return not_observed(reason, evidence)


def _judge_routed(
    found: Ipv6Mode, major: int, evidence: tuple[str, ...], spec: NetworkSpec | str | None = None
) -> Judgement:
    name = found.network
    if found.ula:
        reason = (
            f"{name}'s prefix {', '.join(found.subnets)} is ULA (fc00::/7): a ULA prefix "
            "(fdxx::/64) is never reachable from the internet without NAT; the site wants "
            "routed IPv6"
        )
        fix = _global_prefix_fix(found, major)
        if found.masqueraded:
            reason += f"; it is masqueraded too, by {_first_rule(found)}"
            fix += "; and " + str(_routed_fix(found, major))
        return failed(reason, evidence, fix=fix, hop="host")
    if found.masqueraded is None:
        return _undecided(found, evidence)
    if found.masqueraded:
        reason = (
            f"{name} is masqueraded (NAT66, {found._mode_phrase}) by {_first_rule(found)}: the "
            "far end sees the host's address, not the containers'; the site wants routed IPv6"
        )
        return failed(reason, evidence, fix=_routed_fix(found, major, spec), hop="host")
    if found.mode in ("routed", "nat-unprotected"):
        return passed(f"as the site wants: {found.summary}", evidence)
    if found.mode == "nat":
        reason = (
            f"{name} is in gateway mode nat with masquerade off: its containers' addresses "
            "leave the host, but Docker treats it as NAT (from 28 on it drops direct access to "
            "unpublished ports"
        )
        if found.direct_access:
            reason += (
                f", and before conntrack all traffic from outside addressed to its containers, "
                f"the replies to their own connections too: `{found.direct_access[0]}`"
            )
        reason += "); the site wants routed IPv6"
        return failed(reason, evidence, fix=_routed_fix(found, major, spec), hop="host")
    reason = f"{name} is not masqueraded, but its gateway mode is unknown ({found.basis})"
    return not_observed(reason, evidence)


def _judge_nat(found: Ipv6Mode, major: int, evidence: tuple[str, ...]) -> Judgement:
    name = found.network
    if found.masqueraded is None:
        return _undecided(found, evidence)
    if found.masqueraded:
        reason = f"as the site wants: {name} is masqueraded (NAT66, {found._mode_phrase}) by "
        reason += _first_rule(found)
        return passed(reason, evidence)
    if found.mode in ("routed", "unknown"):
        reason = (
            f"{name} is routed ({found.basis}), not masqueraded: containers are reachable "
            "directly from outside: the site wants NAT"
        )
    else:
        reason = (
            f"{name} has {found._mode_phrase} but no masquerade rule covers it: its "
            "containers' own addresses leave the host: the site wants NAT"
        )
    return failed(reason, evidence, fix=_nat_fix(found, major), hop="host")


# --- fixes: Docker's own settings, each naming the versions it applies to -------------------


def _create_command(found: Ipv6Mode, mode: str) -> str:
    subnets = " ".join(f"--subnet {s}" for s in found.subnets) or "--subnet <its IPv6 prefix>"
    ipv4 = " --ipv4=false" if found.ipv6_only else ""
    return (
        f"docker network rm {found.network} && docker network create --ipv6{ipv4} {subnets} "
        f"-o {GATEWAY_MODE_OPTION}={mode} {found.network}"
    )


def _foreign_rule(found: Ipv6Mode, major: int) -> str | None:
    """Why the masquerade rule cannot be Docker's, if it cannot."""
    if major >= FIRST_WITH_GATEWAY_MODES and found.option == "routed":
        return "the network's gateway mode is routed"
    if not found.ip_masquerade:
        return f"{MASQUERADE_OPTION}=false"
    if found.ip6tables is False:
        return "ip6tables is off"
    return None


def _routed_fix(found: Ipv6Mode, major: int, spec: NetworkSpec | str | None = None) -> str | Fix:
    foreign = _foreign_rule(found, major)
    if foreign is not None:
        return (
            f"the masquerade rule is not Docker's ({foreign}): remove {_first_rule(found)} "
            "from the host's own firewall configuration and persist the change"
        )
    if major >= FIRST_WITH_GATEWAY_MODES:
        if found.default_bridge:
            cannot = "on Docker 27 and 28 the default bridge's gateway mode cannot be set"
            if major == 29:  # moby 29.7.2's initBridgeDriver passes the default bridge none
                cannot += " (nor on 29: its daemon gives docker0 no gateway mode option)"
            elif major > 29:
                cannot += f" (not verified on {major})"
            return (
                f'{cannot}: either set "ip-masq": false in {DAEMON_JSON} and restart dockerd '
                "(this also stops IPv4 masquerade on docker0), or run the containers on a "
                "user-defined network "
                f"created with -o {GATEWAY_MODE_OPTION}=routed"
            )
        after = " The upstream must route the prefix to this host (RT-03)"
        if major >= 28:
            after += "; in routed mode Docker 28+ lets in ICMPv6 and published ports (-p) only"
        mine = isinstance(spec, NetworkSpec) and spec.network == found.network
        if mine and isinstance(spec, NetworkSpec) and not spec.unscriptable:
            return recreate_fix(spec, "routed", major, after)
        fix = (
            f"on Docker 27+ the gateway mode is fixed when a network is created: recreate "
            f"{found.network} in routed mode (disconnect its containers first; keep its other "
            f"options): {_create_command(found, 'routed')}; then reconnect them."
        )
        if mine and isinstance(spec, NetworkSpec):
            fix += f" No commands here: {'; '.join(spec.unscriptable)}."
        elif isinstance(spec, str):
            fix += f" No commands here: the network could not be read: {spec}."
        return fix + after
    if 20 <= major <= 26:  # 20.10 brought the experimental ip6tables option, and its NAT66
        return (
            f"Docker {major} has no gateway modes: upgrade to Docker 27+ and create the network "
            f"with -o {GATEWAY_MODE_OPTION}=routed (Docker keeps filtering its unpublished "
            f'ports). Not "ip6tables": false in {DAEMON_JSON}: it ends the NAT and Docker\'s '
            "filtering of unpublished container ports with it, so every port of every container "
            "becomes reachable unless the host's own firewall drops it; removing the MASQUERADE "
            "rule by hand lasts until dockerd starts again. No command here: none is safe on "
            f"Docker {major}"
        )
    return (
        f"Docker {major or '(version unknown)'} has no gateway modes: the masquerade rule is "
        f"not Docker's own here: remove {_first_rule(found)} from the host's firewall "
        f"configuration, or upgrade to Docker 27+ and use -o {GATEWAY_MODE_OPTION}=routed"
    )


def _docker(spec: NetworkSpec) -> str:
    return f"docker -H {shlex.quote(spec.docker_host)}" if spec.docker_host else "docker"


def create_args(spec: NetworkSpec, mode: str, major: int) -> list[str]:
    """``docker network create``'s arguments that make ``spec`` again, in gateway mode
    ``mode``: every IPAM config, driver option and label kept."""
    args = ["--driver", spec.driver]
    if spec.internal:
        args.append("--internal")
    if spec.attachable:
        args.append("--attachable")
    if not spec.enable_ipv4 and major >= 28:
        args.append("--ipv4=false")
    args.append("--ipv6")
    for pool in spec.pools:
        args += ["--subnet", pool.subnet]
        if pool.gateway:
            args += ["--gateway", pool.gateway]
        if pool.ip_range:
            args += ["--ip-range", pool.ip_range]
        args += [a for k, v in pool.aux for a in ("--aux-address", f"{k}={v}")]
    args += [a for k, v in spec.ipam_options for a in ("--ipam-opt", f"{k}={v}")]
    options = {**dict(spec.options), GATEWAY_MODE_OPTION: mode}
    args += [a for k, v in sorted(options.items()) for a in ("-o", f"{k}={v}")]
    args += [a for k, v in spec.labels for a in ("--label", f"{k}={v}")]
    return [*args, spec.network]


def recreate_fix(spec: NetworkSpec, mode: str, major: int, after: str = "") -> Fix:
    """``spec``'s network created again in gateway mode ``mode``: its containers disconnected,
    the network removed and created with everything it had (subnets, gateways, options,
    labels), its containers connected again at the addresses and with the aliases they had."""
    docker = _docker(spec)
    net = shlex.quote(spec.network)
    commands = [f"{docker} network disconnect {net} {shlex.quote(m.name)}" for m in spec.members]
    commands.append(f"{docker} network rm {net}")
    create = " ".join(shlex.quote(a) for a in create_args(spec, mode, major))
    commands.append(f"{docker} network create {create}")
    for m in spec.members:
        connect = [*(["--ip", m.ipv4] if m.ipv4 else []), *(["--ip6", m.ipv6] if m.ipv6 else [])]
        connect += [a for alias in m.aliases for a in ("--alias", alias)]
        quoted = " ".join(shlex.quote(a) for a in [*connect, spec.network, m.name])
        commands.append(f"{docker} network connect {quoted}")
    who = ", ".join(m.name for m in spec.members) or "none running"
    text = (
        f"on Docker 27+ the gateway mode is fixed when a network is created: create "
        f"{spec.network} again in {mode} mode, with its subnets, gateways, options and labels "
        f"as they are, and connect its containers again ({who}) at the addresses they have "
        "(now fixed ones). Their connections on it break while this runs; a stopped container "
        "that was on it is not listed here: `docker network connect` it too. The bridge gets a "
        "new name (br-<new ID>) unless the network names it: host firewall rules naming the old "
        "one must follow." + after
    )
    return Fix(text, tuple(commands), docker=str(major))


def _global_prefix_fix(found: Ipv6Mode, major: int) -> str:
    if found.default_bridge:
        return (
            f'give docker0 a global prefix routed to this host: "fixed-cidr-v6": '
            f'"<global /64>" in {DAEMON_JSON}, then restart dockerd'
        )
    mode = f" -o {GATEWAY_MODE_OPTION}=routed" if major >= FIRST_WITH_GATEWAY_MODES else ""
    return (
        f"give {found.network} a global prefix routed to this host: docker network create "
        f"--ipv6 --subnet <global /64>{mode} {found.network}, or give the daemon a global IPv6 "
        f'pool in {DAEMON_JSON}: "default-address-pools": [{{"base": "<global /48>", '
        '"size": 64}] (with no IPv6 pool configured, Docker 27+ picks ULA subnets)'
    )


def _nat_fix(found: Ipv6Mode, major: int) -> str:
    if major >= FIRST_WITH_GATEWAY_MODES:
        if found.ip6tables is False:
            return (
                f'"ip6tables": true in {DAEMON_JSON} (the default since Docker 27), then '
                "restart dockerd: with it off Docker writes no IPv6 NAT rule"
            )
        if not found.ip_masquerade:
            if found.default_bridge:
                return (
                    f'remove "ip-masq": false from {DAEMON_JSON} (masquerade is the default), '
                    "then restart dockerd"
                )
            return (
                f"recreate {found.network} without -o {MASQUERADE_OPTION}=false (disconnect its "
                f"containers first): {_create_command(found, 'nat')}; then reconnect them"
            )
        if found.default_bridge:
            return (
                f'"ip6tables": true and "ip-masq": true in {DAEMON_JSON} (both the default on '
                "Docker 27+), then restart dockerd"
            )
        return (
            f"on Docker 27+ the gateway mode is fixed when a network is created: recreate "
            f"{found.network} in nat mode (disconnect its containers first; keep its other "
            f"options): {_create_command(found, 'nat')} (nat is the default: leaving the option "
            "out does the same); then reconnect them"
        )
    if 20 <= major <= 26:
        return (
            f'"ip6tables": true and "experimental": true in {DAEMON_JSON} (Docker {major}\'s '
            "IPv6 NAT is experimental, from 20.10 on), then restart dockerd"
        )
    return (
        f"Docker {major or '(version unknown)'} has no IPv6 NAT of its own: upgrade to Docker "
        "27+, where gateway mode nat is the default"
    )
