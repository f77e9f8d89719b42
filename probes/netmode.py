"""RT-06: is a Docker network's IPv6 routed or masqueraded (NAT66), and is that what the site
wants?

Docker 26 with ``"ip6tables": true`` and every Docker from 27 on masquerade container IPv6 by
default. Docker 27+ has per-network gateway modes (the driver option
``com.docker.network.bridge.gateway_mode_ipv6``: ``nat``, ``routed``, and from 28
``nat-unprotected`` and ``isolated``); Docker 26 has none and ignores the option. The options
say what was asked for; the firewall says what happens, so a MASQUERADE / SNAT rule covering a
subnet decides, whatever the options claim.

Pure: no I/O. The caller reads the network (``NetworkInfo``) and the firewall (``Ruleset``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Network
from typing import Literal

from probes.docker import NetworkInfo
from probes.firewall import (
    OUTSIDE,
    TRUSTED_HOST_INTERFACES,
    Deadline,
    Drop,
    NatFinding,
    NatRule,
    Ruleset,
    assess_forward,
    find_masquerade,
    firewall_backend,
    unpublished_ports_drop,
)

Mode = Literal["routed", "nat", "nat-unprotected", "isolated", "unknown"]
Outcome = Literal["pass", "fail", "not-observed"]

GATEWAY_MODE_OPTION = "com.docker.network.bridge.gateway_mode_ipv6"
MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
FIRST_WITH_GATEWAY_MODES = 27
# The Docker major that brought each gateway mode.
GATEWAY_MODES: dict[Mode, int] = {"nat": 27, "routed": 27, "nat-unprotected": 28, "isolated": 28}
ULA = IPv6Network("fc00::/7")
WANTED = ("routed", "nat", "any")
DAEMON_JSON = "/etc/docker/daemon.json"
# How many of a network's per-container drops before conntrack the evidence lists one by one.
MAX_RAW_SHOWN = 8


# --- what the network is -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ipv6Mode:
    """A network's IPv6 mode as its options ask and its firewall does, with the evidence."""

    network: str
    mode: Mode
    masqueraded: bool | None  # None: could not tell (firewall unreadable, or undecided)
    option: str | None = None  # gateway_mode_ipv6 as set on the network, if set
    rules: tuple[str, ...] = ()  # the firewall rules that make it so, as printed
    ula: bool = False  # every IPv6 subnet is inside fc00::/7
    ipv6_only: bool = False  # EnableIPv4 false (Docker 28+)
    notes: tuple[str, ...] = ()
    basis: str = ""  # why this mode: the option, or the version's default
    subnets: tuple[str, ...] = ()
    bridge: str | None = None
    default_bridge: bool = False  # docker0, whose gateway mode cannot be set (27, 28)
    internal: bool = False  # --internal: nothing leaves the host
    ip_masquerade: bool = True  # enable_ip_masquerade is not "false"
    ip6tables: bool | None = None  # the daemon's ip6tables setting, given or inferred
    daemon_major: int = 0  # 0: unknown
    firewall: tuple[str, ...] = ()  # decoded firewall lines: what was read, where each rule is
    # the raw stage's rules that drop traffic from outside addressed to its containers (Docker
    # 28+'s protection of gateway mode nat), as printed
    direct_access: tuple[str, ...] = ()

    @property
    def inbound_reachable(self) -> bool | None:
        """Can the far end open a connection to a container? (Its firewall permitting.)"""
        if self.masqueraded or self.mode == "isolated" or self.internal:
            return False
        if self.masqueraded is None or self.mode not in ("routed", "nat-unprotected"):
            return None
        return True

    @property
    def _mode_phrase(self) -> str:
        if 0 < self.daemon_major < FIRST_WITH_GATEWAY_MODES:
            return f"Docker {self.daemon_major} has no gateway modes"
        return f"gateway mode {self.mode}"

    @property
    def summary(self) -> str:
        """One line, fit for a skip reason or a diagnosis."""
        name, phrase = self.network, self._mode_phrase
        if self.internal or self.mode == "isolated":
            return f"{name} is internal ({phrase}): no IPv6 traffic leaves the host"
        if self.masqueraded:
            return (
                f"{name} is masqueraded (NAT66, {phrase}): the far end sees the host's "
                "address, not the containers'"
            )
        if self.masqueraded is None:
            return f"{name}: {phrase} by its options; whether it is masqueraded is not known"
        line = f"{name} is not masqueraded ({phrase}): the far end sees the containers' addresses"
        if self.mode in ("routed", "nat-unprotected"):
            line = f"{name} is routed ({phrase}, no masquerade): the far end sees the containers' "
            line += "own addresses"
        if self.ula:
            line += "; but its prefix is ULA (fc00::/7), which the internet does not route"
        return line

    def evidence(self) -> tuple[str, ...]:
        """One decoded line each: the mode and why, the subnets, the firewall, the notes."""
        name = self.network
        word = "mode" if 0 < self.daemon_major < FIRST_WITH_GATEWAY_MODES else "gateway mode"
        lines = [f"{name}: {word} {self.mode} ({self.basis})" if self.basis else name]
        if self.subnets:
            kinds = ", ".join(f"{s} ({'ULA' if _is_ula(s) else 'global'})" for s in self.subnets)
            lines.append(f"{name}: IPv6 subnets {kinds}")
        if self.ipv6_only:
            lines.append(f"{name}: IPv6-only (EnableIPv4 false)")
        if self.internal:
            lines.append(f"{name}: internal (--internal): no traffic to or from outside the host")
        told = {True: "yes", False: "no", None: "could not tell"}[self.masqueraded]
        lines.append(f"{name}: masqueraded: {told}")
        lines += self.firewall
        lines += [f"note: {n}" for n in self.notes]
        return tuple(lines)


