"""RT-04: the forward walk, one packet per traffic class the containers need, to and from each
of the profile's anchors."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Network
from typing import Literal

from probes.firewall._docker import written_by_docker
from probes.firewall._ip6tables import Ip6tablesSave
from probes.firewall._model import (
    DNS,
    EPHEMERAL,
    HTTPS,
    INTERNET,
    Action,
    Chain,
    CtState,
    Packet,
    Ports,
    Transport,
)
from probes.firewall._nft import NftRuleset
from probes.firewall._ruleset import Ruleset, _ruleset_of
from probes.firewall._walk import Deadline, Search, Spot, TableWalks, Walked, unproven, via

# The lab's own anchor, from documentation space: where the packets go when a caller names no
# destinations at all (the crafted rule sets of the tests); the suites name the profile's.
OUTSIDE = "2001:db8:f00d::1"


@dataclass(frozen=True, slots=True)
class _Ends:
    """One subnet's two ends: its bridge, and the outside beyond the uplink."""

    subnet: IPv6Network
    outside: IPv6Network
    bridge: str
    uplink: str | None
    bridges: tuple[str, ...]

    def packet(
        self,
        direction: Literal["outbound", "inbound"],
        state: CtState,
        protocol: Transport,
        consequence: str,
        *,
        ports: tuple[Ports, Ports] | None = None,
        icmp: tuple[int, int | None] | None = None,
    ) -> Packet:
        sport, dport = ports if ports else (None, None)
        icmp_type, icmp_code = icmp if icmp else (None, None)
        outbound = direction == "outbound"
        src, dst = (self.subnet, self.outside) if outbound else (self.outside, self.subnet)
        iif, oif = (self.bridge, self.uplink) if outbound else (self.uplink, self.bridge)
        return Packet(
            direction, state, src, dst, iif, oif, self.bridges, protocol, sport, dport,
            icmp_type, icmp_code, consequence,
        )  # fmt: skip


