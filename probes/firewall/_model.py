"""The packet model: the container packets we model, the matches that answer True / False /
None (we cannot tell) for them, and rules, chains and tables as the tools print them.

One idea, kept whole past ~600 lines: every match kind answers the same three-valued question
of the same packet, and the walk (``_walk``) and both readers build on these types alone;
split, each half would import the other.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv6Network
from typing import Literal

from probes.errors import HarnessError

# How deep nft's sets and values may nest (or name each other) before we stop reading them.
MAX_NESTING = 64

Tri = bool | None  # True: matches, False: does not, None: we cannot tell


class FirewallUnreadable(HarnessError):
    """The firewall could not be read at all (or a dump is not what it claims to be)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"firewall in {where}: {reason}")
        self.where = where
        self.reason = reason


class OutOfTime(FirewallUnreadable):
    """The firewall could not be read or judged within its deadline."""


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
# Where traffic goes when no address is named: global unicast, the internet.
INTERNET = "2000::/3"

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
    # Parts of ``dst`` modelled by packets of their own (the raw stage's per-container rules):
    # this packet stands for the rest of ``dst``, which a rule for one of them does not match.
    carved: tuple[IPv6Network, ...] = ()
    # Whether its connection was DNATed (``ct status dnat``, ``--ctstate DNAT``): False where
    # no DNAT rule read can have made it (``_dnat``); None: not known.
    dnat: bool | None = None

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
        if self.carved:
            shown = ", ".join(str(n) for n in self.carved[:3])
            more = f" and {len(self.carved) - 3} more" if len(self.carved) > 3 else ""
            what += f" (other than {shown}{more})"
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


def _span(network: IPv6Network) -> tuple[int, int]:
    first = int(network.network_address)
    return first, first | int(network.hostmask)