def _is_ula(subnet: str) -> bool:
    network = ipaddress.ip_network(subnet, strict=False)
    return isinstance(network, IPv6Network) and network.subnet_of(ULA)


# --- finding the mode ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Configured:
    """What the options and the version ask for, before the firewall has its say."""

    mode: Mode | None  # None: Docker < 27, where only the firewall tells
    basis: str


def _configured(option: str | None, major: int) -> _Configured:
    if 0 < major < FIRST_WITH_GATEWAY_MODES:
        if option is None:
            return _Configured(None, f"Docker {major} has no gateway modes")
        return _Configured(
            None,
            f"Docker {major} has no gateway modes; option {GATEWAY_MODE_OPTION}={option} ignored",
        )
    version = f"Docker {major}" if major else "this Docker (version unknown)"
    if option is None:
        return _Configured("nat", f"{version} default; option {GATEWAY_MODE_OPTION} not set")
    for mode, since in GATEWAY_MODES.items():
        if mode != option:
            continue
        if major and major < since:
            return _Configured(
                "unknown", f"option {GATEWAY_MODE_OPTION}={option}, which came with Docker {since}"
            )
        return _Configured(mode, f"option {GATEWAY_MODE_OPTION}={option}")
    return _Configured(
        "unknown", f"option {GATEWAY_MODE_OPTION}={option}: not a gateway mode Docker knows"
    )


@dataclass(frozen=True, slots=True)
class _Firewall:
    """What the firewall says about one network."""

    masqueraded: bool | None
    nat_rules: tuple[NatRule, ...] = ()
    inbound_drops: tuple[Drop, ...] = ()  # of new traffic from outside, either stage
    lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    backend: str = "unknown"


def _read_firewall(
    network: NetworkInfo,
    ruleset: Ruleset | str | None,
    uplink: str | None,
    major: int,
    destinations: Sequence[str],
    deadline: Deadline,
) -> _Firewall:
    if not isinstance(ruleset, Ruleset):
        why = ruleset if isinstance(ruleset, str) and ruleset else "no rule set was given"
        return _Firewall(None, notes=(f"firewall not read: {why}",))
    if not network.subnets6:
        return _Firewall(None, notes=("no IPv6 subnet: nothing to masquerade",))
    findings = [
        find_masquerade(ruleset, subnet=s, bridge=network.bridge, uplink=uplink, deadline=deadline)
        for s in network.subnets6
    ]
    backend = firewall_backend(ruleset)
    drops = _inbound_new_drops(ruleset, network, uplink, destinations, deadline)
    lines = [f"firewall backend: {_backend_phrase(backend)}"]
    lines += [line for f in findings for line in f.evidence()]
    shown = [d for d in drops if not d.raw_stage]
    raw = list(dict.fromkeys(d.rule for d in drops if d.raw_stage))
    shown += [d for d in drops if d.raw_stage and d.rule in raw[:MAX_RAW_SHOWN]]
    lines += [_drop_line(d, network.bridge, major) for d in shown]
    if len(raw) > MAX_RAW_SHOWN:
        lines.append(f"… and {len(raw) - MAX_RAW_SHOWN} more such rules before conntrack")
    return _Firewall(
        _masqueraded(findings),
        tuple(r for f in findings for r in f.rules),
        drops,
        tuple(dict.fromkeys(lines)),
        _finding_notes(findings, uplink),
        backend,
    )


