"""RT-04: does a host firewall rule drop forwarded IPv6 container traffic? And RT-06's half:
is a container subnet masqueraded (NAT66) on its way out?

Routed IPv6 (no NAT) only works when the host's FORWARD path lets container packets through.
Docker writes ip6tables rules only with ``--ip6tables`` (default since 27), so a host firewall
with ``policy DROP`` or a stray rule silently eats container traffic while IPv4 works.

We read the rules as text (``ip6tables-save``, ``nft -j list ruleset``), model one packet of
each traffic class containers need (their own ICMPv6 echo, TCP and UDP, the replies, the ICMPv6
errors that come back for them, echo from outside), and walk the forward-hook chains as the
kernel would, so a rule that drops only container TCP, DNS replies or Packet Too Big is seen.
The walk is three-valued: a match we do not understand neither matches nor fails, so a drop
reached past such a rule is reported as doubtful, never as proven. The NAT search walks the nat
chains on the postrouting hook the same way, with one outbound packet, looking for MASQUERADE /
SNAT.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import shlex
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Network
from typing import Literal

from probes.errors import HarnessError
from probes.netns import Netns

OUTSIDE = "2001:db8:f00d::1"  # a global address beyond the uplink, from documentation space
MAX_CHAIN_DEPTH = 64  # deeper than any real ruleset; stops loops a broken dump could contain
# Tables iptables-nft keeps in nftables; judged through ip6tables-save, not twice.
XTABLES_TABLES = frozenset({"filter", "nat", "mangle", "raw", "security"})

Tri = bool | None  # True: matches, False: does not, None: we cannot tell


class FirewallUnreadable(HarnessError):
    """The firewall could not be read at all (or a dump is not what it claims to be)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"firewall in {where}: {reason}")
        self.where = where
        self.reason = reason


# --- the packets we model ------------------------------------------------------------------

Transport = Literal["icmpv6", "tcp", "udp"]
CtState = Literal["new", "established", "related"]
Ports = tuple[int, int]  # an inclusive range of ports; one port is (443, 443)
PROTOCOL_NAMES: dict[Transport, str] = {"icmpv6": "ICMPv6", "tcp": "TCP", "udp": "UDP"}
# The source ports a container's connections leave from: Linux's default ip_local_port_range.
# A rule on part of it (``--dport 40000:50000``) holds for some connections only: doubtful.
EPHEMERAL: Ports = (32768, 60999)
HTTPS: Ports = (443, 443)  # where the modelled TCP goes: registries, package mirrors, APIs
DNS: Ports = (53, 53)  # where the modelled UDP goes