@dataclass(frozen=True, slots=True)
class AddressMatch:
    """-s / -d, ip6 saddr / daddr: the packet's address set against rule prefixes."""

    field: Literal["src", "dst"]
    networks: tuple[IPv6Network, ...]
    negate: bool = False
    # each network as (first, last) address, as integers: what test compares (a blocklist's
    # 10,000 prefixes are 10,000 tests per packet, and IPv6Network's own take microseconds)
    spans: tuple[tuple[int, int], ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = tuple(_span(net) for net in self.networks)
        object.__setattr__(self, "spans", spans)

    def test(self, packet: Packet) -> Tri:
        low, high = _span(packet.src if self.field == "src" else packet.dst)
        spans = self.spans
        partly = [i for i, (first, last) in enumerate(spans) if low <= last and first <= high]
        carved = packet.carved if self.field == "dst" else ()
        if any(spans[i][0] <= low and high <= spans[i][1] for i in partly):
            hit: Tri = True
        elif all(any(self.networks[i].subnet_of(part) for part in carved) for i in partly):
            hit = False  # none, or only parts that packets of their own stand for
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
        if "snat" in self.states:
            return None  # virtual NAT states depend on rules elsewhere (nat table)
        hit: Tri = packet.state in self.states
        if not hit and "dnat" in self.states:
            hit = packet.dnat  # what the DNAT rules read say of its connection (_dnat)
        return _negated(hit, self.negate)

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
    # and its verdict. The forward walk and the NAT search follow them; one that could not be
    # read stays an unknown target.
    branches: tuple[tuple[Match, Action], ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its text as the tool printed it (evidence), its matches, its action."""

    text: str
    matches: tuple[Match, ...]
    action: Action

    def test(self, packet: Packet) -> tuple[Tri, tuple[str, ...]]:
        """Whether the rule matches, and why we cannot tell when we cannot."""
        unknown: tuple[Match, ...] = ()
        for match in self.matches:
            hit = match.test(packet)
            if hit is False:
                return False, ()
            if hit is None:
                unknown += (match,)
        if unknown:
            return None, tuple(match.why_unknown() for match in unknown)
        return True, ()


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain; base chains have a hook and a policy ("DROP", "drop"…), regular ones neither."""

    name: str
    rules: tuple[Rule, ...] = ()
    policy: str | None = None
    hook: str | None = None
    priority: int = 0
    kind: str = "filter"  # the chain type: "filter", "nat" ("route" in nft)


# The prerouting chains the raw stage holds: those the kernel runs before conntrack
# (NF_IP6_PRI_CONNTRACK = -200; raw is -300), where Docker 28+ drops direct access.
RAW_STAGE = -201


@dataclass(frozen=True, slots=True)
class Table:
    """The chains of one table, as one tool reported them."""

    source: Literal["ip6tables", "nftables"]
    family: str  # "ip6" or "inet"
    name: str
    chains: Mapping[str, Chain] = field(default_factory=dict)
    incomplete: str | None = None  # why the dump of this table may lack rules
    # The walks' memo (``_walk``): what was worked out of this table, kept with it so that a
    # second judgement of the same table (RT-04's walk, then ipv6_mode's) reuses it. Not part
    # of the table's value.
    memo: dict[object, object] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        return self.name if self.source == "ip6tables" else f"{self.family} {self.name}"

    def forward_chains(self) -> tuple[Chain, ...]:
        """Base chains on the forward hook, in the order the kernel runs them."""
        hooked = [c for c in self.chains.values() if c.hook == "forward" and c.kind == "filter"]
        return tuple(sorted(hooked, key=lambda c: c.priority))

    def raw_chains(self) -> tuple[Chain, ...]:
        """Filter base chains on the prerouting hook before conntrack (``RAW_STAGE``), in the
        kernel's order: ip6tables' raw PREROUTING, an nft chain at priority raw (Docker 29's
        ``raw-PREROUTING``). What they drop never reaches the forward hook."""
        hooked = [
            c
            for c in self.chains.values()
            if c.hook == "prerouting" and c.kind == "filter" and c.priority <= RAW_STAGE
        ]
        return tuple(sorted(hooked, key=lambda c: c.priority))

    def nat_chains(self, hook: str = "postrouting") -> tuple[Chain, ...]:
        """Base chains of type nat on ``hook``, in the order the kernel runs them."""
        hooked = [c for c in self.chains.values() if c.hook == hook and c.kind == "nat"]
        return tuple(sorted(hooked, key=lambda c: c.priority))


# --- matches from the tools' spellings (both readers) -------------------------------------


def _clip(text: str, width: int = 80) -> str:
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii")
    return text if len(text) <= width else text[: width - 1] + "…"


# Service names a hand-written rule may use; ip6tables-save and nft -j print numbers.
SERVICES = {"domain": 53, "http": 80, "https": 443}


def _decimal(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` holds for ``²`` too, which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _port_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = SERVICES.get(value.lower(), int(value) if _decimal(value) else None)
    if isinstance(value, int) and 0 <= value <= 65535:
        return value
    return None


def _icmp_type_match(values: Sequence[object], negate: bool) -> Match:
    """``packet-too-big``, ``2``, ``1/4`` (type/code), as ip6tables and nft spell them."""
    types: list[tuple[int, int | None]] = []
    for value in values:
        name, slash, code_text = str(value).partition("/")
        number = ICMPV6_TYPES.get(name.lower())
        if number is None and _decimal(name):
            number = int(name)
        code = int(code_text) if _decimal(code_text) else None
        if number is None or (slash and code is None):
            return UnknownMatch(f"icmpv6 type {value}", ("icmpv6",))
        types.append((number, code))
    return IcmpTypeMatch(tuple(types), negate)


def _address_match(side: str, values: Sequence[str], negate: bool) -> Match:
    networks: list[IPv6Network] = []
    for value in values:
        try:  # IPv6 first: ip_network tries IPv4 first, and an exception costs
            network = (
                IPv6Network(value, strict=False)
                if ":" in value
                else ipaddress.ip_network(value, strict=False)
            )
        except ValueError:
            return UnknownMatch(f"address {value}")
        if not isinstance(network, IPv6Network):
            return NeverMatch(f"IPv4 address {value}")
        networks.append(network)
    return AddressMatch("src" if side == "src" else "dst", tuple(networks), negate)