def _masqueraded(findings: Sequence[NatFinding]) -> bool | None:
    """Masqueraded if any subnet is: its containers' traffic leaves as the host's."""
    states = [f.masqueraded for f in findings]
    if True in states:
        return True
    return None if None in states else False


def _finding_notes(findings: Sequence[NatFinding], uplink: str | None) -> tuple[str, ...]:
    notes: list[str] = []
    states = [f.masqueraded for f in findings]
    if True in states and False in states:
        partly = ", ".join(f.subnet for f in findings if f.masqueraded)
        notes.append(f"only some IPv6 subnets are masqueraded: {partly}")
    if not all(f.readable for f in findings):
        notes.append("firewall not read: " + ("; ".join(findings[0].problems) or "no view read"))
    elif any(f.doubtful for f in findings):
        notes.append("a masquerade rule may apply, but a rule before it could not be evaluated")
    elif any(f.unresolved for f in findings) and None in states:
        notes.append("a masquerade rule may be reached in ways we do not model (see undecided)")
    if None in states and uplink is None:
        notes.append("the uplink was not named: rules matching interfaces may be undecided")
    return tuple(notes)


def _backend_phrase(backend: str) -> str:
    if backend == "none":
        return "none (no Docker rule for IPv6 in what was read: ip6tables off?)"
    return backend


def _inbound_new_drops(
    ruleset: Ruleset,
    network: NetworkInfo,
    uplink: str | None,
    destinations: Sequence[str],
    deadline: Deadline,
) -> tuple[Drop, ...]:
    """The proven drops of new inbound traffic: Docker 28's unpublished-port DROP, a policy."""
    if not network.bridge:
        return ()
    verdict = assess_forward(
        ruleset,
        subnets=network.subnets6,
        bridges=[network.bridge],
        uplink=uplink,
        destinations=destinations,
        deadline=deadline,
    )
    return tuple(d for d in verdict.drops if d.direction == "inbound" and d.state == "new")


def _drop_line(drop: Drop, bridge: str | None, major: int) -> str:
    why = "drops new inbound traffic from outside"
    if drop.raw_stage:
        why = "drops traffic from outside addressed to a container, before conntrack"
        if drop.by_docker:
            why += ": Docker 28+'s direct-access drop for a network in gateway mode nat"
    elif drop.rule == unpublished_ports_drop(bridge):
        why += ": Docker 28+ blocks direct access to unpublished ports in nat mode"
    elif drop.is_policy and major == 26:
        why += ": Docker 26 sets this policy when ip6tables is on"
    elif drop.is_policy and major >= 28:
        why += ": Docker 28+ sets this policy only when it had to turn forwarding on itself"
    via = f" (via {' → '.join(drop.path)})" if len(drop.path) > 1 else ""
    return f"{drop.source} {drop.table} {drop.chain}: {drop.rule}{via} — {why}"


