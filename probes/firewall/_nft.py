"""The ``nft -j list ruleset`` reader: ip6 and inet tables as chains of rules, and the rules
rendered back as nft-like text for the evidence.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from probes.firewall._model import (
    ICMPV6_CODES,
    MAX_NESTING,
    TCP_FLAGS,
    Action,
    ActionKind,
    Chain,
    FamilyMatch,
    FirewallUnreadable,
    IcmpCodeMatch,
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
from probes.firewall._nft_text import NFT_NAT_STATEMENTS, _nft_expr, _render_nft, _render_nft_value
from probes.firewall._walk import Deadline


@dataclass(frozen=True, slots=True)
class NftRuleset:
    """The ip6 and inet tables of ``nft -j list ruleset`` (other families never see IPv6
    forwarding: ip is IPv4, bridge and netdev are other hooks)."""

    tables: tuple[Table, ...]
    version: str | None = None
    problems: tuple[str, ...] = ()


NFT_FAMILIES = ("ip6", "inet")
_ITEMS_PER_CHECK = 256  # objects read between two looks at the deadline
_NftKey = tuple[str, str]  # (family, table)


def parse_nft_json(
    text: str,
    deadline: Deadline | None = None,
    chains_only: Collection[tuple[str, str]] = (),
) -> NftRuleset:
    """Read ``nft -j list ruleset``; bad JSON raises ``FirewallUnreadable``, odd items are
    recorded as problems. A dump not read by ``deadline`` raises ``FirewallUnreadable`` too.
    Of the tables in ``chains_only`` ((family, name): iptables-nft's copies of what
    ip6tables-save showed) only the chains are read, not their rules."""
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
    rule_items: list[tuple[int, dict[str, object]]] = []
    for index, item in enumerate(items):
        if deadline is not None and index % _ITEMS_PER_CHECK == 0:
            deadline.check("nft -j output")
        kind, body = _nft_item(item)
        with _reading(index, kind, body):
            version = _nft_object(kind, body, version, sets, chain_heads, rule_items, index)
    rules: dict[tuple[str, str, str], list[Rule]] = {}
    for count, (index, body) in enumerate(rule_items):
        if deadline is not None and count % _ITEMS_PER_CHECK == 0:
            deadline.check("nft -j output")
        key = (str(body.get("family")), str(body.get("table")), str(body.get("chain")))
        if key[2] not in chain_heads.get(key[:2], {}):
            problems.append(f"rule for unknown chain {' '.join(key)}")
            continue
        if key[:2] in chains_only:
            continue
        with _reading(index, "rule", body):
            rules.setdefault(key, []).append(_nft_rule(body, sets, key[:2]))
    tables: list[Table] = []
    for table_key, heads in chain_heads.items():
        with _reading(None, "table", {"family": table_key[0], "name": table_key[1]}):
            tables.append(_nft_table(table_key, heads, rules, problems))
    return NftRuleset(tuple(tables), version, tuple(problems))


# What a reader bug or an object nft never prints may raise; each is the dump's fault to us.
_READ_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@contextlib.contextmanager
def _reading(index: int | None, kind: str, body: Mapping[str, object]) -> Iterator[None]:
    """Whatever reading one object raises is ``FirewallUnreadable`` naming that object (by its
    place in the list, or for a table by its family and name)."""
    try:
        yield
    except _READ_ERRORS as exc:
        names = " ".join(
            _clip(str(body[k]), 40) if isinstance(body[k], str | int) else type(body[k]).__name__
            for k in ("family", "table", "chain", "name")
            if k in body
        )
        place = f"nftables[{index}] " if index is not None else ""
        what = f"{place}({_clip(kind, 20)} {names})".replace(" )", ")")
        reason = f"{what}: cannot read it: {type(exc).__name__}: {_clip(str(exc))}"
        raise FirewallUnreadable("nft -j output", reason) from exc


def _nft_object(
    kind: str,
    body: dict[str, object],
    version: str | None,
    sets: dict[tuple[str, str, str], object],
    chain_heads: dict[_NftKey, dict[str, dict[str, object]]],
    rule_items: list[tuple[int, dict[str, object]]],
    index: int,
) -> str | None:
    """File one object of the dump where it belongs; the version, if it is the metainfo."""
    if kind == "metainfo":
        version = str(body.get("version")) if body.get("version") is not None else None
    if (
        kind not in ("table", "chain", "rule", "set", "map")
        or body.get("family") not in NFT_FAMILIES
    ):
        return version
    family, table = str(body.get("family")), str(body.get("table", body.get("name")))
    if kind == "table":
        chain_heads.setdefault((family, table), {})
    elif kind == "chain":
        chain_heads.setdefault((family, table), {})[str(body.get("name"))] = body
    elif kind in ("set", "map"):
        sets[(family, table, str(body.get("name")))] = body.get("elem", [])
    else:
        rule_items.append((index, body))
    return version


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
    if key == "status" and values and {str(v).lower() for v in values} <= {"dnat", "snat"}:
        # ``ct status dnat`` (firewalld's forward chain accepts what was DNATed)
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
            if isinstance(protocol, str) and protocol in _OTHER_PROTOCOLS:
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
    if kind == "ct" and inner.get("key") in ("state", "status") and "dir" not in inner:
        return "ct", str(inner.get("key"))  # status: only its NAT bits are modelled (StateMatch)
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
    if depth > MAX_NESTING:
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


def _nft_values(
    right: object, sets: _Sets, table: _NftKey, *, depth: int = 0
) -> list[object] | None:
    """The alternatives on a match's right side, or None when we cannot list them (also when
    they nest deeper than ``MAX_NESTING``, or a set names itself)."""
    if depth > MAX_NESTING:
        return None
    if isinstance(right, str) and right.startswith("@"):
        named = sets.get((*table, right[1:]))
        return None if named is None else _nft_values({"set": named}, sets, table, depth=depth + 1)
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
            got = _nft_values(element, sets, table, depth=depth + 1)
            if got is None:
                return None
            flat.extend(got)
        return flat
    if kind == "prefix" and isinstance(inner, dict):
        return [f"{inner.get('addr')}/{inner.get('len')}"]
    if kind == "range" and isinstance(inner, list) and len(inner) == 2:
        return _range_networks(str(inner[0]), str(inner[1]))
    if kind == "elem" and isinstance(inner, dict):
        return _nft_values(inner.get("val"), sets, table, depth=depth + 1)
    return None


def _range_networks(first: str, last: str) -> list[object] | None:
    try:
        low, high = ipaddress.IPv6Address(first), ipaddress.IPv6Address(last)
        return [str(n) for n in ipaddress.summarize_address_range(low, high)]
    except ValueError:
        return None
