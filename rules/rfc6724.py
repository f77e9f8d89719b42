"""RFC 6724 §6 destination address selection, as a pure function, to explain an order.

AF-01's verdict rests on the order the container's own C library returned; this model only says
*why*: which of the ten rules put one family before the other, with which policy table. The
tables are the C libraries' own: glibc still ships RFC 3484's (IPv4-mapped precedence 10, ULA
label 6, no ULA precedence entry) unless ``/etc/gai.conf`` gives lines that replace them; musl
has RFC 6724's with ULA precedence 10 and reads no gai.conf; RFC 6724's own table (§2.1) is
what the RFC and most other systems use. Rules 3 (deprecated), 4 (home) and 7 (native) need
what a container seldom has: Rule 3 is modelled where the source is known to be deprecated,
Rules 4 and 7 are not (never decide here).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cmp_to_key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Entry:
    prefix: str  # an IPv6 prefix; IPv4 addresses are looked up IPv4-mapped (::ffff:0:0/96)
    value: int  # the precedence, or the label


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """A policy table, split in two as glibc keeps it (gai.conf replaces either half)."""

    name: str
    precedence: tuple[Entry, ...]
    label: tuple[Entry, ...]

    def precedence_of(self, address: str) -> int:
        return _lookup(self.precedence, address)

    def label_of(self, address: str) -> int:
        return _lookup(self.label, address)


def _table(name: str, rows: Sequence[tuple[str, int, int]]) -> PolicyTable:
    return PolicyTable(
        name,
        tuple(Entry(p, prec) for p, prec, _ in rows),
        tuple(Entry(p, lab) for p, _, lab in rows),
    )


# RFC 6724 §2.1
RFC6724 = _table(
    "RFC 6724 §2.1 default policy table",
    (
        ("::1/128", 50, 0),
        ("::/0", 40, 1),
        ("::ffff:0:0/96", 35, 4),
        ("2002::/16", 30, 2),
        ("2001::/32", 5, 5),
        ("fc00::/7", 3, 13),
        ("::/96", 1, 3),
        ("fec0::/10", 1, 11),
        ("3ffe::/16", 1, 12),
    ),
)
# glibc's built-in tables (sysdeps/posix/getaddrinfo.c default_precedence, default_labels):
# RFC 3484's
GLIBC = PolicyTable(
    "glibc's built-in table (RFC 3484 §2.1)",
    tuple(
        Entry(p, v)
        for p, v in (
            ("::1/128", 50),
            ("2002::/16", 30),
            ("::/96", 20),
            ("::ffff:0:0/96", 10),
            ("::/0", 40),
        )
    ),
    tuple(
        Entry(p, v)
        for p, v in (
            ("::1/128", 0),
            ("2002::/16", 2),
            ("::/96", 3),
            ("::ffff:0:0/96", 4),
            ("fec0::/10", 5),
            ("fc00::/7", 6),
            ("2001::/32", 7),
            ("::/0", 1),
        )
    ),
)
# musl's (src/network/lookup_name.c defpolicy)
MUSL = _table(
    "musl's built-in table",
    (
        ("::1/128", 50, 0),
        ("::ffff:0:0/96", 35, 4),
        ("2002::/16", 30, 2),
        ("2001::/32", 5, 5),
        ("fc00::/7", 10, 13),
        ("::/0", 40, 1),
    ),
)


def _mapped(address: str) -> ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return ipaddress.IPv6Address("::ffff:" + str(ip))
    return ip


def _lookup(entries: Sequence[Entry], address: str) -> int:
    """The value of the longest prefix matching ``address`` (no match: RFC 6724's ::/0 row
    would have matched; a gai.conf without it leaves 0, as glibc does)."""
    ip = _mapped(address)
    best: tuple[int, int] | None = None
    for e in entries:
        net = ipaddress.IPv6Network(e.prefix)
        if ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, e.value)
    return best[1] if best else 0


def scope(address: str) -> int:
    """RFC 6724 §3.1/§3.2: multicast its own; link-local and loopback 2 (IPv4 127/8 and
    169.254/16 too); site-local 5; everything else, ULA and private IPv4 included, global 14."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return 2 if ip.is_loopback or ip.is_link_local else 14
    if ip.is_multicast:
        return ip.packed[1] & 0x0F
    if ip.is_link_local or ip.is_loopback:
        return 2
    if ip.is_site_local:
        return 5
    return 14


def _common_prefix(a: str, b: str) -> int:
    x, y = ipaddress.ip_address(a.split("%", 1)[0]), ipaddress.ip_address(b.split("%", 1)[0])
    bits = x.max_prefixlen
    diff = int(x) ^ int(y)
    return bits - diff.bit_length()