def ipv6_mode(
    network: NetworkInfo,
    *,
    daemon_major: int,
    ruleset: Ruleset | str | None,
    ip6tables_enabled: bool | None = None,
    uplink: str | None = None,
    destinations: Sequence[str] = (OUTSIDE,),
    deadline: Deadline | None = None,
    docker_backend: str | None = None,
) -> Ipv6Mode:
    """The network's IPv6 mode: what its options and Docker's version ask for, corrected by
    what the firewall does.

    ``ruleset`` is what ``read_ruleset`` gave, or why it could not be read (a string), or None.
    ``ip6tables_enabled`` is the daemon's setting where the caller knows it; when it does not, a
    firewall with no Docker rule for IPv6 in it means it is off. ``uplink`` names the interface
    traffic leaves by; without it, rules that match on interfaces may stay undecided.
    ``destinations``, the profile's anchors, are where new inbound traffic comes from (see
    ``assess_forward``). The NAT search and the forward walk share one ``deadline`` (of
    ``JUDGE_TIMEOUT`` seconds if none is given): a firewall not judged in time raises
    ``FirewallUnreadable``. ``docker_backend`` is the firewall backend the daemon says it uses
    (``DaemonInfo.firewall_backend``), shown beside what the firewall shows.
    """
    deadline = deadline or Deadline.after()
    options = network.options
    option = options.get(GATEWAY_MODE_OPTION)
    ip_masquerade = options.get(MASQUERADE_OPTION, "true").lower() != "false"
    asked = _configured(option, daemon_major)
    fw = _read_firewall(network, ruleset, uplink, daemon_major, destinations, deadline)
    ip6tables = ip6tables_enabled
    notes: list[str] = []
    if ip6tables is None and fw.backend == "none":
        ip6tables = False
        notes.append("no Docker rule for IPv6 in the firewall: ip6tables appears to be off")
    mode, basis = _mode(asked, fw.masqueraded, ip6tables, daemon_major)
    notes += _disagreements(
        asked, fw, option, ip_masquerade, ip6tables, network.internal, daemon_major
    )
    notes += fw.notes
    ula = bool(network.subnets6) and all(_is_ula(s) for s in network.subnets6)
    if ula and daemon_major >= FIRST_WITH_GATEWAY_MODES:
        notes.append("ULA prefix: with no IPv6 pool configured, Docker 27+ picks one in fd00::/8")
    if not network.enable_ipv4:
        notes.append("IPv6-only network (EnableIPv4 false): IPv4 is not there to fall back on")
    nat_like = fw.masqueraded or mode in ("nat", "nat-unprotected", "isolated")
    rules = [r.rule for r in fw.nat_rules]
    rules += [d.rule for d in fw.inbound_drops if nat_like and not d.is_policy]
    direct = tuple(dict.fromkeys(d.rule for d in fw.inbound_drops if d.raw_stage))
    direct_lines = _direct_access_lines(
        network, mode, direct, uplink, daemon_major, ip6tables, isinstance(ruleset, Ruleset)
    )
    return Ipv6Mode(
        network=network.name,
        mode=mode,
        masqueraded=fw.masqueraded,
        option=option,
        rules=tuple(dict.fromkeys(rules)),
        ula=ula,
        ipv6_only=not network.enable_ipv4,
        notes=tuple(dict.fromkeys(notes)),
        basis=basis,
        subnets=network.subnets6,
        bridge=network.bridge,
        default_bridge=network.is_default_bridge,
        internal=network.internal,
        ip_masquerade=ip_masquerade,
        ip6tables=ip6tables,
        daemon_major=daemon_major,
        firewall=(*_said_backend(docker_backend), *fw.lines, *direct_lines),
        direct_access=direct,
    )