def _packets(
    subnet: IPv6Network,
    bridge: str,
    uplink: str | None,
    outside: IPv6Network,
    bridges: tuple[str, ...],
) -> tuple[Packet, ...]:
    """The traffic classes routed IPv6 needs to pass, for one subnet: what containers open
    (echo, TCP to 443, UDP to 53), the replies, the ICMPv6 errors that come back for that
    traffic (conntrack RELATED), and echo from outside (NEW: only ICMPv6, since Docker 28's
    routed mode admits from outside ICMPv6 and published ports only, and a published port is
    the site's own choice).

    Neighbor Discovery (RS/RA, NS/NA, redirects) and MLD are not among them, on purpose: they
    are link-local (hop limit 255, never routed), so the host sends and receives them on each
    link through its input and output hooks; they never cross the forward hook this walk
    judges. A firewall that drops them breaks GW-03 and RA-*, not forwarding.
    """
    ends = _Ends(subnet, outside, bridge, uplink, bridges)
    p = ends.packet
    return (
        p("outbound", "new", "icmpv6", "containers cannot ping out", icmp=(128, 0)),
        p("outbound", "new", "tcp", "containers cannot open TCP connections: HTTPS, registries",
          ports=(EPHEMERAL, HTTPS)),
        p("outbound", "new", "udp", "containers cannot ask DNS servers", ports=(EPHEMERAL, DNS)),
        p("inbound", "new", "icmpv6", "the far end cannot ping the containers", icmp=(128, 0)),
        p("inbound", "established", "icmpv6", "echo replies are lost: containers' pings go "
          "unanswered", icmp=(129, 0)),
        p("inbound", "established", "tcp", "TCP replies are lost: containers' connections never "
          "complete", ports=(HTTPS, EPHEMERAL)),
        p("inbound", "established", "udp", "DNS replies are lost: lookups time out",
          ports=(DNS, EPHEMERAL)),
        p("inbound", "related", "icmpv6", "path MTU discovery breaks: large transfers hang",
          icmp=(2, 0)),
        p("inbound", "related", "icmpv6", "unreachable errors are lost: connections to a dead "
          "end hang until they time out instead of failing at once", icmp=(1, None)),
        p("inbound", "related", "icmpv6", "hop-limit errors are lost: traceroute shows nothing, "
          "routing loops go unseen", icmp=(3, None)),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Drop:
    """A rule or policy that drops a modelled container packet, with its chain."""

    source: str  # "ip6tables" or "nftables"
    table: str  # "filter", "inet filter"
    chain: str  # the chain holding the rule (or the base chain, for a policy)
    rule: str  # the rule as the tool printed it, or "policy DROP"
    direction: str  # "outbound" or "inbound"
    state: str  # conntrack state of the packet: "new", "established" or "related"
    packet: str  # the modelled packet, one line
    path: tuple[str, ...] = ()  # chains from the base chain to ``chain``
    uncertain: tuple[str, ...] = ()  # rules we could not evaluate that might change this
    traffic: str = ""  # the packet's class: "inbound related ICMPv6 packet-too-big"
    consequence: str = ""  # what breaks when that class is dropped

    @property
    def proven(self) -> bool:
        return not self.uncertain

    @property
    def is_policy(self) -> bool:
        return self.rule.startswith("policy ")

    @property
    def by_docker(self) -> bool:
        """In a chain or table Docker writes (DOCKER, DOCKER-ISOLATION-STAGE-2, Docker 29's
        ``docker-bridges``): Docker puts it back, so deleting it is no fix. DOCKER-USER is the
        site's own."""
        return written_by_docker(self.table, self.chain)

    def removal(self) -> str:
        """How to delete the dropping rule (not a policy), as a command to run."""
        if self.source == "ip6tables" and self.rule.startswith("-A "):
            return f"`ip6tables -D {self.rule[3:]}`"
        return (
            f"`nft -a list chain {self.table} {self.chain}` shows its handle, then "
            f"`nft delete rule {self.table} {self.chain} handle HANDLE`"
        )

    def describe(self) -> str:
        what = (
            f"{self.rule} (no rule accepts container traffic before it)"
            if self.is_policy
            else f"rule `{self.rule}`"
        )
        where = f"{self.source} {self.table} {self.chain}"
        return f"{where}: {what}{via(self.path)} drops {self.packet}{unproven(self.uncertain)}"


@dataclass(frozen=True, slots=True)
class ForwardAssessment:
    """The verdict for all modelled packets: proven drops, doubtful ones, and why."""

    drops: tuple[Drop, ...]  # proven: every rule on the way was understood
    doubtful: tuple[Drop, ...]  # would drop unless a rule we could not evaluate decides first
    uncertain: tuple[str, ...]  # every rule met that we could not evaluate, with why
    packets: tuple[str, ...]  # the packets modelled
    problems: tuple[str, ...] = ()  # what could not be read or parsed
    skipped: tuple[str, ...] = ()  # tables left out (iptables-nft copies)
    left_out: tuple[str, ...] = ()  # packets not modelled on purpose, each with why
    # Doubtful drops not listed: each walk lists its first MAX_POSSIBLE_SHOWN (see ``_walk``).
    doubtful_more: int = 0


@functools.lru_cache(maxsize=1024)
def _described(packet: Packet) -> tuple[str, str]:
    """A packet's line and class, once: formatting its addresses costs more than a rule test,
    and a rule set of many doubtful drops makes one Drop per rule and packet."""
    return packet.describe(), packet.traffic


def _drop(spot: Spot) -> Drop:
    packet = spot.packet
    line, traffic = _described(packet)
    return Drop(
        spot.table.source, spot.table.label, spot.chain.name, spot.rule, packet.direction,
        packet.state, line, spot.path, spot.uncertain, traffic, packet.consequence,
    )  # fmt: skip


def _drops(action: Action) -> bool:
    return action.kind in ("drop", "reject")


# The forward walk: a DROP or REJECT is what it looks for. A rule it cannot evaluate is only
# noted (its jump not followed, a vmap it could not read), and casts doubt on every drop after
# it. A readable verdict map is followed: Docker 29's nftables backend sends each bridge's
# traffic through one to the bridge's own chains (its accepts, its drop of unpublished ports,
# an internal network's drops).
DROPS = Search(
    _drops,
    _drop,
    read_vmaps=True,
    unknown_target="{rule} — target {target} decides in ways we do not model",
)


def _judge_base_chain(
    walks: TableWalks[Drop], chain: Chain, packet: Packet
) -> tuple[Walked[Drop], list[Drop]]:
    """Walk one base chain; a verdict of drop, or the policy at its end, becomes a Drop."""
    walked = walks.walk(chain, packet)
    found = list(walked.maybe)
    if isinstance(walked.end, Drop):
        found.append(walked.end)
    elif walked.end is None and (chain.policy or "").lower() == "drop":
        policy = f"policy {chain.policy}"
        where = (chain.name,)
        found.append(
            _drop(Spot(walks.table, packet, chain, policy, Action("drop"), where, walked.uncertain))
        )
    return walked, found


def _pairs(subnets: Sequence[str], bridges: Sequence[str]) -> list[tuple[IPv6Network, str]]:
    """Which bridge carries which subnet: one bridge for all, or subnets[i] on bridges[i].

    IPv4 subnets (dual-stack networks list both) are left out; a malformed one is the
    caller's mistake and raises ValueError.
    """
    if len(bridges) != 1 and len(bridges) != len(subnets):
        raise ValueError("give one bridge for all subnets, or one bridge per subnet")
    carriers = bridges if len(bridges) != 1 else [bridges[0]] * len(subnets)
    pairs = [
        (ipaddress.ip_network(s, strict=False), b) for s, b in zip(subnets, carriers, strict=True)
    ]
    return [(n, b) for n, b in pairs if isinstance(n, IPv6Network)]


# Why assess_forward(inbound_new=False) leaves a packet out; the check shows it as evidence.
INBOUND_NEW_LEFT_OUT = (
    "left out: new inbound traffic is not expected to reach a masqueraded (NAT) network "
    "(Docker 28 drops it on purpose)"
)


def assess_forward(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnets: Sequence[str],
    bridges: Sequence[str],
    uplink: str | None,
    destinations: Sequence[str] = (OUTSIDE,),
    inbound_new: bool = True,
    deadline: Deadline | None = None,
) -> ForwardAssessment:
    """Walk every forward base chain with each container subnet's packets.

    Each subnet gets one packet per traffic class (see ``_packets``): outbound NEW ICMPv6 echo,
    TCP to 443 and UDP to 53; their ESTABLISHED replies; the RELATED ICMPv6 errors (packet too
    big, destination unreachable, time exceeded) coming back; and inbound NEW echo. Every base
    chain on the hook sees a packet unless an earlier one dropped it, so a drop in any of them
    loses it; we judge each on its own and report all of them, each drop naming its class
    (``Drop.traffic``). With ``inbound_new=False`` (a masqueraded network, where nothing from
    outside is meant to open a connection to a container) the inbound NEW packets are left out,
    and ``left_out`` says so.

    ``destinations`` are where the containers' traffic goes and comes back from: the profile's
    anchors, each with its own packets, so that a rule for some addresses is judged against the
    ones this host's containers must reach. An empty list means anywhere global (see
    ``_destinations``); an address that is not IPv6 raises ValueError.

    The walk runs under ``deadline`` (one of ``JUDGE_TIMEOUT`` seconds from now if none is
    given): a rule set it cannot judge in time raises ``FirewallUnreadable``.
    """
    deadline = deadline or Deadline.after()
    ruleset = _ruleset_of(ruleset)
    beyond = _destinations(destinations)
    bridge_names = tuple(bridges)
    modelled = [
        p
        for subnet, bridge in _pairs(subnets, bridges)
        for outside in beyond
        for p in _packets(subnet, bridge, uplink, outside, bridge_names)
    ]
    unwanted = [] if inbound_new else [p for p in modelled if _inbound_new(p)]
    packets = [p for p in modelled if p not in unwanted]
    drops: list[Drop] = []
    notes: list[str] = []
    more = 0
    for table in ruleset.tables():
        walks = TableWalks(table, DROPS, deadline)
        seen: dict[str, None] = {}  # the table's notes, each once, in order
        for chain in table.forward_chains():
            for packet in packets:
                walked, found = _judge_base_chain(walks, chain, packet)
                drops.extend(found)
                more += walked.more
                seen.update(dict.fromkeys(walked.notes))
        notes.extend(f"{table.source} {table.label} {n}" for n in seen)
    unique = list(dict.fromkeys(drops))
    return ForwardAssessment(
        tuple(d for d in unique if d.proven),
        tuple(d for d in unique if not d.proven),
        tuple(dict.fromkeys(notes)),
        tuple(p.describe() for p in packets),
        ruleset.problems,
        ruleset.skipped,
        tuple(f"{p.describe()}: {INBOUND_NEW_LEFT_OUT}" for p in unwanted),
        more,
    )


def _destinations(addresses: Sequence[str]) -> tuple[IPv6Network, ...]:
    """Each destination once; with none named, the whole global unicast space (2000::/3): a
    rule for some destinations only is then doubtful, one for all of them still proven."""
    networks: list[IPv6Network] = []
    for address in addresses:
        network = ipaddress.ip_network(address, strict=False)
        if not isinstance(network, IPv6Network):
            raise ValueError(f"{address} is not an IPv6 address")
        networks.append(network)
    return tuple(dict.fromkeys(networks)) or (IPv6Network(INTERNET),)


def _inbound_new(packet: Packet) -> bool:
    return packet.direction == "inbound" and packet.state == "new"


def forward_drops(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnets: Sequence[str],
    bridges: Sequence[str],
    uplink: str | None,
    destinations: Sequence[str] = (OUTSIDE,),
    deadline: Deadline | None = None,
) -> tuple[Drop, ...]:
    """The proven drops of container traffic (see ``assess_forward`` for the doubtful ones)."""
    return assess_forward(
        ruleset, subnets=subnets, bridges=bridges, uplink=uplink, destinations=destinations,
        deadline=deadline,
    ).drops  # fmt: skip


def dropped_traffic(drops: Sequence[Drop]) -> tuple[str, ...]:
    """The traffic classes the drops lose, each once, in the order they were modelled."""
    return tuple(dict.fromkeys(d.traffic for d in drops))


def traffic_phrase(drops: Sequence[Drop]) -> str:
    """The classes dropped, for a diagnosis: each with what breaks when there are few
    (``inbound related ICMPv6 packet-too-big (path MTU discovery breaks: large transfers
    hang)``), grouped by direction and state when there are many."""
    classes = dict(zip((d.traffic for d in drops), (d.consequence for d in drops), strict=True))
    if len(classes) <= 3:
        return ", ".join(f"{t} ({c})" if c else t for t, c in classes.items())
    groups: dict[str, list[str]] = {}
    for traffic in classes:
        direction, state, what = traffic.split(" ", 2)
        groups.setdefault(f"{direction} {state}", []).append(what)
    return "; ".join(f"{group} ({', '.join(what)})" for group, what in groups.items())


def drops_diagnosis(drops: Sequence[Drop], on: str) -> str:
    """One line: the first dropping rule, the classes it drops ``on`` a network, and the
    classes other rules drop besides."""
    first = drops[0]
    by_first = [d for d in drops if (d.source, d.table, d.chain, d.rule) == (
        first.source, first.table, first.chain, first.rule)]  # fmt: skip
    line = (
        f"{first.source} {first.table} {first.chain}: {first.rule} drops "
        f"{traffic_phrase(by_first)} on {on}"
    )
    named = set(dropped_traffic(by_first))
    rest = [d for d in drops if d.traffic not in named]
    if rest:
        rules = len({(d.source, d.table, d.chain, d.rule) for d in rest})
        line += f"; {rules} other rule{'s' if rules > 1 else ''} drop{'' if rules > 1 else 's'} "
        line += ", ".join(dropped_traffic(rest))
    return line
