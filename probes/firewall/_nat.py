"""RT-06's half: is a container subnet source-NATed (masqueraded) on its way out?"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from ipaddress import IPv6Network

from probes.firewall._ip6tables import Ip6tablesSave
from probes.firewall._model import INTERNET, Action, Packet, Table
from probes.firewall._nft import NftRuleset
from probes.firewall._ruleset import Ruleset, _ruleset_of
from probes.firewall._walk import Deadline, Search, Spot, TableWalks, unproven, via

SNAT_TARGETS = frozenset({"MASQUERADE", "SNAT", "NETMAP"})
# Masqueraded traffic goes to INTERNET in our model: a rule that NATs only towards some of it
# (``-d 2001:db8:f00d::/48``) covers part of the traffic: doubtful.


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
        where = f"{self.source} {self.table} {self.chain}"
        return f"{where}: {self.rule}{via(self.path)}{unproven(self.uncertain)}"


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
    # Doubtful NAT rules not listed: a walk lists its first MAX_POSSIBLE_SHOWN (see ``_walk``).
    doubtful_more: int = 0

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
        if self.doubtful_more:
            lines.append(f"… and {self.doubtful_more} more NAT rules that may apply, not listed")
        lines += [f"undecided: {u}" for u in self.unresolved]
        lines += [f"not evaluated: {u}" for u in self.uncertain if u not in self.unresolved]
        lines += [f"not read: {p}" for p in self.problems]
        return tuple(lines)


def _snat_target(action: Action) -> str | None:
    if action.kind == "unknown" and action.target in SNAT_TARGETS:
        return action.target
    return None


def _nat_rule(spot: Spot) -> NatRule:
    target = _snat_target(spot.action)
    assert target is not None, "the walk makes a find only of what the search wants"
    table = spot.table
    return NatRule(
        table.source, table.label, spot.chain.name, spot.rule, target, spot.path, spot.uncertain
    )


def _nats(action: Action) -> bool:
    return _snat_target(action) is not None


# The NAT search: a MASQUERADE / SNAT rule is what it looks for; ACCEPT (or DROP) in a nat chain
# ends that chain with no NAT. Rules we cannot evaluate that could end the chain make any NAT
# found after them doubtful, and are followed as if they matched (their jumps, readable verdict
# maps), so NAT they may lead to is seen as possible; a NAT rule we cannot evaluate is itself
# doubtful, and casts no doubt on NAT after it.
NAT_RULES = Search(
    _nats, _nat_rule, follow_doubtful=True, doubtful_find_doubts=False, read_vmaps=True
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
    deadline: Deadline | None = None,
) -> NatFinding:
    """Does a MASQUERADE / SNAT rule on the postrouting hook cover ``subnet``'s traffic out?

    Models one new outbound packet from the whole subnet (in ``bridge``, out ``uplink``) to the
    internet (2000::/3) and walks every nat base chain on the postrouting hook: ip6tables' nat
    POSTROUTING and each nft ip6/inet chain of type nat there (Docker 29's ``ip6 docker-bridges``
    and anyone else's), following jumps, gotos and readable verdict maps. A rule for a prefix
    that holds the subnet covers it (``-s 2001:db8::/32`` for a /64); one for another subnet
    does not; one for part of it is doubtful. The packet is an ICMPv6 echo, so a rule only for
    TCP or UDP is not seen (unlike the forward walk, which models each traffic class).
    ``subnet`` must be IPv6 (ValueError otherwise). The walk runs under ``deadline`` (see
    ``assess_forward``).
    """
    deadline = deadline or Deadline.after()
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
    more = 0
    for table in tables:
        walks = TableWalks(table, NAT_RULES, deadline)
        for chain in table.nat_chains():
            read.append(
                f"{table.source} {table.label} {chain.name} (type nat, hook postrouting, "
                f"{len(chain.rules)} rules)"
            )
            walked = walks.walk(chain, packet)
            if isinstance(walked.end, NatRule):
                found.append(walked.end)
            found.extend(walked.maybe)
            more += walked.more
            notes.extend(f"{table.source} {table.label} {n}" for n in walked.notes)
            unresolved.extend(f"{table.source} {table.label} {n}" for n in walked.unresolved)
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
        more,
    )