def _direct_access_lines(
    network: NetworkInfo,
    mode: Mode,
    direct: tuple[str, ...],
    uplink: str | None,
    major: int,
    ip6tables: bool | None,
    read: bool,
) -> tuple[str, ...]:
    """What the raw stage does to traffic from outside addressed to the network's containers,
    read against its mode: Docker 28+ drops it in gateway mode nat (one rule per container,
    except from the network's trusted_host_interfaces; none with the daemon's
    allow-direct-routing), and writes none in nat-unprotected or routed mode."""
    name = network.name
    trusted = [i for i in network.options.get(TRUSTED_HOST_INTERFACES, "").split(":") if i]
    lines = []
    if trusted:
        lines.append(
            f"{name}: trusted host interfaces ({TRUSTED_HOST_INTERFACES}): "
            f"{', '.join(trusted)}: Docker lets traffic from them reach the containers directly"
        )
    if direct:
        count = f"{len(direct)} rule{'s' if len(direct) > 1 else ''}"
        if mode == "nat":
            what = (
                f"direct access from outside to its containers is dropped before conntrack "
                f"({count}): gateway mode nat protects them (Docker 28+)"
            )
        elif mode in ("routed", "nat-unprotected"):
            what = (
                f"gateway mode {mode}, yet {count} drop traffic from outside addressed to its "
                "containers before conntrack: Docker writes none in that mode"
            )
        else:
            what = f"{count} drop traffic from outside addressed to its containers (raw stage)"
        return (*lines, f"{name}: {what}: first `{direct[0]}`")
    if not read or network.internal or not network.subnets6:
        return tuple(lines)
    if mode == "nat" and major >= 28 and ip6tables is not False:
        if uplink is not None and uplink in trusted:
            why = f"{uplink} is one of its trusted host interfaces"
        else:
            why = (
                "gateway mode nat without Docker's protection (the daemon's "
                '"allow-direct-routing": true, or DOCKER_INSECURE_NO_IPTABLES_RAW=1), or no '
                "container on it"
            )
        lines.append(f"{name}: no rule drops direct access to its containers from outside: {why}")
    elif mode in ("routed", "nat-unprotected") and major >= 28:
        lines.append(f"{name}: gateway mode {mode}: Docker drops no direct access to it")
    return tuple(lines)


def _said_backend(docker_backend: str | None) -> tuple[str, ...]:
    if docker_backend is None:
        return ()
    return (f"Docker's firewall backend: {docker_backend} (as the daemon says, GET /info)",)


def _mode(
    asked: _Configured, masqueraded: bool | None, ip6tables: bool | None, major: int
) -> tuple[Mode, str]:
    """The mode, and why. Where Docker has no say over IPv6 NAT (before 27, or with ip6tables
    off) the firewall alone makes it nat or routed; isolated stays isolated, since what makes it
    so (no gateway address on the bridge) is no firewall rule."""
    if asked.mode is None or (ip6tables is False and asked.mode != "isolated"):
        why = asked.basis
        if asked.mode is not None:
            docker = f"Docker {major}" if major else "Docker"
            why = f"ip6tables off: {docker} writes no IPv6 rules, so gateway mode {asked.mode} "
            why += "has no effect"
        if masqueraded:
            return "nat", f"{why}; a masquerade rule covers it"
        if masqueraded is False:
            return "routed", f"{why}; no masquerade: plain routed IPv6"
        if ip6tables:
            return "nat", f"{why}; with ip6tables on, Docker masquerades every IPv6 network"
        return "routed", f"{why}; ip6tables off (Docker's default before 27): plain routed IPv6"
    return asked.mode, asked.basis


def _disagreements(
    asked: _Configured,
    fw: _Firewall,
    option: str | None,
    ip_masquerade: bool,
    ip6tables: bool | None,
    internal: bool,
    major: int,
) -> list[str]:
    """Where the options and the firewall tell different stories; the firewall is right."""
    rule = f"`{fw.nat_rules[0].rule}`" if fw.nat_rules else "a masquerade rule"
    notes: list[str] = []
    if asked.mode is None and option is not None:
        ignored = f"Docker {major} ignores gateway_mode_ipv6 (added in 27): {option} has no effect"
        notes.append(ignored + (f", and {rule} masquerades it" if fw.masqueraded else ""))
    if fw.masqueraded:
        if asked.mode in ("routed", "isolated"):
            notes.append(
                f"the option says {asked.mode}, yet {rule} masquerades it: "
                "not a rule Docker writes in that mode"
            )
        if not ip_masquerade:
            notes.append(f"{MASQUERADE_OPTION}=false, yet {rule} masquerades it: not Docker's rule")
        if ip6tables is False:
            notes.append(f"ip6tables is off, yet {rule} masquerades it: not Docker's rule")
    elif fw.masqueraded is False:
        if not ip_masquerade:
            notes.append(f"{MASQUERADE_OPTION}=false: Docker does not masquerade it")
        elif asked.mode in ("nat", "nat-unprotected") and ip6tables is not False and not internal:
            notes.append(
                f"gateway mode {asked.mode} should masquerade it, yet no rule read does "
                "(a flushed nat table?)"
            )
    return notes
