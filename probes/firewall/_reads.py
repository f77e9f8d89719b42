"""Which of a packet's fields a chain's outcome can depend on: the fields its rules' matches
read, and those of every chain it jumps or goes to (also through verdict maps).

Packets that agree on those fields meet the same rules with the same results, so the walker
(``_walk``) walks a chain once for all of them: RT-04's twenty packets for two anchors are
often a handful of walks (no rule reads an anchor's address, most read no port). Worked out
once per table, in time linear in its rules: each chain's set of fields only grows, and there
are few fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter

from probes.firewall._model import (
    Action,
    AddressMatch,
    FamilyMatch,
    IcmpCodeMatch,
    IcmpTypeMatch,
    InterfaceMatch,
    Match,
    NeverMatch,
    Packet,
    PortMatch,
    ProtocolMatch,
    StateMatch,
    Table,
    TcpFlagsMatch,
    UnknownMatch,
)

# The fields of Packet a match may read (direction and consequence: none does).
FIELDS = (
    "state", "src", "dst", "carved", "iif", "oif", "bridges", "protocol", "sport", "dport",
    "icmp_type", "icmp_code", "dnat",
)  # fmt: skip
_BIT = {name: 1 << i for i, name in enumerate(FIELDS)}
ALL = (1 << len(FIELDS)) - 1


def _bits(*names: str) -> int:
    mask = 0
    for name in names:
        mask |= _BIT[name]
    return mask


_BY_KIND: dict[type, int] = {
    ProtocolMatch: _bits("protocol"),
    PortMatch: _bits("protocol", "sport", "dport"),
    TcpFlagsMatch: _bits("protocol", "state"),
    StateMatch: _bits("state", "dnat"),
    IcmpTypeMatch: _bits("protocol", "icmp_type", "icmp_code"),
    IcmpCodeMatch: _bits("protocol", "icmp_code"),
    FamilyMatch: 0,
    NeverMatch: 0,
    UnknownMatch: _bits("protocol"),
}


def _match_reads(match: Match) -> int:
    kind = type(match)
    if kind is AddressMatch:  # a destination's match reads what other packets stand for too
        return _bits("src") if match.field == "src" else _bits("dst", "carved")  # type: ignore[union-attr]
    if kind is InterfaceMatch:
        side = "iif" if match.field == "in" else "oif"  # type: ignore[union-attr]
        return _bits(side, "bridges")
    return _BY_KIND.get(kind, ALL)  # a kind we do not know: it may read anything


def _action_facts(action: Action) -> Iterator[int | str]:
    """The fields a verdict map's keys read (ints) and the chains it may go to (names)."""
    stack = [action]
    while stack:
        act = stack.pop()
        if act.kind in ("jump", "goto") and act.target is not None:
            yield act.target
        for match, then in act.branches:
            yield _match_reads(match)
            stack.append(then)


def chain_reads(table: Table, tick: Callable[[], None]) -> dict[str, int]:
    """For each chain, the fields (a mask of ``FIELDS``) it and every chain it may reach read."""
    own: dict[str, int] = {}
    callers: dict[str, list[str]] = {}
    for name, chain in table.chains.items():
        mask = 0
        for rule in chain.rules:
            tick()
            for match in rule.matches:
                mask |= _match_reads(match)
            for fact in _action_facts(rule.action):
                if isinstance(fact, int):
                    mask |= fact
                elif fact in table.chains:
                    callers.setdefault(fact, []).append(name)
        own[name] = mask
    work = list(own)
    while work:  # each chain's mask grows at most len(FIELDS) times: linear
        name = work.pop()
        mask = own[name]
        for caller in callers.get(name, ()):
            if own[caller] | mask != own[caller]:
                own[caller] |= mask
                work.append(caller)
    return own


_GETTERS: dict[int, Callable[[Packet], object]] = {}


def projection(mask: int, packet: Packet) -> object:
    """The packet's values of the fields in ``mask``: equal for packets a chain treats alike."""
    getter = _GETTERS.get(mask)
    if getter is None:
        names = [name for name in FIELDS if mask & _BIT[name]]
        if not names:
            return ()
        getter = _GETTERS[mask] = attrgetter(*names)
    return getter(packet)