@dataclass(frozen=True, slots=True)
class Destination:
    address: str
    source: str | None  # the source the kernel picks (None: no route: unusable)
    deprecated_source: bool = False

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.address.split("%", 1)[0]).version


@dataclass(frozen=True, slots=True)
class Decision:
    """Why ``first`` goes before ``second``: the rule and its words."""

    rule: int  # 1..10 (10: neither differs: the order given stays)
    why: str


def decide(a: Destination, b: Destination, table: PolicyTable) -> tuple[int, Decision]:
    """-1 when ``a`` goes first, 1 when ``b`` does, 0 when no rule tells them apart (Rule 10)."""
    # Rule 1: avoid unusable destinations
    if (a.source is None) != (b.source is None):
        return (-1 if b.source is None else 1), Decision(
            1, "Rule 1 (avoid unusable destinations): no source address for the other"
        )
    if a.source is None or b.source is None:
        return 0, Decision(10, "Rule 10: neither is usable; the order given stays")
    # Rule 2: prefer matching scope
    ma, mb = scope(a.address) == scope(a.source), scope(b.address) == scope(b.source)
    if ma != mb:
        return (-1 if ma else 1), Decision(
            2, "Rule 2 (prefer matching scope): only one's source has its destination's scope"
        )
    # Rule 3: avoid deprecated source addresses
    if a.deprecated_source != b.deprecated_source:
        return (1 if a.deprecated_source else -1), Decision(
            3, "Rule 3 (avoid deprecated addresses): the other's source is deprecated"
        )
    # Rule 5: prefer matching label
    la = table.label_of(a.source) == table.label_of(a.address)
    lb = table.label_of(b.source) == table.label_of(b.address)
    if la != lb:
        return (-1 if la else 1), Decision(
            5,
            "Rule 5 (prefer matching label): "
            + _label_words(a if not la else b, table)
            + "; the other's source and destination share a label",
        )
    # Rule 6: prefer higher precedence
    pa, pb = table.precedence_of(a.address), table.precedence_of(b.address)
    if pa != pb:
        hi, lo = (a, b) if pa > pb else (b, a)
        return (-1 if pa > pb else 1), Decision(
            6,
            f"Rule 6 (prefer higher precedence): {hi.address} has precedence "
            f"{table.precedence_of(hi.address)}, {lo.address} "
            f"{table.precedence_of(lo.address)}",
        )
    # Rule 8: prefer smaller scope
    sa, sb = scope(a.address), scope(b.address)
    if sa != sb:
        return (-1 if sa < sb else 1), Decision(8, "Rule 8 (prefer smaller scope)")
    # Rule 9: longest matching prefix, within one family
    if a.family == b.family:
        ca, cb = _common_prefix(a.address, a.source), _common_prefix(b.address, b.source)
        if ca != cb:
            return (-1 if ca > cb else 1), Decision(
                9, "Rule 9 (use longest matching prefix with the source)"
            )
    return 0, Decision(10, "Rule 10: no rule tells them apart; the order given stays")


def _label_words(d: Destination, table: PolicyTable) -> str:
    assert d.source is not None
    return (
        f"{d.address}'s source {d.source} has label {table.label_of(d.source)}, "
        f"the destination label {table.label_of(d.address)}"
    )


def sort_destinations(destinations: Sequence[Destination], table: PolicyTable) -> list[Destination]:
    """The destinations in RFC 6724 §6 order (a stable sort: Rule 10 keeps the given order)."""

    def compare(a: Destination, b: Destination) -> int:
        return decide(a, b, table)[0]

    return sorted(destinations, key=cmp_to_key(compare))


def parse_gai_conf(text: str, base: PolicyTable = GLIBC) -> tuple[PolicyTable, tuple[str, ...]]:
    """glibc's table after ``/etc/gai.conf``: any ``precedence`` line replaces the whole
    precedence half, any ``label`` line the whole label half (gai.conf(5)); and the lines that
    did. Other keywords (scopev4, reload) and bad lines change neither half."""
    prec: list[Entry] = []
    labels: list[Entry] = []
    used: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        words = line.split()
        if len(words) != 3 or words[0] not in ("precedence", "label"):
            continue
        try:
            net = ipaddress.IPv6Network(words[1], strict=False)
            value = int(words[2])
        except ValueError:
            continue
        (prec if words[0] == "precedence" else labels).append(Entry(str(net), value))
        used.append(line)
    if not used:
        return base, ()
    return (
        PolicyTable(
            f"{base.name} as /etc/gai.conf changes it",
            tuple(prec) or base.precedence,
            tuple(labels) or base.label,
        ),
        tuple(used),
    )
