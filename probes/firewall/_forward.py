"""RT-04: the forward walk, one packet per traffic class the containers need, to and from each
of the profile's anchors."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv6Network
from typing import Literal

from probes.firewall._dnat import dnat_targets, with_dnat
from probes.firewall._docker import written_by_docker
from probes.firewall._ip6tables import Ip6tablesSave
from probes.firewall._model import (
    DNS,
    EPHEMERAL,
    HTTPS,
    INTERNET,
    Action,
    AddressMatch,
    Chain,
    CtState,
    Packet,
    Ports,
    Table,
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
    hook: str = "forward"  # "prerouting": dropped at the raw stage, before conntrack

    @property
    def raw_stage(self) -> bool:
        """Dropped in raw PREROUTING: no ACCEPT on the forward hook can let it past."""
        return self.hook == "prerouting"

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
        return written_by_docker(self.table, self.chain, self.rule)

    def removal(self) -> str:
        """How to delete the dropping rule (not a policy), as a command to run."""
        if self.source == "ip6tables" and self.rule.startswith("-A "):
            table = "" if self.table == "filter" else f"-t {self.table} "
            return f"`ip6tables {table}-D {self.rule[3:]}`"
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
    base = spot.table.chains.get(spot.path[0]) if spot.path else None
    hook = (base or spot.chain).hook or "forward"
    return Drop(
        spot.table.source, spot.table.label, spot.chain.name, spot.rule, packet.direction,
        packet.state, line, spot.path, spot.uncertain, traffic, packet.consequence, hook,
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


# Why assess_forward(direct=False) walks no inbound packet through the raw stage.
RAW_STAGE_LEFT_OUT = (
    "inbound traffic before conntrack: a masqueraded network's replies come addressed to the "
    "host and pass the raw stage's per-container drops (Docker 28+'s direct-access drops "
    "protect its containers from traffic addressed to them)"
)
# Why a drop at the raw stage of inbound traffic is doubtful where the network's masquerade is
# not known: masqueraded, the replies come to the host's address and pass it.
DIRECT_UNKNOWN = (
    "whether inbound traffic comes addressed to the containers (the network not masqueraded) "
    "is not known"
)
# How many container addresses the raw stage's rules single out in one subnet get a packet of
# their own; past that, a rule for one of the others is doubtful.
MAX_CARVED = 64


def assess_forward(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnets: Sequence[str],
    bridges: Sequence[str],
    uplink: str | None,
    destinations: Sequence[str] = (OUTSIDE,),
    inbound_new: bool = True,
    direct: bool | None = True,
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

    The same packets cross the raw stage first (``Table.raw_chains``: ip6tables' raw
    PREROUTING, nft prerouting chains before conntrack), where Docker 28+ drops traffic from
    outside addressed directly to a nat-mode network's containers, one rule per container
    (``-d ADDR/128 ! -i BRIDGE -j DROP``). Inbound packets are walked there only where they
    come addressed to the containers (``direct``: the network is not masqueraded; a
    masqueraded network's replies come to the host's address and are de-NATed after it; None:
    not known, and what drops them there is doubtful). Each address such a rule singles out in
    a subnet gets packets of its own (up to ``MAX_CARVED``), so a rule for one container is a
    proven drop of that container's traffic, and not a doubt on the rest of the subnet.

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
    modelled = with_dnat(
        [
            p
            for subnet, bridge in _pairs(subnets, bridges)
            for outside in beyond
            for p in _packets(subnet, bridge, uplink, outside, bridge_names)
        ],
        dnat_targets(ruleset),
    )
    unwanted = [] if inbound_new else [p for p in modelled if _inbound_new(p)]
    packets = [p for p in modelled if p not in unwanted]
    drops: list[Drop] = []
    notes: list[str] = []
    more = 0
    tables = ruleset.tables()
    raw_packets = _raw_stage_packets(tables, packets, direct)
    for table in tables:
        walks = TableWalks(table, DROPS, deadline)
        seen: dict[str, None] = {}  # the table's notes, each once, in order
        staged = [(table.raw_chains(), raw_packets), (table.forward_chains(), packets)]
        for chains, these in staged:
            for chain in chains:
                for packet in these:
                    walked, found = _judge_base_chain(walks, chain, packet)
                    if direct is None and chain.hook == "prerouting":
                        found = [_doubted(d) for d in found]
                    drops.extend(found)
                    more += walked.more
                    seen.update(dict.fromkeys(walked.notes))
        notes.extend(f"{table.source} {table.label} {n}" for n in seen)
    unique = list(dict.fromkeys(drops))
    return ForwardAssessment(
        tuple(d for d in unique if d.proven),
        tuple(d for d in unique if not d.proven),
        tuple(dict.fromkeys(notes)),
        (
            *(p.describe() for p in packets),
            *(f"before conntrack: {p.describe()}" for p in raw_packets if p not in packets),
        ),
        ruleset.problems,
        ruleset.skipped,
        (
            *(f"{p.describe()}: {INBOUND_NEW_LEFT_OUT}" for p in unwanted),
            *([RAW_STAGE_LEFT_OUT] if direct is False and raw_packets else []),
        ),
        more,
    )


def _doubted(drop: Drop) -> Drop:
    if drop.direction != "inbound":
        return drop
    return dataclasses.replace(drop, uncertain=(*drop.uncertain, DIRECT_UNKNOWN))


def _raw_stage_packets(
    tables: Sequence[Table], packets: Sequence[Packet], direct: bool | None
) -> list[Packet]:
    """The packets the raw stage sees as they come: outbound ones all, inbound ones where they
    come addressed to the containers; each inbound one also once per address or prefix a raw
    stage rule singles out in its destination subnet, the subnet's packet standing for the
    rest."""
    if not any(t.raw_chains() for t in tables):
        return []
    named = [
        net
        for table in tables
        if table.raw_chains()
        for chain in table.chains.values()
        for rule in chain.rules
        for match in rule.matches
        if isinstance(match, AddressMatch) and match.field == "dst"
        for net in match.networks
    ]
    staged: list[Packet] = []
    for packet in packets:
        if packet.direction == "inbound" and direct is False:
            continue
        if packet.direction == "outbound":
            staged.append(packet)
            continue
        inside = [n for n in dict.fromkeys(named) if n != packet.dst and n.subnet_of(packet.dst)]
        inside = inside[:MAX_CARVED]
        staged.append(dataclasses.replace(packet, carved=tuple(inside)))
        for net in inside:
            within = tuple(n for n in inside if n != net and n.subnet_of(net))
            staged.append(dataclasses.replace(packet, dst=net, carved=within))
    return staged


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