ICMPV6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "ping": 128,
    "echo-reply": 129,
    "pong": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "router-solicitation": 133,
    "nd-router-solicit": 133,
    "router-advertisement": 134,
    "nd-router-advert": 134,
    "neighbour-solicitation": 135,
    "neighbor-solicitation": 135,
    "nd-neighbor-solicit": 135,
    "neighbour-advertisement": 136,
    "neighbor-advertisement": 136,
    "nd-neighbor-advert": 136,
    "redirect": 137,
    "nd-redirect": 137,
}
# How the evidence names the types we model (ip6tables' and nft's spelling).
ICMPV6_NAMES = {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded",
                4: "parameter-problem", 128: "echo-request", 129: "echo-reply"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Packet:
    """A container packet of one traffic class crossing the forward hook; addresses are sets
    (a whole subnet), ports are ranges (a container's source port is any ephemeral one)."""

    direction: Literal["outbound", "inbound"]
    state: CtState  # conntrack: NEW opens a flow, ESTABLISHED belongs to one, RELATED errs on one
    src: IPv6Network
    dst: IPv6Network
    iif: str | None  # None: some interface that is not a container bridge (uplink unknown)
    oif: str | None
    bridges: tuple[str, ...]
    protocol: Transport = "icmpv6"
    sport: Ports | None = None  # TCP and UDP only
    dport: Ports | None = None
    icmp_type: int | None = None  # ICMPv6 only: 128 echo request, 2 packet too big…
    icmp_code: int | None = None  # None: any code of the type (the sender picks one)
    consequence: str = ""  # what breaks for the containers when this class is dropped

    @property
    def traffic(self) -> str:
        """The class in one phrase: ``outbound new TCP dport 443``, ``inbound related ICMPv6
        packet-too-big``."""
        head = f"{self.direction} {self.state} {PROTOCOL_NAMES[self.protocol]}"
        if self.protocol == "icmpv6":
            return f"{head} {_icmp_name(self.icmp_type)}"
        (side, ports), _ = self._port_sides()
        return f"{head} {side} {_ports_text(ports)}"

    def describe(self) -> str:
        """``outbound new TCP 2001:db8:1::/64 → 2001:db8:f00d::1/128 dport 443 sport
        32768-60999, in docker0 out eth0``."""
        head = f"{self.direction} {self.state} {PROTOCOL_NAMES[self.protocol]}"
        if self.protocol == "icmpv6":
            what = f"{head} {_icmp_name(self.icmp_type)} {self.src} → {self.dst}"
        else:
            (side, ports), (other, rest) = self._port_sides()
            what = (
                f"{head} {self.src} → {self.dst} {side} {_ports_text(ports)} "
                f"{other} {_ports_text(rest)}"
            )
        return f"{what}, in {self.iif or 'the uplink'} out {self.oif or 'the uplink'}"

    def _port_sides(self) -> tuple[tuple[str, Ports | None], tuple[str, Ports | None]]:
        """(the service's side, the container's ephemeral side) of a TCP or UDP packet."""
        if self.sport == EPHEMERAL:
            return ("dport", self.dport), ("sport", self.sport)
        return ("sport", self.sport), ("dport", self.dport)


def _icmp_name(icmp_type: int | None) -> str:
    return ICMPV6_NAMES.get(icmp_type, str(icmp_type)) if icmp_type is not None else "?"


def _ports_text(ports: Ports | None) -> str:
    if ports is None:
        return "?"
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


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


# --- matches: each answers True / False / None for a packet --------------------------------


def _any_of(results: Iterable[Tri]) -> Tri:
    """A list of alternatives (a set, a comma list): one sure hit wins, all misses miss."""
    seen_unknown = False
    for result in results:
        if result is True:
            return True
        if result is None:
            seen_unknown = True
    return None if seen_unknown else False


def _negated(result: Tri, negate: bool) -> Tri:
    return result if result is None or not negate else not result


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """-s / -d, ip6 saddr / daddr: the packet's address set against rule prefixes."""

    field: Literal["src", "dst"]
    networks: tuple[IPv6Network, ...]
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        addresses = packet.src if self.field == "src" else packet.dst
        if any(addresses.subnet_of(net) for net in self.networks):
            hit: Tri = True
        elif not any(addresses.overlaps(net) for net in self.networks):
            hit = False
        else:
            hit = None  # the rule covers only part of the subnet: some containers, not all
        return _negated(hit, self.negate)

    def why_unknown(self) -> str:
        return f"{self.field} prefix covers only part of the container subnet"


@dataclass(frozen=True, slots=True)
class InterfaceMatch:
    """-i / -o, iifname / oifname: exact names or prefix wildcards (``eth+``, ``eth*``)."""

    field: Literal["in", "out"]
    patterns: tuple[tuple[str, bool], ...]  # (name or prefix, is_prefix)
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        iface = packet.iif if self.field == "in" else packet.oif
        hits = (
            _interface_hit(name, is_prefix, iface, packet.bridges)
            for name, is_prefix in self.patterns
        )
        return _negated(_any_of(hits), self.negate)

    def why_unknown(self) -> str:
        return f"{self.field} interface is the uplink, which was not named"


def _interface_hit(name: str, is_prefix: bool, iface: str | None, bridges: Sequence[str]) -> Tri:
    if iface is not None:
        return iface.startswith(name) if is_prefix else iface == name
    # An unnamed uplink is known only not to be a container bridge.
    if is_prefix and name == "":
        return True
    if not is_prefix and name in bridges:
        return False
    return None


# Each way ip6tables and nft spell the protocols we model; any other protocol is not ours.
_PROTOCOL_SPELLINGS: dict[str, Transport] = {
    "58": "icmpv6", "icmpv6": "icmpv6", "ipv6-icmp": "icmpv6", "icmp6": "icmpv6",
    "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp",
}  # fmt: skip
_ANY_PROTOCOL = frozenset({"all", "any"})


@dataclass(frozen=True, slots=True)
class ProtocolMatch:
    """-p, meta l4proto, ip6 nexthdr: ICMPv6, TCP or UDP, by name or number."""

    protocols: tuple[str, ...]
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        hit = any(_protocol_is(p, packet.protocol) for p in self.protocols)
        return _negated(hit, self.negate)

    def why_unknown(self) -> str:
        return "protocol"


def _protocol_is(spelling: str, protocol: Transport) -> bool:
    name = spelling.lower()
    return name in _ANY_PROTOCOL or _PROTOCOL_SPELLINGS.get(name) == protocol


@dataclass(frozen=True, slots=True)
class PortMatch:
    """--sport / --dport (``-m tcp``, ``-m udp``), ``-m multiport``, nft ``tcp dport``,
    ``udp sport``, ``th dport``: the packet's port ranges against the rule's.

    A port match reads a header only its protocols have: any other packet never matches it,
    negated or not (ip6tables needs ``-p tcp`` for ``-m tcp``, nft adds ``meta l4proto tcp``).
    """

    side: Literal["sport", "dport", "either"]  # either: multiport --ports
    ranges: tuple[Ports, ...]
    protocols: tuple[Transport, ...] = ("tcp", "udp")
    negate: bool = False
    # nft's ``th dport``: bytes of whatever transport header the packet has, with no protocol
    # implied; on an ICMPv6 packet it reads the checksum, which we cannot predict.
    raw: bool = False

    def test(self, packet: Packet) -> Tri:
        if packet.protocol not in self.protocols:
            return None if self.raw else False
        sides = {
            "sport": (packet.sport,),
            "dport": (packet.dport,),
            "either": (packet.sport, packet.dport),
        }[self.side]
        return _negated(_any_of(_ports_hit(ports, self.ranges) for ports in sides), self.negate)

    def why_unknown(self) -> str:
        what = f"{self.side} range covers only some of the containers' ephemeral ports"
        if self.raw:
            what += ", or th reads an ICMPv6 header's checksum as a port"
        return what


def _ports_hit(ports: Ports | None, ranges: Sequence[Ports]) -> Tri:
    """All of the packet's ports in the ranges, none, or some (None)."""
    if ports is None:
        return False
    low, high = ports
    covered = 0
    for start, end in sorted(ranges):
        start, end = max(start, low), min(end, high)
        if start <= end:
            covered += end - start + 1
            low = end + 1  # ranges may overlap: count each port once
    if covered == ports[1] - ports[0] + 1:
        return True
    return None if covered else False


TCP_FLAGS = ("FIN", "SYN", "RST", "PSH", "ACK", "URG")
# The flags each modelled TCP packet may carry: a connection opens with SYN; what comes back
# on it is the SYN-ACK, then ACKs with or without data, and its end (FIN or RST).
_TCP_FLAGS_BY_STATE: dict[str, tuple[frozenset[str], ...]] = {
    "new": (frozenset({"SYN"}),),
    "established": tuple(
        frozenset(f.split())
        for f in ("SYN ACK", "ACK", "PSH ACK", "FIN ACK", "FIN PSH ACK", "RST", "RST ACK")
    ),
}


@dataclass(frozen=True, slots=True)
class TcpFlagsMatch:
    """--tcp-flags MASK COMP and --syn (``-m tcp``; ip6tables-save prints --syn as
    ``--tcp-flags FIN,SYN,RST,ACK SYN``), nft ``tcp flags & (syn | ack) == syn``: the flags in
    MASK are exactly those in COMP; with ``any_set`` (nft ``tcp flags syn``), any of MASK."""

    mask: frozenset[str]
    comp: frozenset[str]
    negate: bool = False
    any_set: bool = False

    def test(self, packet: Packet) -> Tri:
        if packet.protocol != "tcp":
            return False
        seen = _TCP_FLAGS_BY_STATE.get(packet.state, ())
        if self.any_set:
            hits = {bool(flags & self.mask) for flags in seen}
        else:
            hits = {(flags & self.mask) == self.comp for flags in seen}
        hit: Tri = None if len(hits) != 1 else hits.pop()
        return _negated(hit, self.negate)

    def why_unknown(self) -> str:
        return "tcp flags: some of the connection's segments have them, some do not"


@dataclass(frozen=True, slots=True)
class StateMatch:
    """--ctstate / --state / ct state: NEW first packets, ESTABLISHED replies, RELATED errors."""

    states: frozenset[str]
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        if self.states & {"snat", "dnat"}:
            return None  # virtual NAT states depend on rules elsewhere (nat table)
        return _negated(packet.state in self.states, self.negate)

    def why_unknown(self) -> str:
        return "conntrack SNAT/DNAT state depends on NAT rules"


@dataclass(frozen=True, slots=True)
class IcmpTypeMatch:
    """--icmpv6-type, icmpv6 type: (type, code) pairs, code None for any. It reads the ICMPv6
    header, so TCP and UDP packets never match it, negated or not."""

    types: tuple[tuple[int, int | None], ...]
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        if packet.protocol != "icmpv6":
            return False
        return _negated(_any_of(_icmp_hit(t, c, packet) for t, c in self.types), self.negate)

    def why_unknown(self) -> str:
        return "icmpv6 code: an error's code is its sender's choice"


def _icmp_hit(icmp_type: int, code: int | None, packet: Packet) -> Tri:
    if icmp_type != packet.icmp_type:
        return False
    if code is None:
        return True
    return None if packet.icmp_code is None else code == packet.icmp_code


# nft's names of ICMPv6 codes (``icmpv6 code port-unreachable``).
ICMPV6_CODES = {"no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3,
                "port-unreachable": 4, "policy-fail": 5, "reject-route": 6}  # fmt: skip


@dataclass(frozen=True, slots=True)
class IcmpCodeMatch:
    """nft ``icmpv6 code``: echo and packet too big have code 0; the code of a destination
    unreachable or time exceeded is its sender's choice, so a match on it stays open."""

    codes: tuple[int, ...]
    negate: bool = False

    def test(self, packet: Packet) -> Tri:
        if packet.protocol != "icmpv6":
            return False
        if packet.icmp_code is None:
            return None
        return _negated(packet.icmp_code in self.codes, self.negate)

    def why_unknown(self) -> str:
        return "icmpv6 code: an error's code is its sender's choice"


@dataclass(frozen=True, slots=True)
class FamilyMatch:
    """meta nfproto / meta protocol in inet tables: our packets are IPv6."""

    ipv6: bool

    def test(self, packet: Packet) -> Tri:
        return self.ipv6

    def why_unknown(self) -> str:
        return "family"


@dataclass(frozen=True, slots=True)
class NeverMatch:
    """A match that needs a protocol we do not model (sctp dport, ip saddr, icmp type): never
    one of our packets."""

    reason: str

    def test(self, packet: Packet) -> Tri:
        return False

    def why_unknown(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class UnknownMatch:
    """A match we do not evaluate (a module, a set we cannot resolve, a rate limit). One that
    reads a protocol's header (``--tcp-flags``, ``icmpv6 code``) is known not to match the
    packets of other protocols."""

    reason: str
    protocols: tuple[Transport, ...] = ()  # the protocols it can match; empty: any

    def test(self, packet: Packet) -> Tri:
        if self.protocols and packet.protocol not in self.protocols:
            return False
        return None

    def why_unknown(self) -> str:
        return self.reason


Match = (
    AddressMatch
    | InterfaceMatch
    | ProtocolMatch
    | PortMatch
    | TcpFlagsMatch
    | StateMatch
    | IcmpTypeMatch
    | IcmpCodeMatch
    | FamilyMatch
    | NeverMatch
    | UnknownMatch
)

ActionKind = Literal["accept", "drop", "reject", "return", "jump", "goto", "continue", "unknown"]


@dataclass(frozen=True, slots=True)
class Action:
    """What a matching rule does; ``unknown`` is a target whose verdict we cannot predict."""

    kind: ActionKind
    target: str | None = None  # the chain of a jump/goto, or the unknown target's name
    # An nft verdict map we could read (``iifname vmap @jumps``): each element's key as a match,
    # and its verdict. Only the NAT search follows them; to the forward walk a vmap stays an
    # unknown target, as it always was.
    branches: tuple[tuple[Match, Action], ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its text as the tool printed it (evidence), its matches, its action."""

    text: str
    matches: tuple[Match, ...]
    action: Action

    def test(self, packet: Packet) -> tuple[Tri, tuple[str, ...]]:
        """Whether the rule matches, and why we cannot tell when we cannot."""
        unknown: list[str] = []
        for match in self.matches:
            hit = match.test(packet)
            if hit is False:
                return False, ()
            if hit is None:
                unknown.append(match.why_unknown())
        return (None, tuple(unknown)) if unknown else (True, ())


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain; base chains have a hook and a policy ("DROP", "drop"…), regular ones neither."""

    name: str
    rules: tuple[Rule, ...] = ()
    policy: str | None = None
    hook: str | None = None
    priority: int = 0
    kind: str = "filter"  # the chain type: "filter", "nat" ("route" in nft)


@dataclass(frozen=True, slots=True)
class Table:
    """The chains of one table, as one tool reported them."""

    source: Literal["ip6tables", "nftables"]
    family: str  # "ip6" or "inet"
    name: str
    chains: Mapping[str, Chain] = field(default_factory=dict)
    incomplete: str | None = None  # why the dump of this table may lack rules

    @property
    def label(self) -> str:
        return self.name if self.source == "ip6tables" else f"{self.family} {self.name}"

    def forward_chains(self) -> tuple[Chain, ...]:
        """Base chains on the forward hook, in the order the kernel runs them."""
        hooked = [c for c in self.chains.values() if c.hook == "forward" and c.kind == "filter"]
        return tuple(sorted(hooked, key=lambda c: c.priority))

    def nat_chains(self, hook: str = "postrouting") -> tuple[Chain, ...]:
        """Base chains of type nat on ``hook``, in the order the kernel runs them."""
        hooked = [c for c in self.chains.values() if c.hook == hook and c.kind == "nat"]
        return tuple(sorted(hooked, key=lambda c: c.priority))


# --- ip6tables-save ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ip6tablesSave:
    """The filter and nat tables of an ``ip6tables-save`` dump; other tables are only named."""

    filter: Table | None
    nf_tables: bool  # the header says "(nf_tables)": iptables-nft, its tables are in nft too
    tables_seen: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    nat: Table | None = None  # for the NAT search; the forward walk never looks at it


BUILTIN_TARGETS: dict[str, ActionKind] = {
    "ACCEPT": "accept",
    "DROP": "drop",
    "REJECT": "reject",
    "RETURN": "return",
}
# Targets that do their thing and let the packet go on to the next rule.
NON_TERMINATING_TARGETS = frozenset(
    {"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "TRACE", "AUDIT", "CLASSIFY", "DSCP", "TOS",
     "TCPMSS", "HL", "TEE", "CONNSECMARK", "SECMARK", "IDLETIMER", "LED", "CHECKSUM"}
)  # fmt: skip


# chain name: (policy, each rule's tokens after the chain name, each rule's line)
_Declared = dict[str, tuple[str | None, list[list[str]], list[str]]]

# The tables we read, and their built-in chains that are base chains (with their hook). In the
# filter table only FORWARD: the forward walk judges nothing else, and a policy elsewhere must
# not look like one it should.
_IP6TABLES_HOOKS: dict[str, dict[str, str]] = {
    "filter": {"FORWARD": "forward"},
    "nat": {
        "PREROUTING": "prerouting",
        "INPUT": "input",
        "OUTPUT": "output",
        "POSTROUTING": "postrouting",
    },
}


def parse_ip6tables_save(text: str) -> Ip6tablesSave:
    """Read the ``*filter`` and ``*nat`` tables of ``ip6tables-save`` (with or without ``-c``
    counters).

    Lines we cannot read are recorded as problems; only text with no table at all raises
    ``FirewallUnreadable``, since then it is not ip6tables-save output.
    """
    problems: list[str] = []
    tables_seen: list[str] = []
    nf_tables = False
    current: str | None = None
    declared: dict[str, _Declared] = {}
    committed: set[str] = set()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            nf_tables = nf_tables or "(nf_tables)" in line
            if "legacy tables present" in line:
                problems.append("ip6tables-legacy tables are present too and were not read")
            continue
        if line.startswith("*"):
            current = line[1:].strip()
            tables_seen.append(current)
            if current in _IP6TABLES_HOOKS:
                declared.setdefault(current, {})
            continue
        if line == "COMMIT":
            if current is not None:
                committed.add(current)
            current = None
            continue
        if current is None:
            problems.append(f"line {number}: outside any table: {_clip(line)}")
            continue
        chains = declared.get(current)
        if chains is None:
            continue  # mangle, raw, security: named, not read
        line = _strip_counters(line)
        if line.startswith(":"):
            _declare_chain(line, chains, problems, number)
        elif line.startswith("-A "):
            _add_rule(line, chains, problems, number)
        else:
            problems.append(f"line {number}: not a chain or rule: {_clip(line)}")

    if not tables_seen and problems:
        raise FirewallUnreadable("ip6tables-save output", f"no table in it; {problems[0]}")
    tables: dict[str, Table] = {}
    for name, chains in declared.items():
        incomplete = None
        if name not in committed:
            incomplete = f"the {name} table ends without COMMIT (truncated dump?)"
            problems.append(incomplete)
        tables[name] = _ip6tables_table(name, chains, incomplete)
    return Ip6tablesSave(
        tables.get("filter"), nf_tables, tuple(tables_seen), tuple(problems), tables.get("nat")
    )


def _clip(text: str, width: int = 80) -> str:
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= width else text[: width - 1] + "…"


def _strip_counters(line: str) -> str:
    """``ip6tables-save -c`` prefixes each rule with ``[packets:bytes]``."""
    if line.startswith("["):
        end = line.find("]")
        if end > 0:
            return line[end + 1 :].lstrip()
    return line


def _declare_chain(line: str, declared: _Declared, problems: list[str], number: int) -> None:
    parts = line[1:].split()
    if not parts:
        problems.append(f"line {number}: empty chain declaration")
        return
    policy = parts[1] if len(parts) > 1 and parts[1] != "-" else None
    declared.setdefault(parts[0], (policy, [], []))


def _add_rule(line: str, declared: _Declared, problems: list[str], number: int) -> None:
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        problems.append(f"line {number}: {exc}: {_clip(line)}")
        return
    if len(tokens) < 2:
        problems.append(f"line {number}: rule without chain: {_clip(line)}")
        return
    chain = tokens[1]
    if chain not in declared:
        problems.append(f"line {number}: rule for undeclared chain {chain}")
        declared[chain] = (None, [], [])
    declared[chain][1].append(tokens[2:])
    declared[chain][2].append(line)


def _ip6tables_table(table: str, declared: _Declared, incomplete: str | None) -> Table:
    names = set(declared)
    hooks = _IP6TABLES_HOOKS.get(table, {})
    kind = "nat" if table == "nat" else "filter"
    chains: dict[str, Chain] = {}
    for name, (policy, token_lists, texts) in declared.items():
        rules = tuple(
            _ip6tables_rule(text, tokens, names)
            for text, tokens in zip(texts, token_lists, strict=True)
        )
        hook = hooks.get(name)
        chains[name] = Chain(name, rules, policy if hook else None, hook, kind=kind)
    return Table("ip6tables", "ip6", table, chains, incomplete)


_ADDRESS_OPTIONS = {"-s": "src", "--source": "src", "-d": "dst", "--destination": "dst"}
_INTERFACE_OPTIONS = {"-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out"}


def _ip6tables_rule(text: str, tokens: list[str], chains: set[str]) -> Rule:
    """Turn one ``-A`` line's tokens (after the chain name) into matches and an action."""
    matches: list[Match] = []
    action = Action("continue")
    module: str | None = None
    negate = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "!":
            negate = True
            i += 1
            continue
        value = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in ("-j", "--jump", "-g", "--goto"):
            action = _ip6tables_action(value, chains, goto=token in ("-g", "--goto"))
            break  # everything after the target is the target's own options
        if token in _ADDRESS_OPTIONS:
            matches.append(_address_match(_ADDRESS_OPTIONS[token], value.split(","), negate))
            i += 2
        elif token in _INTERFACE_OPTIONS:
            pattern = (value[:-1], True) if value.endswith("+") else (value, False)
            side: Literal["in", "out"] = "in" if _INTERFACE_OPTIONS[token] == "in" else "out"
            matches.append(InterfaceMatch(side, (pattern,), negate))
            i += 2
        elif token in ("-p", "--protocol"):
            matches.append(ProtocolMatch((value,), negate))
            i += 2
        elif token in ("-m", "--match"):
            module = value
            i += 2
        elif token == "--comment":
            i += 2  # one value, which may well start with "-"
        else:
            values, i = _option_values(tokens, i + 1)
            matches.extend(_module_match(module, token, values, negate))
        negate = False
    return Rule(text, tuple(matches), action)


def _option_values(tokens: list[str], i: int) -> tuple[list[str], int]:
    values: list[str] = []
    while i < len(tokens) and tokens[i] != "!" and not tokens[i].startswith("-"):
        values.append(tokens[i])
        i += 1
    return values, i


_PORT_OPTIONS: dict[str, Literal["sport", "dport"]] = {
    "--sport": "sport", "--source-port": "sport", "--dport": "dport", "--destination-port": "dport",
}  # fmt: skip
_MULTIPORT_OPTIONS: dict[str, Literal["sport", "dport", "either"]] = {
    "--sports": "sport", "--source-ports": "sport", "--dports": "dport",
    "--destination-ports": "dport", "--ports": "either",
}  # fmt: skip
# The protocols whose header a module's options read: other packets never match them.
_MODULE_PROTOCOLS: dict[str, tuple[Transport, ...]] = {
    "tcp": ("tcp",), "udp": ("udp",), "icmp6": ("icmpv6",), "icmpv6": ("icmpv6",),
    "multiport": ("tcp", "udp"),
}  # fmt: skip
# Modules for protocols we do not model: their options need a header our packets never carry.
_OTHER_PROTOCOL_MODULES = frozenset({"sctp", "dccp", "udplite", "icmp", "ah", "esp", "mh"})


def _module_match(module: str | None, option: str, values: list[str], negate: bool) -> list[Match]:
    """Options of ``-m`` modules we understand; anything else cannot be evaluated. A module
    left out (``-p tcp --dport 443``) is the protocol's own, which ip6tables loads itself."""
    joined = ",".join(values)
    if module == "comment" and option == "--comment":
        return []
    if (module, option) in (("conntrack", "--ctstate"), ("state", "--state")):
        return [StateMatch(frozenset(s.lower() for s in joined.split(",")), negate)]
    if module in ("icmp6", "icmpv6", None) and option == "--icmpv6-type":
        return [_icmp_type_match([joined], negate)]
    if module in ("tcp", "udp", None) and option in _PORT_OPTIONS:
        protocols = _MODULE_PROTOCOLS.get(module or "", ("tcp", "udp"))
        return [_port_match(_PORT_OPTIONS[option], [joined], protocols, negate)]
    if module == "multiport" and option in _MULTIPORT_OPTIONS:
        return [_port_match(_MULTIPORT_OPTIONS[option], joined.split(","), ("tcp", "udp"), negate)]
    if module in ("tcp", None) and option in ("--syn", "--tcp-flags"):
        return [_tcp_flags_match(values if option == "--tcp-flags" else ["FIN,SYN,RST,ACK", "SYN"],
                                 negate)]  # fmt: skip
    where = f"-m {module} " if module else ""
    bang = "! " if negate else ""
    text = f"{bang}{where}{option} {' '.join(values)}".strip()
    if module in _OTHER_PROTOCOL_MODULES:
        return [NeverMatch(f"{text}: not a protocol we model")]
    return [UnknownMatch(text, _MODULE_PROTOCOLS.get(module or "", ()))]


# Service names a hand-written rule may use; ip6tables-save and nft -j print numbers.
SERVICES = {"domain": 53, "http": 80, "https": 443}


def _port_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = SERVICES.get(value.lower(), int(value) if value.isdigit() else None)
    if isinstance(value, int) and 0 <= value <= 65535:
        return value
    return None


def _port_match(
    side: Literal["sport", "dport", "either"],
    values: Sequence[str],
    protocols: tuple[Transport, ...],
    negate: bool,
) -> Match:
    """``443``, ``1024:65535``, ``:1023``, ``1024:`` (ip6tables' ranges), comma lists."""
    ranges: list[Ports] = []
    for value in values:
        first, colon, last = value.partition(":")
        low = _port_number(first) if first else 0
        high = (_port_number(last) if last else 65535) if colon else low
        if low is None or high is None or low > high:
            return UnknownMatch(f"{side} {value}", protocols)
        ranges.append((low, high))
    return PortMatch(side, tuple(ranges), protocols, negate)


def _tcp_flags_match(values: Sequence[str], negate: bool) -> Match:
    """``--tcp-flags SYN,RST,ACK SYN``, with ip6tables' ``ALL`` and ``NONE``."""
    sets: list[frozenset[str]] = []
    for value in values:
        names = {n.upper() for n in value.split(",") if n}
        if "ALL" in names:
            names = (names - {"ALL"}) | set(TCP_FLAGS)
        names.discard("NONE")
        if not names <= set(TCP_FLAGS):
            break
        sets.append(frozenset(names))
    if len(values) != 2 or len(sets) != 2:
        return UnknownMatch(f"--tcp-flags {' '.join(values)}", ("tcp",))
    return TcpFlagsMatch(sets[0], sets[1], negate)


def _icmp_type_match(values: Sequence[object], negate: bool) -> Match:
    """``packet-too-big``, ``2``, ``1/4`` (type/code), as ip6tables and nft spell them."""
    types: list[tuple[int, int | None]] = []
    for value in values:
        name, slash, code_text = str(value).partition("/")
        number = ICMPV6_TYPES.get(name.lower())
        if number is None and name.isdigit():
            number = int(name)
        code = int(code_text) if code_text.isdigit() else None
        if number is None or (slash and code is None):
            return UnknownMatch(f"icmpv6 type {value}", ("icmpv6",))
        types.append((number, code))
    return IcmpTypeMatch(tuple(types), negate)


def _address_match(side: str, values: Sequence[str], negate: bool) -> Match:
    networks: list[IPv6Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return UnknownMatch(f"address {value}")
        if not isinstance(network, IPv6Network):
            return NeverMatch(f"IPv4 address {value}")
        networks.append(network)
    return AddressMatch("src" if side == "src" else "dst", tuple(networks), negate)


def _ip6tables_action(target: str, chains: set[str], *, goto: bool) -> Action:
    if target in BUILTIN_TARGETS and not goto:
        return Action(BUILTIN_TARGETS[target])
    if target in chains:
        return Action("goto" if goto else "jump", target)
    if target in NON_TERMINATING_TARGETS:
        return Action("continue")
    return Action("unknown", target or "(no target name)")


# --- nft -j list ruleset -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NftRuleset:
    """The ip6 and inet tables of ``nft -j list ruleset`` (other families never see IPv6
    forwarding: ip is IPv4, bridge and netdev are other hooks)."""

    tables: tuple[Table, ...]
    version: str | None = None
    problems: tuple[str, ...] = ()


NFT_FAMILIES = ("ip6", "inet")
_NftKey = tuple[str, str]  # (family, table)


def parse_nft_json(text: str) -> NftRuleset:
    """Read ``nft -j list ruleset``; bad JSON raises ``FirewallUnreadable``, odd items are
    recorded as problems."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FirewallUnreadable("nft -j output", f"not JSON: {_clip(str(exc))}") from exc
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise FirewallUnreadable("nft -j output", 'no "nftables" list in it')
    problems: list[str] = []
    version: str | None = None
    sets: dict[tuple[str, str, str], object] = {}
    chain_heads: dict[_NftKey, dict[str, dict[str, object]]] = {}
    rule_items: list[dict[str, object]] = []
    for item in items:
        kind, body = _nft_item(item)
        if kind == "metainfo":
            version = str(body.get("version")) if body.get("version") is not None else None
        if (
            kind not in ("table", "chain", "rule", "set", "map")
            or body.get("family") not in NFT_FAMILIES
        ):
            continue
        family, table = str(body.get("family")), str(body.get("table", body.get("name")))
        if kind == "table":
            chain_heads.setdefault((family, table), {})
        elif kind == "chain":
            chain_heads.setdefault((family, table), {})[str(body.get("name"))] = body
        elif kind in ("set", "map"):
            sets[(family, table, str(body.get("name")))] = body.get("elem", [])
        else:
            rule_items.append(body)
    rules: dict[tuple[str, str, str], list[Rule]] = {}
    for body in rule_items:
        key = (str(body.get("family")), str(body.get("table")), str(body.get("chain")))
        if key[2] not in chain_heads.get(key[:2], {}):
            problems.append(f"rule for unknown chain {' '.join(key)}")
            continue
        rules.setdefault(key, []).append(_nft_rule(body, sets, key[:2]))
    tables = tuple(_nft_table(key, heads, rules, problems) for key, heads in chain_heads.items())
    return NftRuleset(tables, version, tuple(problems))


def _nft_item(item: object) -> tuple[str, dict[str, object]]:
    if isinstance(item, dict) and len(item) == 1:
        ((kind, body),) = item.items()
        if isinstance(body, dict):
            return str(kind), body
    return "", {}


def _nft_table(
    key: _NftKey,
    heads: dict[str, dict[str, object]],
    rules: dict[tuple[str, str, str], list[Rule]],
    problems: list[str],
) -> Table:
    chains: dict[str, Chain] = {}
    for name, head in heads.items():
        hook = head.get("hook")
        priority = head.get("prio", 0)
        if not isinstance(priority, int):
            problems.append(f"chain {' '.join(key)} {name}: priority {priority!r} read as 0")
            priority = 0
        chains[name] = Chain(
            name,
            tuple(rules.get((*key, name), ())),
            str(head.get("policy", "accept")) if hook else None,
            str(hook) if hook else None,
            priority,
            str(head.get("type", "filter")),
        )
    return Table("nftables", key[0], key[1], chains)


_Sets = Mapping[tuple[str, str, str], object]


def _nft_rule(body: Mapping[str, object], sets: _Sets, table: _NftKey) -> Rule:
    exprs = body.get("expr")
    if not isinstance(exprs, list):
        exprs = []
    matches: list[Match] = []
    action = Action("continue")
    for expr in exprs:
        kind, inner = _nft_expr(expr)
        verdict = _nft_verdict(kind, inner)
        if verdict is not None:
            action = _nft_vmap(inner, sets, table) if kind == "vmap" else verdict
            break  # a verdict ends the rule
        if kind == "match":
            matches.append(_nft_match(inner, sets, table))
        elif kind == "xt":
            matches.append(UnknownMatch(f"iptables-nft extension {inner.get('name')}"))
        elif kind not in NFT_PASSIVE:
            matches.append(UnknownMatch(f"{kind} statement"))
    text = " ".join(_render_nft(expr) for expr in exprs)
    if body.get("comment"):
        text += f' comment "{body["comment"]}"'
    return Rule(text, tuple(matches), action)


NFT_PASSIVE = frozenset({"counter", "log", "mangle", "notrack"})  # statements that do not filter


NFT_VERDICTS: dict[str, ActionKind] = {
    "accept": "accept",
    "drop": "drop",
    "reject": "reject",
    "return": "return",
    "continue": "continue",
}


def _nft_expr(expr: object) -> tuple[str, Mapping[str, object]]:
    if isinstance(expr, dict) and len(expr) == 1:
        ((kind, inner),) = expr.items()
        return str(kind), inner if isinstance(inner, dict) else {}
    return "?", {}


# NAT statements end a rule like a verdict does; named as iptables names the same targets, so
# that ``masquerade`` and iptables-nft's ``xt target MASQUERADE`` read alike.
NFT_NAT_STATEMENTS = {
    "masquerade": "MASQUERADE",
    "snat": "SNAT",
    "dnat": "DNAT",
    "redirect": "REDIRECT",
}


def _nft_verdict(kind: str, inner: Mapping[str, object]) -> Action | None:
    if kind in NFT_VERDICTS:
        return Action(NFT_VERDICTS[kind])
    if kind in ("jump", "goto"):
        target = inner.get("target")
        return Action("jump" if kind == "jump" else "goto", str(target))
    if kind in ("queue", "vmap") or (kind == "xt" and inner.get("type") == "target"):
        return Action("unknown", kind if kind != "xt" else str(inner.get("name")))
    if kind in NFT_NAT_STATEMENTS:
        if inner.get("family") == "ip":
            return Action("continue")  # IPv4 NAT in an inet chain: IPv6 packets pass it by
        return Action("unknown", NFT_NAT_STATEMENTS[kind])
    return None


def _nft_vmap(inner: Mapping[str, object], sets: _Sets, table: _NftKey) -> Action:
    """A verdict map (``iifname vmap @nat-postrouting-out-jumps``, as Docker 29 dispatches to
    per-bridge chains), with its elements as branches when we can read every one of them."""
    unread = Action("unknown", "vmap")
    data = inner.get("data")
    if isinstance(data, str) and data.startswith("@"):
        data = {"set": sets.get((*table, data[1:]))}
    elements = data.get("set") if isinstance(data, dict) and len(data) == 1 else None
    if not isinstance(elements, list):
        return unread
    branches: list[tuple[Match, Action]] = []
    for element in elements:
        if not isinstance(element, list) or len(element) != 2:
            return unread
        key, verdict = element
        action = _nft_verdict(*_nft_expr(verdict))
        if action is None or action.kind == "unknown":
            return unread
        match = {"op": "==", "left": inner.get("key"), "right": key}
        branches.append((_nft_match(match, sets, table), action))
    return Action("unknown", "vmap", tuple(branches))


def _nft_match(inner: Mapping[str, object], sets: _Sets, table: _NftKey) -> Match:
    op = inner.get("op", "==")
    left, right = inner.get("left"), inner.get("right")
    shown = f"{_render_nft_value(left)} {'' if op in ('==', 'in') else f'{op} '}"
    shown += _render_nft_value(right)
    protocols = _nft_protocols(left)
    if protocols is None:
        return NeverMatch(f"{shown}: not an ICMPv6, TCP or UDP over IPv6 packet")
    subject = _nft_subject(left)
    if subject is not None and subject[0] == "port":
        ports = _nft_ports(str(op), right, sets, table)
        if ports is None:
            return UnknownMatch(shown, protocols)
        side: Literal["sport", "dport"] = "sport" if subject[1] == "sport" else "dport"
        raw = isinstance(left, dict) and left.get("payload", {}).get("protocol") == "th"
        ports_of = ("tcp", "udp") if raw else protocols
        return PortMatch(side, ports, ports_of, op == "!=", raw)
    if subject is not None and subject[0] == "flags":
        return _nft_tcp_flags(left, str(op), right) or UnknownMatch(shown, protocols)
    if op not in ("==", "!=", "in"):
        return UnknownMatch(shown, protocols)
    negate = op == "!="
    values = _nft_values(right, sets, table)
    if subject is None or values is None:
        return UnknownMatch(shown, protocols)
    _, key = subject
    if key in ("saddr", "daddr"):
        return _address_match("src" if key == "saddr" else "dst", [str(v) for v in values], negate)
    if key in ("iifname", "oifname", "iif", "oif"):
        if not all(isinstance(v, str) for v in values):
            return UnknownMatch(f"{key} by interface index")
        patterns = tuple(
            (str(v)[:-1], True) if str(v).endswith("*") else (str(v), False) for v in values
        )
        return InterfaceMatch("in" if key.startswith("i") else "out", patterns, negate)
    if key in ("l4proto", "nexthdr"):
        return ProtocolMatch(tuple(str(v) for v in values), negate)
    if key == "state":
        return StateMatch(frozenset(str(v).lower() for v in values), negate)
    if key == "type":
        return _icmp_type_match(values, negate)
    if key == "code":
        codes = [ICMPV6_CODES.get(str(v), _port_number(v)) for v in values]
        if any(c is None or c > 255 for c in codes):
            return UnknownMatch(shown, protocols)
        return IcmpCodeMatch(tuple(c for c in codes if c is not None), negate)
    if key in ("nfproto", "protocol"):
        hit = any(str(v) in ("ipv6", "ip6", "34525") for v in values)
        return FamilyMatch(hit != negate)
    return UnknownMatch(f"{key} {_render_nft_value(right)}", protocols)


# The headers of the protocols we model, as nft's payload expressions name them ("th": the
# transport header, whatever the protocol: it implies none).
_NFT_HEADERS: dict[str, tuple[Transport, ...]] = {
    "tcp": ("tcp",), "udp": ("udp",), "icmpv6": ("icmpv6",), "th": ("icmpv6", "tcp", "udp"),
}  # fmt: skip
# Headers a packet must carry for such a payload match; ours carries none of them.
_OTHER_PROTOCOLS = frozenset(
    {"udplite", "sctp", "dccp", "icmp", "ip", "arp", "igmp", "ah", "esp", "comp", "vlan", "ether"}
)


def _nft_protocols(expr: object) -> tuple[Transport, ...] | None:
    """The protocols a match can hold for, from the headers it reads: () any, None none of ours.

    A payload match on a header implies the protocol (nft adds ``meta l4proto tcp`` to
    ``tcp dport``), so it never matches a packet without that header, negated or not.
    """
    allowed: set[Transport] | None = None  # None: no header read yet, any protocol
    stack = [expr]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        payload = item.get("payload")
        if isinstance(payload, dict) and len(item) == 1:
            protocol = payload.get("protocol")
            if protocol in _OTHER_PROTOCOLS:
                return None
            if isinstance(protocol, str) and protocol in _NFT_HEADERS:
                these = set(_NFT_HEADERS[protocol])
                allowed = these if allowed is None else allowed & these
                if not allowed:
                    return None
            continue
        stack.extend(item.values())
    if allowed is None:
        return ()
    return tuple(p for p in ("icmpv6", "tcp", "udp") if p in allowed)


def _nft_subject(left: object) -> tuple[str, str] | None:
    """What a match looks at, as (kind, key); None when we do not model it."""
    if not isinstance(left, dict) or len(left) != 1:
        return None
    ((kind, inner),) = left.items()
    if not isinstance(inner, dict | list):
        return None
    if kind == "payload" and isinstance(inner, dict):
        protocol, header_field = inner.get("protocol"), inner.get("field")
        if (protocol, header_field) in (("ip6", "saddr"), ("ip6", "daddr"), ("ip6", "nexthdr")):
            return "payload", str(header_field)
        if protocol == "icmpv6" and header_field in ("type", "code"):
            return "payload", str(header_field)
        if protocol in ("tcp", "udp", "th") and header_field in ("sport", "dport"):
            return "port", str(header_field)
        if (protocol, header_field) == ("tcp", "flags"):
            return "flags", "flags"
        return None
    if kind == "&" and isinstance(inner, list) and len(inner) == 2:
        if _nft_subject(inner[0]) == ("flags", "flags"):
            return "flags", "masked"
        return None
    if not isinstance(inner, dict):
        return None
    if kind == "meta" and inner.get("key") in (
        "iifname",
        "oifname",
        "iif",
        "oif",
        "l4proto",
        "nfproto",
        "protocol",
    ):
        return "meta", str(inner.get("key"))
    if kind == "ct" and inner.get("key") == "state" and "dir" not in inner:
        return "ct", "state"
    return None


def _nft_flag_names(value: object) -> frozenset[str] | None:
    """``"syn"``, ``["fin", "syn"]``, ``{"|": ["syn", "ack"]}``: TCP flag names, upper case."""
    if isinstance(value, str):
        return frozenset({value.upper()}) if value.upper() in TCP_FLAGS else None
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        value = inner if kind in ("|", "set") else None
    if not isinstance(value, list):
        return None
    names: set[str] = set()
    for item in value:
        got = _nft_flag_names(item)
        if got is None:
            return None
        names |= got
    return frozenset(names)


def _nft_tcp_flags(left: object, op: str, right: object) -> Match | None:
    """``tcp flags syn`` (any of them set), ``tcp flags == syn``, ``tcp flags & (fin | syn |
    rst | ack) == syn``; None when it is none of these, or names flags we do not model."""
    comp = _nft_flag_names(right)
    if comp is None or op not in ("==", "!=", "in"):
        return None
    if isinstance(left, dict) and isinstance(left.get("&"), list):
        mask = _nft_flag_names(left["&"][1])
        if mask is None or op == "in":
            return None
        return TcpFlagsMatch(mask, comp, op == "!=")
    if op == "in":
        return TcpFlagsMatch(comp, frozenset(), any_set=True)
    return TcpFlagsMatch(frozenset(TCP_FLAGS), comp, op == "!=")


_PORT_COMPARISONS: dict[str, Callable[[int], Ports]] = {
    "<": lambda n: (0, n - 1),
    "<=": lambda n: (0, n),
    ">": lambda n: (n + 1, 65535),
    ">=": lambda n: (n, 65535),
}


def _nft_ports(op: str, right: object, sets: _Sets, table: _NftKey) -> tuple[Ports, ...] | None:
    """The port ranges a port match names (``443``, ``{ 53, 443 }``, ``1024-65535``, a named
    set, ``< 1024``); None when we cannot list them."""
    if op in _PORT_COMPARISONS:
        number = _port_number(right)
        if number is None:
            return None
        low, high = _PORT_COMPARISONS[op](number)
        return ((low, high),) if low <= high else ()
    if op not in ("==", "!=", "in"):
        return None
    ranges = _nft_port_values(right, sets, table, depth=0)
    return None if ranges is None else tuple(ranges)


def _nft_port_values(
    right: object, sets: _Sets, table: _NftKey, *, depth: int
) -> list[Ports] | None:
    if depth > MAX_CHAIN_DEPTH:
        return None
    if isinstance(right, str) and right.startswith("@"):
        named = sets.get((*table, right[1:]))
        return (
            None
            if named is None
            else _nft_port_values({"set": named}, sets, table, depth=depth + 1)
        )
    number = _port_number(right)
    if number is not None:
        return [(number, number)]
    if isinstance(right, list):
        right = {"set": right}
    if not isinstance(right, dict) or len(right) != 1:
        return None
    ((kind, inner),) = right.items()
    if kind == "set" and isinstance(inner, list):
        flat: list[Ports] = []
        for element in inner:
            got = _nft_port_values(element, sets, table, depth=depth + 1)
            if got is None:
                return None
            flat.extend(got)
        return flat
    if kind == "range" and isinstance(inner, list) and len(inner) == 2:
        low, high = _port_number(inner[0]), _port_number(inner[1])
        if low is None or high is None or low > high:
            return None
        return [(low, high)]
    if kind == "elem" and isinstance(inner, dict):
        return _nft_port_values(inner.get("val"), sets, table, depth=depth + 1)
    return None


def _nft_values(right: object, sets: _Sets, table: _NftKey) -> list[object] | None:
    """The alternatives on a match's right side, or None when we cannot list them."""
    if isinstance(right, str) and right.startswith("@"):
        named = sets.get((*table, right[1:]))
        return None if named is None else _nft_values({"set": named}, sets, table)
    if isinstance(right, str | int):
        return [right]
    if isinstance(right, list):  # flags: ct state { established, related }
        right = {"set": right}
    if not isinstance(right, dict) or len(right) != 1:
        return None
    ((kind, inner),) = right.items()
    if kind == "set" and isinstance(inner, list):
        flat: list[object] = []
        for element in inner:
            got = _nft_values(element, sets, table)
            if got is None:
                return None
            flat.extend(got)
        return flat
    if kind == "prefix" and isinstance(inner, dict):
        return [f"{inner.get('addr')}/{inner.get('len')}"]
    if kind == "range" and isinstance(inner, list) and len(inner) == 2:
        return _range_networks(str(inner[0]), str(inner[1]))
    if kind == "elem" and isinstance(inner, dict):
        return _nft_values(inner.get("val"), sets, table)
    return None


def _range_networks(first: str, last: str) -> list[object] | None:
    try:
        low, high = ipaddress.IPv6Address(first), ipaddress.IPv6Address(last)
        return [str(n) for n in ipaddress.summarize_address_range(low, high)]
    except ValueError:
        return None


def _render_nft(expr: object) -> str:
    """nft-like text for one expression, for evidence (``ip6 saddr 2001:db8::/48 drop``)."""
    kind, inner = _nft_expr(expr)
    if kind == "match":
        op = inner.get("op", "==")
        left_expr = inner.get("left")
        binary = isinstance(left_expr, dict) and "&" in left_expr  # nft shows == then
        shown_op = "" if op in ("==", "in") and not binary else f"{op} "
        left = _render_nft_value(inner.get("left"))
        quote = left in ("iifname", "oifname", "iif", "oif")
        return f"{left} {shown_op}{_render_nft_value(inner.get('right'), quote=quote)}"
    if kind in ("jump", "goto"):
        return f"{kind} {inner.get('target')}"
    if kind in ("accept", "drop", "reject", "return", "continue", "counter", "notrack"):
        return kind
    if kind == "log" and inner.get("prefix"):
        return f'log prefix "{inner.get("prefix")}"'
    if kind == "xt":
        return f"xt {inner.get('type')} {inner.get('name')}"
    if kind == "limit":
        return f"limit rate {inner.get('rate')}/{inner.get('per')}"
    if kind in NFT_NAT_STATEMENTS:
        return _render_nft_nat(kind, inner)
    if kind == "vmap":
        left = _render_nft_value(inner.get("key"))
        return f"{left} vmap {_render_nft_map(inner.get('data'), quote=left.endswith('ifname'))}"
    return json.dumps(expr, separators=(",", ":"))


def _render_nft_nat(kind: str, inner: Mapping[str, object]) -> str:
    """``masquerade``, ``snat ip6 to 2001:db8::1``, with flags (``random``) where given."""
    parts = [kind]
    if inner.get("family") in ("ip", "ip6"):
        parts.append(str(inner.get("family")))
    if inner.get("addr") is not None:
        target = _render_nft_value(inner.get("addr"))
        if inner.get("port") is not None:
            target += f" port {_render_nft_value(inner.get('port'))}"
        parts.append(f"to {target}")
    flags = inner.get("flags")
    if flags:
        parts.append(",".join(str(f) for f in flags) if isinstance(flags, list) else str(flags))
    return " ".join(parts)


def _render_nft_map(data: object, *, quote: bool) -> str:
    if isinstance(data, dict) and isinstance(data.get("set"), list):
        shown = [
            f"{_render_nft_value(e[0], quote=quote)} : {_render_nft(e[1])}"
            if isinstance(e, list) and len(e) == 2
            else _render_nft_value(e)
            for e in data["set"]
        ]
        return "{ " + ", ".join(shown) + " }"
    return _render_nft_value(data)


def _render_nft_value(value: object, *, quote: bool = False) -> str:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "payload" and isinstance(inner, dict):
            return f"{inner.get('protocol')} {inner.get('field')}"
        if kind in ("&", "|") and isinstance(inner, list) and len(inner) == 2:
            first, second = inner  # tcp flags & (fin | syn | rst | ack)
            mask = (
                " | ".join(_render_nft_value(v) for v in second)
                if isinstance(second, list)
                else _render_nft_value(second)
            )
            return f"{_render_nft_value(first)} {kind} ({mask})"
        if kind == "meta" and isinstance(inner, dict):
            key = inner.get("key")
            return str(key) if key in ("iifname", "oifname", "iif", "oif") else f"meta {key}"
        if kind == "ct" and isinstance(inner, dict):
            return f"ct {inner.get('key')}"
        if kind == "prefix" and isinstance(inner, dict):
            return f"{inner.get('addr')}/{inner.get('len')}"
        if kind == "set" and isinstance(inner, list):
            return "{ " + ", ".join(_render_nft_value(v, quote=quote) for v in inner) + " }"
        if kind == "range" and isinstance(inner, list):
            return "-".join(_render_nft_value(v, quote=quote) for v in inner)
    if isinstance(value, list):
        return ",".join(_render_nft_value(v, quote=quote) for v in value)
    if isinstance(value, str) and quote and not value.startswith("@"):
        return json.dumps(value)
    return str(value)


# --- what was read -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Both views of a host's firewall, the raw texts (evidence), and what could not be read."""

    ip6tables: Ip6tablesSave | None = None
    nft: NftRuleset | None = None
    ip6tables_nf_tables: bool = False  # ip6tables is iptables-nft: its tables show in nft too
    ip6tables_text: str = ""
    nft_text: str = ""
    unread: tuple[str, ...] = ()  # what could not be read, and why

    @classmethod
    def parse(
        cls,
        *,
        ip6tables_save: str | None = None,
        nft_json: str | None = None,
        ip6tables_version: str = "",
        unread: Sequence[str] = (),
    ) -> Ruleset:
        """Parse whatever was read; a dump that is not what it claims goes to ``unread``."""
        missing = list(unread)
        ip6tables = nft = None
        if ip6tables_save is not None:
            try:
                ip6tables = parse_ip6tables_save(ip6tables_save)
            except FirewallUnreadable as exc:
                missing.append(f"ip6tables-save: {exc.reason}")
        if nft_json is not None:
            try:
                nft = parse_nft_json(nft_json)
            except FirewallUnreadable as exc:
                missing.append(f"nft: {exc.reason}")
        nf_tables = "nf_tables" in ip6tables_version or bool(ip6tables and ip6tables.nf_tables)
        return cls(ip6tables, nft, nf_tables, ip6tables_save or "", nft_json or "", tuple(missing))

    def _xtables_copy(self, table: Table) -> bool:
        """An nft table that is iptables-nft's copy of an ip6tables table we already judge."""
        return (
            self.ip6tables is not None
            and self.ip6tables_nf_tables
            and table.source == "nftables"
            and table.family == "ip6"
            and table.name in XTABLES_TABLES
        )

    def tables(self) -> tuple[Table, ...]:
        """The tables to judge: ip6tables' filter table, then nftables' own tables."""
        found = [self.ip6tables.filter] if self.ip6tables and self.ip6tables.filter else []
        nft_tables = self.nft.tables if self.nft else ()
        return (*found, *(t for t in nft_tables if not self._xtables_copy(t)))

    @property
    def skipped(self) -> tuple[str, ...]:
        """nft tables left out because ip6tables-save already showed them."""
        nft_tables = self.nft.tables if self.nft else ()
        return tuple(
            f"nftables {t.label}: iptables-nft table, judged from ip6tables-save"
            for t in nft_tables
            if self._xtables_copy(t)
        )

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything that makes the picture less than complete, one line each."""
        parsed = [
            f"ip6tables-save: {p}" for p in (self.ip6tables.problems if self.ip6tables else ())
        ]
        parsed += [f"nft: {p}" for p in (self.nft.problems if self.nft else ())]
        return (*self.unread, *parsed)


# --- the walk ------------------------------------------------------------------------------


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
        chain = self.chain.upper()
        own_chain = chain.startswith("DOCKER") and chain != "DOCKER-USER"
        return own_chain or self.table.endswith("docker-bridges")

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
        via = f" (via {' → '.join(self.path)})" if len(self.path) > 1 else ""
        line = f"{self.source} {self.table} {self.chain}: {what}{via} drops {self.packet}"
        if self.uncertain:
            line += f"; not proven, it depends on: {'; '.join(self.uncertain)}"
        return line


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


_Verdict = tuple[Literal["accept", "drop"], Chain, Rule, tuple[str, ...]]  # with the jump path


@dataclass(slots=True)
class _Walk:
    """One packet through one base chain; collects what it could not decide on the way."""

    table: Table
    packet: Packet
    doubts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    maybe: list[Drop] = field(default_factory=list)

    def run(self, name: str, path: tuple[str, ...]) -> _Verdict | None:
        """The verdict ("accept"/"drop") with its chain and rule, or None: fell off the end."""
        chain = self.table.chains.get(name)
        if chain is None or len(path) > MAX_CHAIN_DEPTH or name in path[:-1]:
            problem = "no such chain" if chain is None else "chain loop or too deep"
            self._doubt(f"jump to {name}: {problem}")
            return None
        for rule in chain.rules:
            hit, why = rule.test(self.packet)
            if hit is False:
                continue
            if hit is None:
                self._uncertain_rule(chain, rule, why, path)
                continue
            verdict = self._take(chain, rule, path)
            if verdict == "return":
                return None
            if verdict is not None:
                return verdict
        return None

    def _take(
        self, chain: Chain, rule: Rule, path: tuple[str, ...]
    ) -> _Verdict | Literal["return"] | None:
        """Apply a matching rule's action: a verdict, a return, or go on (None)."""
        kind, target = rule.action.kind, rule.action.target
        if kind == "accept":
            return "accept", chain, rule, path
        if kind in ("drop", "reject"):
            return "drop", chain, rule, path
        if kind == "return":
            return "return"
        if kind in ("jump", "goto") and target is not None:
            verdict = self.run(target, (*path, target))
            if verdict is not None or kind == "jump":
                return verdict
            return "return"  # a goto's chain ending returns past the chain that went there
        if kind == "unknown":
            self._doubt(f"{rule.text} — target {target} decides in ways we do not model")
        return None

    def _uncertain_rule(
        self, chain: Chain, rule: Rule, why: tuple[str, ...], path: tuple[str, ...]
    ) -> None:
        note = f"{chain.name}: {rule.text} — cannot evaluate: {', '.join(why)}"
        self.notes.append(note)
        if rule.action.kind == "continue":
            return  # matching or not, it decides nothing
        self.doubts.append(note)
        if rule.action.kind in ("drop", "reject"):
            self.maybe.append(self.drop(chain, rule.text, path))

    def _doubt(self, note: str) -> None:
        self.notes.append(note)
        self.doubts.append(note)

    def drop(self, chain: Chain, rule: str, path: tuple[str, ...]) -> Drop:
        return Drop(
            self.table.source,
            self.table.label,
            chain.name,
            rule,
            self.packet.direction,
            self.packet.state,
            self.packet.describe(),
            path,
            tuple(self.doubts),
            self.packet.traffic,
            self.packet.consequence,
        )


def _judge_base_chain(table: Table, chain: Chain, packet: Packet) -> _Walk:
    """Walk one base chain; a verdict of drop, or the policy at its end, becomes a Drop."""
    walk = _Walk(table, packet)
    if table.incomplete:
        walk.doubts.append(table.incomplete)
    verdict = walk.run(chain.name, (chain.name,))
    if verdict is not None and verdict[0] == "drop":
        _, where, rule, path = verdict
        walk.maybe.append(walk.drop(where, rule.text, path))
    elif verdict is None and (chain.policy or "").lower() == "drop":
        walk.maybe.append(walk.drop(chain, f"policy {chain.policy}", (chain.name,)))
    return walk


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


def _ruleset_of(ruleset: Ruleset | Ip6tablesSave | NftRuleset) -> Ruleset:
    if isinstance(ruleset, Ip6tablesSave):
        return Ruleset(ip6tables=ruleset, ip6tables_nf_tables=ruleset.nf_tables)
    if isinstance(ruleset, NftRuleset):
        return Ruleset(nft=ruleset)
    return ruleset


def assess_forward(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnets: Sequence[str],
    bridges: Sequence[str],
    uplink: str | None,
    outside: str = OUTSIDE,
    inbound_new: bool = True,
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
    """
    ruleset = _ruleset_of(ruleset)
    beyond = IPv6Network(outside)
    bridge_names = tuple(bridges)
    modelled = [
        p
        for subnet, bridge in _pairs(subnets, bridges)
        for p in _packets(subnet, bridge, uplink, beyond, bridge_names)
    ]
    unwanted = [] if inbound_new else [p for p in modelled if _inbound_new(p)]
    packets = [p for p in modelled if p not in unwanted]
    drops: list[Drop] = []
    notes: list[str] = []
    for table in ruleset.tables():
        for chain in table.forward_chains():
            for packet in packets:
                walk = _judge_base_chain(table, chain, packet)
                drops.extend(walk.maybe)
                notes.extend(f"{table.source} {table.label} {n}" for n in walk.notes)
    unique = list(dict.fromkeys(drops))
    return ForwardAssessment(
        tuple(d for d in unique if d.proven),
        tuple(d for d in unique if not d.proven),
        tuple(dict.fromkeys(notes)),
        tuple(p.describe() for p in packets),
        ruleset.problems,
        ruleset.skipped,
        tuple(f"{p.describe()}: {INBOUND_NEW_LEFT_OUT}" for p in unwanted),
    )


def _inbound_new(packet: Packet) -> bool:
    return packet.direction == "inbound" and packet.state == "new"


def forward_drops(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnets: Sequence[str],
    bridges: Sequence[str],
    uplink: str | None,
) -> tuple[Drop, ...]:
    """The proven drops of container traffic (see ``assess_forward`` for the doubtful ones)."""
    return assess_forward(ruleset, subnets=subnets, bridges=bridges, uplink=uplink).drops


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


# --- source NAT on the way out (RT-06) -----------------------------------------------------

# Targets that rewrite the source address: the far end sees the rewritten one, not the container.
SNAT_TARGETS = frozenset({"MASQUERADE", "SNAT", "NETMAP"})
# Where masqueraded traffic goes in our model: global unicast, the internet. A rule that NATs
# only towards some of it (``-d 2001:db8:f00d::/48``) covers part of the traffic: doubtful.
INTERNET = "2000::/3"


@dataclass(frozen=True, slots=True)
class NatRule:
    """A MASQUERADE / SNAT rule that an outbound container packet reaches, with its chain."""

    source: str  # "ip6tables" or "nftables"
    table: str  # "nat", "ip6 docker-bridges"
    chain: str  # the chain holding the rule
    rule: str  # the rule as the tool printed it
    target: str  # "MASQUERADE", "SNAT", "NETMAP"
    path: tuple[str, ...] = ()  # chains from the base chain to ``chain``
    uncertain: tuple[str, ...] = ()  # what we could not evaluate that might change this

    @property
    def proven(self) -> bool:
        return not self.uncertain

    def describe(self) -> str:
        via = f" (via {' → '.join(self.path)})" if len(self.path) > 1 else ""
        line = f"{self.source} {self.table} {self.chain}: {self.rule}{via}"
        if self.uncertain:
            line += f"; not proven, it depends on: {'; '.join(self.uncertain)}"
        return line


@dataclass(frozen=True, slots=True)
class NatFinding:
    """Whether one container subnet is source-NATed on its way out, and what says so."""

    subnet: str
    rules: tuple[NatRule, ...]  # proven: every rule on the way was understood
    doubtful: tuple[NatRule, ...]  # would NAT, unless a rule we could not evaluate decides
    read: tuple[str, ...]  # which nat chains were walked, or why there were none: evidence
    uncertain: tuple[str, ...] = ()  # rules met that we could not evaluate, with why
    problems: tuple[str, ...] = ()  # what could not be read or parsed
    readable: bool = True  # False: neither view of the firewall could be read
    # Targets on the way we do not model (a verdict map we could not read, ``-j SOMETHING``):
    # any of them might NAT, so with no NAT rule found they leave the answer open.
    unresolved: tuple[str, ...] = ()

    @property
    def masqueraded(self) -> bool | None:
        """True: a rule NATs it; False: nothing read does; None: we cannot tell."""
        if self.rules:
            return True
        if self.doubtful or self.unresolved or not self.readable:
            return None
        return False

    def evidence(self) -> tuple[str, ...]:
        lines = [f"read: {r}" for r in self.read]
        lines += [r.describe() for r in (*self.rules, *self.doubtful)]
        lines += [f"undecided: {u}" for u in self.unresolved]
        lines += [f"not evaluated: {u}" for u in self.uncertain if u not in self.unresolved]
        lines += [f"not read: {p}" for p in self.problems]
        return tuple(lines)


_NatVerdict = NatRule | Literal["stop", "return"] | None


def _snat_target(action: Action) -> str | None:
    if action.kind == "unknown" and action.target in SNAT_TARGETS:
        return action.target
    return None


@dataclass(slots=True)
class _NatWalk:
    """The outbound packet through one nat base chain: the SNAT rule it meets, if any.

    ACCEPT (or DROP) in a nat chain ends that chain with no NAT; RETURN, jump and goto work as
    in the forward walk. Rules we cannot evaluate that could end the chain make any NAT found
    after them doubtful; a NAT rule we cannot evaluate is itself doubtful.
    """

    table: Table
    packet: Packet
    doubts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    maybe: list[NatRule] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def run(self, name: str, path: tuple[str, ...]) -> NatRule | Literal["stop"] | None:
        chain = self.table.chains.get(name)
        if chain is None or len(path) > MAX_CHAIN_DEPTH or name in path[:-1]:
            problem = "no such chain" if chain is None else "chain loop or too deep"
            self._unresolved(f"jump to {name}: {problem}")
            return None
        for rule in chain.rules:
            hit, why = rule.test(self.packet)
            if hit is False:
                continue
            if hit is None:
                note = f"{chain.name}: {rule.text} — cannot evaluate: {', '.join(why)}"
                self._unsure(chain, rule, path, note)
                continue
            verdict = self._take(chain, rule, rule.action, path)
            if verdict == "return":
                return None
            if verdict is not None:
                return verdict
        return None

    def _take(self, chain: Chain, rule: Rule, action: Action, path: tuple[str, ...]) -> _NatVerdict:
        target = _snat_target(action)
        if target is not None:
            return self._found(chain, rule, target, path)
        if action.kind in ("accept", "drop", "reject"):
            return "stop"
        if action.kind == "return":
            return "return"
        if action.kind in ("jump", "goto") and action.target is not None:
            verdict = self.run(action.target, (*path, action.target))
            if verdict is not None or action.kind == "jump":
                return verdict
            return "return"  # a goto's chain ending returns past the chain that went there
        if action.branches:
            return self._vmap(chain, rule, path)
        if action.kind == "unknown":
            what = f"target {action.target} decides in ways we do not model"
            self._unresolved(f"{chain.name}: {rule.text} — {what}")
        return None

    def _vmap(self, chain: Chain, rule: Rule, path: tuple[str, ...]) -> _NatVerdict:
        """A map lookup takes at most one element: the one whose key the packet has."""
        for match, action in rule.action.branches:
            hit = match.test(self.packet)
            if hit is True:
                return self._take(chain, rule, action, path)
            if hit is None:
                note = f"{chain.name}: {rule.text} — cannot evaluate its key: {match.why_unknown()}"
                self.notes.append(note)
                self._maybe_take(chain, rule, action, path, note)
        return None

    def _unsure(self, chain: Chain, rule: Rule, path: tuple[str, ...], note: str) -> None:
        self.notes.append(note)
        if rule.action.kind != "continue":
            self._maybe_take(chain, rule, rule.action, path, note)

    def _maybe_take(
        self, chain: Chain, rule: Rule, action: Action, path: tuple[str, ...], note: str
    ) -> None:
        """Follow a rule that may or may not apply: NAT found there is only possible, and a
        chain it may end makes what comes after it doubtful. (A NAT rule that may apply does
        not: matching or not, a NAT rule after it still NATs the packet.)"""
        target = _snat_target(action)
        if target is not None:
            self.maybe.append(self._found(chain, rule, target, path, (note,)))
            return
        self.doubts.append(note)
        verdict = self._take(chain, rule, action, path)
        if isinstance(verdict, NatRule):
            self.maybe.append(verdict)

    def _unresolved(self, note: str) -> None:
        self.notes.append(note)
        self.doubts.append(note)
        self.unresolved.append(note)

    def _found(
        self,
        chain: Chain,
        rule: Rule,
        target: str,
        path: tuple[str, ...],
        extra: tuple[str, ...] = (),
    ) -> NatRule:
        return NatRule(
            self.table.source,
            self.table.label,
            chain.name,
            rule.text,
            target,
            path,
            tuple(dict.fromkeys((*self.doubts, *extra))),
        )


def _nat_tables(ruleset: Ruleset) -> tuple[tuple[Table, ...], list[str]]:
    """The tables to search for NAT, and what was not searched and why (for the evidence)."""
    read: list[str] = []
    tables: list[Table] = []
    if ruleset.ip6tables is not None:
        if ruleset.ip6tables.nat is not None:
            tables.append(ruleset.ip6tables.nat)
        else:
            seen = ", ".join(ruleset.ip6tables.tables_seen) or "none"
            read.append(f"ip6tables-save: no nat table (tables in it: {seen})")
    nft_tables = ruleset.nft.tables if ruleset.nft is not None else ()
    for table in nft_tables:
        if not ruleset._xtables_copy(table):
            tables.append(table)
        elif table.nat_chains():
            read.append(f"nftables {table.label}: iptables-nft's copy, read from ip6tables-save")
    if ruleset.nft is not None and not any(t.nat_chains() for t in nft_tables):
        read.append("nft: no ip6 or inet chain of type nat on the postrouting hook")
    return tuple(tables), read


def find_masquerade(
    ruleset: Ruleset | Ip6tablesSave | NftRuleset,
    *,
    subnet: str,
    bridge: str | None,
    uplink: str | None = None,
) -> NatFinding:
    """Does a MASQUERADE / SNAT rule on the postrouting hook cover ``subnet``'s traffic out?

    Models one new outbound packet from the whole subnet (in ``bridge``, out ``uplink``) to the
    internet (2000::/3) and walks every nat base chain on the postrouting hook: ip6tables' nat
    POSTROUTING and each nft ip6/inet chain of type nat there (Docker 29's ``ip6 docker-bridges``
    and anyone else's), following jumps, gotos and readable verdict maps. A rule for a prefix
    that holds the subnet covers it (``-s 2001:db8::/32`` for a /64); one for another subnet
    does not; one for part of it is doubtful. The packet is an ICMPv6 echo, so a rule only for
    TCP or UDP is not seen (unlike the forward walk, which models each traffic class).
    ``subnet`` must be IPv6 (ValueError otherwise).
    """
    rs = _ruleset_of(ruleset)
    network = ipaddress.ip_network(subnet, strict=False)
    if not isinstance(network, IPv6Network):
        raise ValueError(f"{subnet} is not an IPv6 subnet")
    bridges = (bridge,) if bridge else ()
    packet = Packet(
        "outbound", "new", network, IPv6Network(INTERNET), bridge, uplink, bridges,
        "icmpv6", icmp_type=128, icmp_code=0,
    )  # fmt: skip
    tables, not_searched = _nat_tables(rs)
    read: list[str] = []
    found: list[NatRule] = []
    notes: list[str] = []
    unresolved: list[str] = []
    for table in tables:
        for chain in table.nat_chains():
            read.append(
                f"{table.source} {table.label} {chain.name} (type nat, hook postrouting, "
                f"{len(chain.rules)} rules)"
            )
            walk = _NatWalk(table, packet)
            if table.incomplete:
                walk.doubts.append(table.incomplete)
            verdict = walk.run(chain.name, (chain.name,))
            if isinstance(verdict, NatRule):
                found.append(verdict)
            found.extend(walk.maybe)
            notes.extend(f"{table.source} {table.label} {n}" for n in walk.notes)
            unresolved.extend(f"{table.source} {table.label} {n}" for n in walk.unresolved)
    unique = list(dict.fromkeys(found))
    return NatFinding(
        str(network),
        tuple(r for r in unique if r.proven),
        tuple(r for r in unique if not r.proven),
        (*read, *not_searched),
        tuple(dict.fromkeys(notes)),
        rs.problems,
        rs.ip6tables is not None or rs.nft is not None,
        tuple(dict.fromkeys(unresolved)),
    )


# --- reading a namespace -------------------------------------------------------------------

# Plain ip6tables-save, not ``-t filter``: with the legacy backend naming a table loads its
# kernel module, and a read-only probe must not change a production host.
IP6TABLES_SAVE = ("ip6tables-save",)
IP6TABLES_VERSION = ("ip6tables-save", "--version")
NFT_LIST = ("nft", "-j", "list", "ruleset")


@dataclass(frozen=True, slots=True)
class _Output:
    argv: tuple[str, ...]
    stdout: str = ""
    failure: str | None = None  # why there is no usable output


def _tool_env() -> dict[str, str]:
    """C locale for stable output; sbin on PATH, since sudo and cron often drop it."""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    return {**os.environ, "LC_ALL": "C", "PATH": f"{path}:/usr/local/sbin:/usr/sbin:/sbin"}


def _run_tool(argv: tuple[str, ...], deadline: float, where: str) -> _Output:
    """Run one read-only command (in the caller's namespace); only a timeout raises."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FirewallUnreadable(where, f"no time left to run {' '.join(argv)}")
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=remaining, env=_tool_env(), check=False
        )
    except FileNotFoundError:
        return _Output(argv, failure=f"{argv[0]} is not installed")
    except subprocess.TimeoutExpired as exc:
        raise FirewallUnreadable(where, f"{' '.join(argv)} did not finish in time") from exc
    except OSError as exc:
        return _Output(argv, failure=f"{argv[0]}: {exc.strerror or exc}")
    stdout = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = stderr[-1] if stderr else "no message"
        return _Output(
            argv, stdout, f"{' '.join(argv)} exited {done.returncode}: {_clip(reason, 160)}"
        )
    return _Output(argv, stdout)


def _read_all(deadline: float, where: str) -> tuple[_Output, _Output, _Output]:
    """The three reads, in one thread inside the namespace (each takes milliseconds)."""
    return (
        _run_tool(IP6TABLES_VERSION, deadline, where),
        _run_tool(IP6TABLES_SAVE, deadline, where),
        _run_tool(NFT_LIST, deadline, where),
    )


async def read_ruleset(ns: Netns, *, timeout: float) -> Ruleset:
    """Read ip6tables and nftables as ``ns`` sees them; change nothing.

    A missing tool or a failing command is recorded in ``Ruleset.unread``; when neither view
    could be read, or time runs out, ``FirewallUnreadable`` says why.
    """
    where = str(ns)
    deadline = time.monotonic() + timeout
    try:
        async with asyncio.timeout(timeout):
            version, save, nft = await ns.run(lambda: _read_all(deadline, where))
    except TimeoutError as exc:
        raise FirewallUnreadable(where, f"reading the firewall took over {timeout:g}s") from exc
    unread = [out.failure for out in (save, nft) if out.failure]
    if save.failure and nft.failure:
        raise FirewallUnreadable(where, "; ".join(unread))
    return Ruleset.parse(
        ip6tables_save=None if save.failure else save.stdout,
        nft_json=None if nft.failure else nft.stdout,
        ip6tables_version=version.stdout,
        unread=[u for u in unread if u],
    )
