"""The ``ip6tables-save`` reader: the filter and nat tables as chains of rules."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from probes.firewall._model import (
    TCP_FLAGS,
    Action,
    ActionKind,
    Chain,
    FirewallUnreadable,
    InterfaceMatch,
    Match,
    NeverMatch,
    PortMatch,
    Ports,
    ProtocolMatch,
    Rule,
    StateMatch,
    Table,
    TcpFlagsMatch,
    Transport,
    UnknownMatch,
    _address_match,
    _clip,
    _icmp_type_match,
    _port_number,
)
from probes.firewall._walk import Deadline

# A line shlex would split as str.split does: no quote, no escape, no whitespace but space
# and tab (splitlines took the line breaks). shlex costs ~50 µs a rule; this, ~1.
_PLAIN = re.compile(r"[\x20-\x7e\t]*")
_QUOTING = frozenset("\"'\\")
# Lines read between two looks at the deadline.
_LINES_PER_CHECK = 256


@dataclass(frozen=True, slots=True)
class Ip6tablesSave:
    """The filter, nat and raw tables of an ``ip6tables-save`` dump; others are only named."""

    filter: Table | None
    nf_tables: bool  # the header says "(nf_tables)": iptables-nft, its tables are in nft too
    tables_seen: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    nat: Table | None = None  # for the NAT search; the forward walk never looks at it
    # PREROUTING before conntrack: where Docker 28+ drops direct access to nat-mode containers
    raw: Table | None = None


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


# chain name: (policy, each rule's tokens after the chain name, each rule's line and its number)
_Declared = dict[str, tuple[str | None, list[list[str]], list[tuple[int, str]]]]

# The tables' priorities on their hooks, as the kernel orders them (NF_IP6_PRI_RAW).
_IP6TABLES_PRIORITY = {"raw": -300}

# What a reader bug or a line ip6tables-save never prints may raise; the dump's fault to us.
_READ_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


def _unreadable_line(number: int, line: str, exc: Exception) -> FirewallUnreadable:
    reason = f"line {number}: cannot read {_clip(line)}: {type(exc).__name__}: {_clip(str(exc))}"
    return FirewallUnreadable("ip6tables-save output", reason)


# The tables we read, and their built-in chains that are base chains (with their hook). In the
# filter table only FORWARD: the forward walk judges nothing else, and a policy elsewhere must
# not look like one it should; in the raw table only PREROUTING (OUTPUT is the host's own).
_IP6TABLES_HOOKS: dict[str, dict[str, str]] = {
    "filter": {"FORWARD": "forward"},
    "raw": {"PREROUTING": "prerouting"},
    "nat": {
        "PREROUTING": "prerouting",
        "INPUT": "input",
        "OUTPUT": "output",
        "POSTROUTING": "postrouting",
    },
}


def parse_ip6tables_save(text: str, deadline: Deadline | None = None) -> Ip6tablesSave:
    """Read the ``*filter``, ``*nat`` and ``*raw`` tables of ``ip6tables-save`` (with or
    without ``-c`` counters).

    Lines we cannot read are recorded as problems; text with no table at all raises
    ``FirewallUnreadable``, since then it is not ip6tables-save output, and so does a line
    that makes the reader fail (naming it), and a dump not read by ``deadline``.
    """
    problems: list[str] = []
    tables_seen: list[str] = []
    nf_tables = False
    current: str | None = None
    declared: dict[str, _Declared] = {}
    committed: set[str] = set()

    for number, raw in enumerate(text.splitlines(), start=1):
        if deadline is not None and number % _LINES_PER_CHECK == 0:
            deadline.check("ip6tables-save output")
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
            continue  # mangle, security: named, not read
        line = _strip_counters(line)
        try:
            if line.startswith(":"):
                _declare_chain(line, chains, problems, number)
            elif line.startswith("-A "):
                _add_rule(line, chains, problems, number)
            else:
                problems.append(f"line {number}: not a chain or rule: {_clip(line)}")
        except _READ_ERRORS as exc:
            raise _unreadable_line(number, line, exc) from exc

    if not tables_seen and problems:
        raise FirewallUnreadable("ip6tables-save output", f"no table in it; {problems[0]}")
    tables: dict[str, Table] = {}
    for name, chains in declared.items():
        incomplete = None
        if name not in committed:
            incomplete = f"the {name} table ends without COMMIT (truncated dump?)"
            problems.append(incomplete)
        tables[name] = _ip6tables_table(name, chains, incomplete, deadline)
    return Ip6tablesSave(
        tables.get("filter"),
        nf_tables,
        tuple(tables_seen),
        tuple(problems),
        tables.get("nat"),
        tables.get("raw"),
    )


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
        tokens = _split(line)
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
    declared[chain][2].append((number, line))


def _split(line: str) -> list[str]:
    """``shlex.split(line)``, quickly where str.split gives the same."""
    if _PLAIN.fullmatch(line) and not _QUOTING.intersection(line):
        return line.split()
    return shlex.split(line)


def _ip6tables_table(
    table: str, declared: _Declared, incomplete: str | None, deadline: Deadline | None
) -> Table:
    names = set(declared)
    hooks = _IP6TABLES_HOOKS.get(table, {})
    kind = "nat" if table == "nat" else "filter"
    chains: dict[str, Chain] = {}
    for name, (policy, token_lists, texts) in declared.items():
        rules: list[Rule] = []
        for count, ((number, text), tokens) in enumerate(zip(texts, token_lists, strict=True)):
            if deadline is not None and count % _LINES_PER_CHECK == 0:
                deadline.check("ip6tables-save output")
            try:
                rules.append(_ip6tables_rule(text, tokens, names))
            except _READ_ERRORS as exc:
                raise _unreadable_line(number, text, exc) from exc
        hook = hooks.get(name)
        priority = _IP6TABLES_PRIORITY.get(table, 0) if hook else 0
        chains[name] = Chain(name, tuple(rules), policy if hook else None, hook, priority, kind)
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
            matches.extend(_module_matches(module, token, tuple(values), negate))
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


@functools.lru_cache(maxsize=4096)
def _module_matches(
    module: str | None, option: str, values: tuple[str, ...], negate: bool
) -> tuple[Match, ...]:
    """``_module_match``, once for each spelling: a blocklist repeats the same options on every
    rule (``-m multiport --dports 22,80,443 -m conntrack --ctstate NEW``). Matches are frozen."""
    return tuple(_module_match(module, option, list(values), negate))


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
    if module == "rpfilter":
        return _rpfilter_match(option, negate)
    where = f"-m {module} " if module else ""
    bang = "! " if negate else ""
    text = f"{bang}{where}{option} {' '.join(values)}".strip()
    if module in _OTHER_PROTOCOL_MODULES:
        return [NeverMatch(f"{text}: not a protocol we model")]
    return [UnknownMatch(text, _MODULE_PROTOCOLS.get(module or "", ()))]


# rpfilter's options that do not change what it says of our packets.
_RPFILTER_OPTIONS = frozenset({"--loose", "--validmark", "--accept-local"})


def _rpfilter_match(option: str, negate: bool) -> list[Match]:
    """``-m rpfilter [--invert]`` (firewalld's raw PREROUTING): the reverse path check, which
    our packets pass: each comes in by the interface the route to its source leads through
    (a container's from its bridge, the far end's from the uplink; RT-01 and RT-03 judge those
    routes). So ``--invert`` never matches them; the other options change nothing for them."""
    if option == "--invert":
        return [NeverMatch(f"{'! ' if negate else ''}-m rpfilter --invert: our packets pass it")]
    if option in _RPFILTER_OPTIONS:
        return []
    return [UnknownMatch(f"-m rpfilter {option}")]


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


def _ip6tables_action(target: str, chains: set[str], *, goto: bool) -> Action:
    if target in BUILTIN_TARGETS and not goto:
        return Action(BUILTIN_TARGETS[target])
    if target in chains:
        return Action("goto" if goto else "jump", target)
    if target in NON_TERMINATING_TARGETS:
        return Action("continue")
    return Action("unknown", target or "(no target name)")
