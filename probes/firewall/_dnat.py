"""Whether a modelled packet's connection can have been DNATed (``ct status dnat``,
``--ctstate DNAT``), from the DNAT rules read.

firewalld's forward chain accepts ``ct status dnat`` before its zones decide (a port forward
was allowed where it was made); Docker's DNAT for published ports does the same job. A
connection is DNATed only by a DNAT rule, and its responder's address is then that rule's
target: the packet's destination in the original direction, its source in the reply's. So a
packet none of whose two ends can be a DNAT target (of its protocol: a RELATED error carries
its connection's status whatever its own protocol) was not DNATed; one that may be stays
unknown, and so does every packet where a DNAT rule's target could not be read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv6Network

from probes.firewall._model import Packet, PortMatch, ProtocolMatch, Rule, Table
from probes.firewall._ruleset import Ruleset

_IPT_TARGET = re.compile(r"--to-destination\s+\[?([0-9A-Fa-f:.]+)\]?(?::\d+)?(?:\s|$)")
_NFT_TARGET = re.compile(r"\bdnat\s+(?:ip6\s+)?to\s+\[?([0-9A-Fa-f:.]+)\]?(?:\s|$)")


@dataclass(frozen=True, slots=True)
class DnatTarget:
    """Where one DNAT rule sends connections: an address, for one protocol or any."""

    address: IPv6Network
    protocols: tuple[str, ...] | None  # None: any protocol

    def may_be(self, packet: Packet) -> bool:
        if not (self.address.overlaps(packet.src) or self.address.overlaps(packet.dst)):
            return False
        if self.protocols is None or packet.state == "related":
            return True
        names = (packet.protocol, _NUMBERS[packet.protocol])
        return any(p in names for p in self.protocols)


_NUMBERS = {"icmpv6": "58", "tcp": "6", "udp": "17"}
_ALIASES = {"ipv6-icmp": "icmpv6", "icmp6": "icmpv6"}


def _target(rule: Rule, source: str) -> DnatTarget | None:
    found = (_IPT_TARGET if source == "ip6tables" else _NFT_TARGET).search(rule.text)
    if found is None:
        return None
    try:
        address = IPv6Network(found.group(1))
    except ValueError:
        return None
    protocols: tuple[str, ...] | None = None
    for match in rule.matches:
        if isinstance(match, ProtocolMatch) and not match.negate:
            protocols = tuple(_ALIASES.get(p.lower(), p.lower()) for p in match.protocols)
        elif isinstance(match, PortMatch) and not match.raw and protocols is None:
            # a port match reads a header only its protocols have, negated or not (nft's
            # ``tcp dport 8080`` implies tcp; Docker 29 writes no l4proto beside it)
            protocols = tuple(match.protocols)
    return DnatTarget(address, protocols)


def _dnat_rules(tables: Iterable[Table]) -> Iterable[tuple[Table, Rule]]:
    for table in tables:
        for chain in table.chains.values():
            for rule in chain.rules:
                action = rule.action
                if action.kind == "unknown" and (action.target or "").upper() in (
                    "DNAT",
                    "NETMAP",
                ):
                    yield table, rule


def dnat_targets(ruleset: Ruleset) -> tuple[DnatTarget, ...] | None:
    """Every DNAT rule's target in both views; None where one of them could not be read (a
    target written in a way we do not parse, or a view that was not read at all)."""
    if ruleset.unread or (ruleset.ip6tables is None and ruleset.nft is None):
        return None
    tables: list[Table] = []
    if ruleset.ip6tables is not None and ruleset.ip6tables.nat is not None:
        tables.append(ruleset.ip6tables.nat)
    tables.extend(ruleset.tables())
    targets = []
    for table, rule in _dnat_rules(tables):
        target = _target(rule, table.source)
        if target is None:
            return None
        targets.append(target)
    return tuple(dict.fromkeys(targets))


def with_dnat(packets: Sequence[Packet], targets: tuple[DnatTarget, ...] | None) -> list[Packet]:
    """The packets, each saying whether its connection can have been DNATed."""
    if targets is None:
        return list(packets)
    return [
        dataclasses.replace(p, dnat=None if any(t.may_be(p) for t in targets) else False)
        for p in packets
    ]
