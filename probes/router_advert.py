"""Router Advertisements (RFC 4861 4.2) decoded from raw bytes and judged by small, named rules.

The RA checks read whatever the router under test sends, and a router under test may send
anything: :func:`decode_router_advert` never raises. What it returns is one of two things:

- :class:`MalformedAdvert` when hosts discard the message whole, and only then: RFC 4861 6.1.2
  lists ICMP code not 0, fewer than 16 octets and an option of length 0, and the Linux kernel
  (``ndisc_parse_options``) also discards an RA whose last option runs past its end or leaves
  octets too few for an option header. The ``reason`` names the rule and the offset, so a check
  can show it as is. (The two reasons that are not in the bytes, an IP source that is not
  link-local and an IP hop limit other than 255, are :func:`source_ok` and :func:`hop_limit_ok`;
  :func:`hosts_discard` is all of them. A bad checksum never reaches us: see below.)
- :class:`RouterAdvert` otherwise, with every field and option decoded. An option of a fixed
  size sent with another length (an MTU option of length 2, a prefix option of length 3) does
  not void the RA: RFC 4861 6.1.2 does not list it, and Linux still uses what it can. Such an
  option is decoded as far as Linux reads it and listed in ``broken`` with the rule it breaks
  and what Linux does with it, for the check that owns the option. Whether the content is
  *sound* (an even RDNSS length, a multicast DNS server, a zero lifetime) is not the decoder's
  business either: the validators below each judge one rule and say which, in one sentence.

What Linux does was read off a 6.18 kernel in the lab (tests/lab/test_router_adverts_lab.py
sends each crafted RA from a second router and reads the host's routes, addresses, MTU and the
options the kernel passes to user space): it agrees with RFC 4861 on every RA it discards.

We walk the options ourselves before scapy sees any. scapy's option classes read their fixed
fields whatever the length byte says: a prefix option of length 3 swallows the next option, an
even-length RDNSS leaves half an address behind that scapy then guesses is a new option, and an
empty buffer decodes to a packet full of defaults. So scapy only ever gets one option, cut to
the length the walk found and checked, and each call is wrapped: an exception in scapy is a
malformed advert, not a crash. DNSSL names are decoded here too (scapy's decoder turns the bytes
into text first, so one non-ASCII octet shifts every later label, and it accepts compression).

The checksum is not checked: the kernel verifies it for raw ICMPv6 sockets (RFC 3542 3.1), and
an RA with a bad one reaches neither a raw socket nor the kernel's ND code (seen in the lab).
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

with warnings.catch_warnings():  # scapy may warn at import on some hosts; filterwarnings=error
    warnings.simplefilter("ignore")
    from scapy.layers import inet6 as _scapy6

ROUTER_ADVERT = 134
HEADER_OCTETS = 16  # type, code, checksum, cur hop limit, flags, lifetime, reachable, retrans
MAX_MESSAGE = 65535  # octets: no IPv6 payload is longer (RFC 8200 3), so neither is an RA
INFINITY = 0xFFFFFFFF  # a lifetime of all ones never expires (RFC 4861 4.6.2, RFC 8106 5.1)
# RFC 8319 updates RFC 4861 6.2.1: AdvDefaultLifetime is 0 or between MaxRtrAdvInterval and
# 65535 s, and MaxRtrAdvInterval at most 65535 s. RFC 4861 alone capped them at 9000 s and
# 1800 s; only older routers' configuration checks still hold to those figures.
MAX_ROUTER_LIFETIME = 65535  # seconds: the whole 16-bit field (RFC 8319)
MAX_RTR_ADV_INTERVAL = 65535  # seconds (RFC 8319)
RFC4861_MAX_ROUTER_LIFETIME = 9000  # seconds, before RFC 8319: for notes only
# the Advertisement Interval option is Mobile IPv6's (RFC 6275 7.3), which lowers RFC 4861's
# floor of 4 s for MaxRtrAdvInterval to 70 ms (RFC 6275 7.5)
MIN_RTR_ADV_INTERVAL_MS = 70
MIN_LINK_MTU = 1280  # RFC 8200 5
ND_HOP_LIMIT = 255  # anything less may have crossed a router (RFC 4861 6.1.2)
SLAAC_PREFIX_LENGTH = 64  # interface identifiers are 64 bits on Ethernet (RFC 4291 2.5.1)
SHOWN_OCTETS = 64  # of a malformed advert, in its evidence lines

OPT_SOURCE_LLADDR = 1
OPT_PREFIX_INFO = 3
OPT_MTU = 5
OPT_ADV_INTERVAL = 7
OPT_RDNSS = 25
OPT_DNSSL = 31
# options whose length is fixed by their RFC, and what Linux does with one of another length
# (ndisc_router_discovery, addrconf_prefix_rcv; each seen in the lab): a broken option, never
# a discarded RA
FIXED_UNITS = {
    OPT_SOURCE_LLADDR: (
        1,
        "RFC 4861 4.6.1: an Ethernet address fills one unit",
        "Linux refuses the address and stops reading the RA there: it applies the router"
        " lifetime (the default route) but none of the RA's prefixes, MTU, RDNSS or DNSSL",
    ),
    OPT_PREFIX_INFO: (
        4,
        "RFC 4861 4.6.2",
        "Linux reads its first 32 octets as the prefix (a shorter one it ignores: no on-link"
        " route, no address)",
    ),
    OPT_MTU: (1, "RFC 4861 4.6.4", "Linux uses the MTU in it all the same"),
    OPT_ADV_INTERVAL: (1, "RFC 6275 7.3", "Linux ignores the option (at any length)"),
}
PREFIX_INFO_OCTETS = 32
OPTION_NAMES = {
    OPT_SOURCE_LLADDR: "source link-layer address",
    OPT_PREFIX_INFO: "prefix information",
    OPT_MTU: "MTU",
    OPT_ADV_INTERVAL: "advertisement interval",
}
PREFERENCES = {0: "medium", 1: "high", 2: "reserved", 3: "low"}  # RFC 4191 2.1 Prf bits
MAX_LABEL = 63  # RFC 1035 2.3.4
MAX_NAME = 255  # octets of a name in wire format, RFC 1035 2.3.4
LINK_LOCAL = ipaddress.IPv6Network("fe80::/10")


# --- model ---------------------------------------------------------------------------------


_F = TypeVar("_F")


@dataclass(frozen=True, slots=True)
class Rdnss:
    """A Recursive DNS Server option (RFC 8106 5.1, type 25), decoded as far as it goes.

    An even length is kept, not rejected: ``servers`` holds the whole addresses that fit, and
    :func:`rdnss_length_ok` names the fault.
    """

    length: int  # the option's length field, in units of 8 octets
    lifetime: int  # seconds; 0xffffffff = infinity
    servers: tuple[str, ...]  # compressed IPv6 text


@dataclass(frozen=True, slots=True)
class Dnssl:
    """A DNS Search List option (RFC 8106 5.2, type 31).

    A broken name encoding does not make the advert malformed: hosts read the names before the
    fault, and the DNSSL check wants to say what is wrong rather than that nothing came.
    """

    length: int
    lifetime: int
    domains: tuple[str, ...]  # "lab.example" (no trailing dot), only those decoded cleanly
    problem: str | None  # why the domain encoding is broken, None if sound


@dataclass(frozen=True, slots=True)
class PrefixInfo:
    """A Prefix Information option (RFC 4861 4.6.2, type 3)."""

    prefix: str  # "2001:db8:0:1::/64": the prefix bits as sent (not masked), with the length
    on_link: bool  # L
    autonomous: bool  # A
    valid: int
    preferred: int


@dataclass(frozen=True, slots=True)
class BrokenOption:
    """An option of a fixed size sent with another length: not fatal to the RA (RFC 4861 6.1.2),
    but wrong. Decoded as far as Linux reads it; the check that owns the option reports it."""

    kind: int  # the option type
    offset: int  # from the ICMPv6 type octet
    length: int  # the length field, in units of 8 octets
    problem: str  # "MTU option (type 5) at offset 16 has length 2, not 1 (RFC 4861 4.6.4)"
    linux: str  # what the Linux kernel does with it

    def text(self) -> str:
        return f"{self.problem}: {self.linux}"


@dataclass(frozen=True, slots=True)
class RouterAdvert:
    """A Router Advertisement hosts do not discard for its bytes, with how it arrived."""

    source: str  # the router's link-local address (as given by caller)
    hop_limit: int | None  # IP hop limit it arrived with (caller gives; 255 required)
    at_ms: float  # ms after our RS (caller gives)
    cur_hop_limit: int
    managed: bool  # M
    other: bool  # O
    preference: str  # "high" | "medium" | "low" | "reserved" (RFC 4191 Prf bits)
    router_lifetime: int
    reachable_time: int
    retrans_timer: int
    source_lladdr: str | None  # option 1, "aa:bb:cc:dd:ee:ff"
    mtu: int | None  # option 5
    adv_interval_ms: int | None  # option 7 (RFC 6275 7.3 Advertisement Interval), milliseconds
    prefixes: tuple[PrefixInfo, ...]
    rdnss: tuple[Rdnss, ...]
    dnssl: tuple[Dnssl, ...]
    other_options: tuple[int, ...]  # types of options we do not decode
    broken: tuple[BrokenOption, ...] = ()  # fixed-size options of another length, in order

    def broken_of(self, *kinds: int) -> tuple[BrokenOption, ...]:
        """The broken options of these types (a check reports those it owns)."""
        return tuple(b for b in self.broken if b.kind in kinds)

    def lines(self) -> tuple[str, ...]:
        """The advert decoded, one line for the header and one per option, for evidence."""
        arrived = f"RA from {self.source} at {self.at_ms:.1f} ms"
        out = [
            f"{arrived}, IP hop limit {_or_unknown(self.hop_limit)}:"
            f" cur hop limit {self.cur_hop_limit}, M={int(self.managed)} O={int(self.other)},"
            f" preference {self.preference}, router lifetime {self.router_lifetime} s,"
            f" reachable time {self.reachable_time} ms, retrans timer {self.retrans_timer} ms"
        ]
        if self.source_lladdr is not None:
            out.append(f"source link-layer address {self.source_lladdr}")
        if self.mtu is not None:
            out.append(f"MTU {self.mtu}")
        if self.adv_interval_ms is not None:
            out.append(f"advertisement interval {self.adv_interval_ms} ms")
        for p in self.prefixes:
            out.append(
                f"prefix {p.prefix} L={int(p.on_link)} A={int(p.autonomous)}"
                f" valid {lifetime_text(p.valid)} preferred {lifetime_text(p.preferred)}"
            )
        for r in self.rdnss:
            servers = ", ".join(r.servers) or "(no address)"
            out.append(f"RDNSS length {r.length}, lifetime {lifetime_text(r.lifetime)}: {servers}")
        for d in self.dnssl:
            domains = ", ".join(d.domains) or "(no name)"
            broken = f" [encoding broken: {d.problem}]" if d.problem else ""
            lifetime = lifetime_text(d.lifetime)
            out.append(f"DNSSL length {d.length}, lifetime {lifetime}: {domains}{broken}")
        if self.other_options:
            out.append(f"options not decoded: types {', '.join(map(str, self.other_options))}")
        out += [f"broken option: {b.text()}" for b in self.broken]
        return tuple(out)


@dataclass(frozen=True, slots=True)
class MalformedAdvert:
    """An advert hosts discard whole (RFC 4861 6.1.2, and Linux), with why and the bytes as
    received; or, with ``internal``, one we failed to decode (our fault, not the router's)."""

    source: str
    hop_limit: int | None
    at_ms: float
    reason: str  # e.g. "option type 25 at offset 16 has length 0 (RFC 4861 4.6: invalid)"
    data: bytes
    internal: bool = False  # the decoder's own failure: no verdict on the router

    def lines(self) -> tuple[str, ...]:
        shown = self.data[:SHOWN_OCTETS].hex(" ", -4)
        more = f" … ({len(self.data) - SHOWN_OCTETS} more)" if len(self.data) > SHOWN_OCTETS else ""
        return (
            f"malformed RA from {self.source} at {self.at_ms:.1f} ms,"
            f" IP hop limit {_or_unknown(self.hop_limit)}: {self.reason}",
            f"{len(self.data)} octets: {shown or '(none)'}{more}",
        )


def _or_unknown(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def lifetime_text(seconds: int) -> str:
    return "infinity" if seconds == INFINITY else f"{seconds} s"


# --- decoding ------------------------------------------------------------------------------


class _Malformed(Exception):
    """Raised inside the decoder only; :func:`decode_router_advert` turns it into a result.
    ``internal``: scapy or our own code failed on bytes the option walk had accepted."""

    def __init__(self, reason: str, *, internal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.internal = internal


def decode_router_advert(
    data: bytes, *, source: str, hop_limit: int | None = None, at_ms: float = 0.0
) -> RouterAdvert | MalformedAdvert:
    """Decode one RA as a raw ICMPv6 socket returns it (from the type octet, no IPv6 header).

    Never raises (for ANY bytes input): what hosts discard becomes MalformedAdvert. A bug of
    ours does too, as "internal decoder error" with ``internal`` set: one odd advert must not
    stop a whole run, nor be blamed on the router.
    """
    if not isinstance(data, bytes | bytearray | memoryview):  # bytes(5) would be five zeros
        reason = f"internal decoder error: {type(data).__name__} given, not bytes"
        return MalformedAdvert(source, hop_limit, at_ms, reason, b"", internal=True)
    raw = b""
    try:
        raw = bytes(data)
        return _decode(raw, source, hop_limit, at_ms)
    except _Malformed as exc:
        return MalformedAdvert(source, hop_limit, at_ms, exc.reason, raw, internal=exc.internal)
    except Exception as exc:
        reason = f"internal decoder error: {type(exc).__name__}: {exc}"
        return MalformedAdvert(source, hop_limit, at_ms, reason, raw, internal=True)


def _decode(data: bytes, source: str, hop_limit: int | None, at_ms: float) -> RouterAdvert:
    if not data:
        raise _Malformed("empty message")
    if data[0] != ROUTER_ADVERT:
        raise _Malformed(f"ICMPv6 type {data[0]}, not {ROUTER_ADVERT} (Router Advertisement)")
    if len(data) >= 2 and data[1] != 0:
        raise _Malformed(f"ICMPv6 code {data[1]}, not 0 (RFC 4861 6.1.2)")
    if len(data) < HEADER_OCTETS:
        reason = f"{len(data)} octets: shorter than the {HEADER_OCTETS}-octet RA header"
        raise _Malformed(reason + " (RFC 4861 6.1.2)")
    if len(data) > MAX_MESSAGE:
        reason = f"{len(data)} octets: longer than any IPv6 payload ({MAX_MESSAGE}, RFC 8200 3)"
        raise _Malformed(reason, internal=True)  # not from a socket: the caller's mistake
    options, broken = _walk_options(data)  # all of them first: one bad option voids the RA
    cut = {b.offset for b in broken}

    header = _scapy(_scapy6.ICMPv6ND_RA, data[:HEADER_OCTETS], "RA header")
    prf = _int_field(header, "prf", "RA header")
    lladdr: str | None = None
    mtu: int | None = None
    interval: int | None = None
    prefixes: list[PrefixInfo] = []
    rdnss: list[Rdnss] = []
    dnssl: list[Dnssl] = []
    others: list[int] = []
    for offset, kind, body in options:
        # of a repeated single-valued option (two MTUs, say) the first is kept, as Linux does.
        # A fixed-size option of another length is used as far as Linux uses it (FIXED_UNITS)
        if kind == OPT_SOURCE_LLADDR:
            if offset not in cut:  # Linux refuses an address of the wrong size
                lladdr = lladdr or _source_lladdr(body, offset)
        elif kind == OPT_PREFIX_INFO:
            if len(body) >= PREFIX_INFO_OCTETS:  # Linux reads the first 32 octets
                prefixes.append(_prefix_info(body[:PREFIX_INFO_OCTETS], offset))
        elif kind == OPT_MTU:  # Linux reads octets 4..7, whatever the length
            found = _int_option(_scapy6.ICMPv6NDOptMTU, "mtu", body[:8], offset)
            mtu = found if mtu is None else mtu
        elif kind == OPT_ADV_INTERVAL:
            if offset not in cut:  # the router's MaxRtrAdvInterval only from a sound option
                found = _int_option(_scapy6.ICMPv6NDOptAdvInterval, "advint", body, offset)
                interval = found if interval is None else interval
        elif kind == OPT_RDNSS:
            rdnss.append(_rdnss(body, offset))
        elif kind == OPT_DNSSL:
            dnssl.append(_dnssl(body, offset))
        else:
            others.append(kind)
    return RouterAdvert(
        source=source,
        hop_limit=hop_limit,
        at_ms=at_ms,
        cur_hop_limit=_int_field(header, "chlim", "RA header"),
        managed=bool(_int_field(header, "M", "RA header")),
        other=bool(_int_field(header, "O", "RA header")),
        preference=PREFERENCES.get(prf, f"Prf {prf}"),
        router_lifetime=_int_field(header, "routerlifetime", "RA header"),
        reachable_time=_int_field(header, "reachabletime", "RA header"),
        retrans_timer=_int_field(header, "retranstimer", "RA header"),
        source_lladdr=lladdr,
        mtu=mtu,
        adv_interval_ms=interval,
        prefixes=tuple(prefixes),
        rdnss=tuple(rdnss),
        dnssl=tuple(dnssl),
        other_options=tuple(others),
        broken=tuple(broken),
    )


def _walk_options(data: bytes) -> tuple[list[tuple[int, int, bytes]], list[BrokenOption]]:
    """(offset, type, option octets) of every option, and the fixed-size ones of another length.

    What voids the whole RA raises: an option of length 0 (RFC 4861 4.6, 6.1.2), and one that
    runs past the end or a remainder too short for an option header, which Linux's
    ``ndisc_parse_options`` discards the RA for. Offsets count from the ICMPv6 type octet, as
    in the reasons; nothing after the walk has to trust a length field.
    """
    options: list[tuple[int, int, bytes]] = []
    broken: list[BrokenOption] = []
    offset = HEADER_OCTETS
    while offset < len(data):
        if offset + 2 > len(data):
            reason = f"option header at offset {offset} is cut off: 1 octet left"
            raise _Malformed(reason + " (RFC 4861 4.6; Linux discards the RA)")
        kind, units = data[offset], data[offset + 1]
        if units == 0:
            reason = f"option type {kind} at offset {offset} has length 0"
            raise _Malformed(reason + " (RFC 4861 4.6: invalid)")
        end = offset + 8 * units
        if end > len(data):
            reason = f"option type {kind} at offset {offset} has length {units} ({8 * units}"
            reason += f" octets) but only {len(data) - offset} octets remain: it runs past the end"
            raise _Malformed(reason + " (RFC 4861 4.6; Linux discards the RA)")
        fixed = FIXED_UNITS.get(kind)
        if fixed is not None and units != fixed[0]:
            size, rule, linux = fixed
            problem = f"{OPTION_NAMES[kind]} option (type {kind}) at offset {offset} has length"
            broken.append(
                BrokenOption(kind, offset, units, f"{problem} {units}, not {size} ({rule})", linux)
            )
        options.append((offset, kind, data[offset:end]))
        offset = end
    return options, broken


def _where(kind: int, offset: int) -> str:
    return f"option type {kind} at offset {offset}"


def _scapy(layer: Any, octets: bytes, what: str) -> Any:
    """``layer`` dissected from exactly ``octets``; whatever scapy raises becomes malformed."""
    try:
        return layer(octets)
    except Exception as exc:
        reason = f"{what}: scapy could not decode it ({type(exc).__name__}: {exc})"
        raise _Malformed(reason, internal=True) from exc


def _typed_field(packet: Any, name: str, what: str, kind: type[_F], noun: str) -> _F:
    """A field scapy decoded, insisting on its type: a short buffer leaves None in scapy."""
    try:
        value = getattr(packet, name)
    except Exception as exc:
        reason = f"{what}: scapy has no field {name} ({type(exc).__name__})"
        raise _Malformed(reason, internal=True) from exc
    if not isinstance(value, kind):
        reason = f"{what}: field {name} decoded as {type(value).__name__}, not {noun}"
        raise _Malformed(reason, internal=True)
    return value


def _int_field(packet: Any, name: str, what: str) -> int:
    return int(_typed_field(packet, name, what, int, "a number"))


def _str_field(packet: Any, name: str, what: str) -> str:
    return _typed_field(packet, name, what, str, "text")


def _ipv6_text(text: str, what: str) -> str:
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError as exc:
        reason = f"{what}: '{text[:60]}' is not an IPv6 address"
        raise _Malformed(reason, internal=True) from exc


def _int_option(layer: Any, field: str, body: bytes, offset: int) -> int:
    """The one number in an MTU or Advertisement Interval option."""
    what = _where(body[0], offset)
    return _int_field(_scapy(layer, body, what), field, what)


def _source_lladdr(body: bytes, offset: int) -> str:
    what = _where(OPT_SOURCE_LLADDR, offset)
    return _str_field(_scapy(_scapy6.ICMPv6NDOptSrcLLAddr, body, what), "lladdr", what).lower()


def _prefix_info(body: bytes, offset: int) -> PrefixInfo:
    what = _where(OPT_PREFIX_INFO, offset)
    opt = _scapy(_scapy6.ICMPv6NDOptPrefixInfo, body, what)
    prefix = _ipv6_text(_str_field(opt, "prefix", what), what)
    return PrefixInfo(
        prefix=f"{prefix}/{_int_field(opt, 'prefixlen', what)}",
        on_link=bool(_int_field(opt, "L", what)),
        autonomous=bool(_int_field(opt, "A", what)),
        valid=_int_field(opt, "validlifetime", what),
        preferred=_int_field(opt, "preferredlifetime", what),
    )


def _rdnss(body: bytes, offset: int) -> Rdnss:
    """Whole addresses only: scapy would leave the half of a cut one as a bogus next option."""
    what = _where(OPT_RDNSS, offset)
    whole = (len(body) - 8) // 16
    opt = _scapy(_scapy6.ICMPv6NDOptRDNSS, body[: 8 + 16 * whole], what)
    servers = getattr(opt, "dns", None)
    if not isinstance(servers, list) or len(servers) != whole:
        reason = f"{what}: scapy decoded {servers!r:.60} for {whole} addresses"
        raise _Malformed(reason, internal=True)
    if not all(isinstance(server, str) for server in servers):
        raise _Malformed(f"{what}: scapy decoded {servers!r:.60}, not addresses", internal=True)
    return Rdnss(
        length=body[1],
        lifetime=_int_field(opt, "lifetime", what),
        servers=tuple(_ipv6_text(server, what) for server in servers),
    )


def _dnssl(body: bytes, offset: int) -> Dnssl:
    """The header through scapy, the names through :func:`decode_search_list`."""
    what = _where(OPT_DNSSL, offset)
    opt = _scapy(_scapy6.ICMPv6NDOptDNSSL, body[:8], what)
    domains, problem = decode_search_list(body[8:])
    return Dnssl(body[1], _int_field(opt, "lifetime", what), domains, problem)


def decode_search_list(names: bytes) -> tuple[tuple[str, ...], str | None]:
    """The domains in a DNSSL option after its 8-octet header, and what is wrong, if anything.

    RFC 8106 5.2: names in DNS wire format (RFC 1035 3.1) without compression, each ending in a
    zero-length label, then zero padding to the option's end. Domains up to the first fault are
    returned; positions in the problem are octets of the option (the header is octets 0..7).
    """
    domains: list[str] = []
    pos = 0
    while pos < len(names):
        if names[pos] == 0:  # a zero where a name would start: the padding
            junk = next((i for i in range(pos, len(names)) if names[i]), None)
            if junk is not None:
                reason = f"non-zero octet 0x{names[junk]:02x} at octet {junk + 8} in the padding"
                return tuple(domains), reason + " after the last name (RFC 8106 5.2: zeros)"
            break
        name, pos, problem = _read_name(names, pos)
        if problem is not None:
            return tuple(domains), problem
        domains.append(name)
    if not domains:
        return (), "no domain name in the option (RFC 8106 5.2: one or more)"
    return tuple(domains), None


def _read_name(names: bytes, start: int) -> tuple[str, int, str | None]:
    """One name from ``start``: (text, position after it, problem or None)."""
    labels: list[str] = []
    pos = start
    while True:
        if pos >= len(names):
            reason = f"the name at octet {start + 8} has no terminating zero-length label:"
            return "", pos, reason + " it runs past the option end (RFC 1035 3.1)"
        size = names[pos]
        if size == 0:
            return ".".join(labels), pos + 1, None
        if size & 0xC0 == 0xC0:
            pointer = names[pos : pos + 2].hex()
            reason = f"compression pointer 0x{pointer} at octet {pos + 8}:"
            return "", pos, reason + " RFC 8106 5.2 forbids compression"
        if size > MAX_LABEL:
            reason = f"label length {size} at octet {pos + 8} is over {MAX_LABEL}"
            return "", pos, reason + " (RFC 1035 2.3.4)"
        if pos + 1 + size > len(names):
            reason = f"label of {size} octets at octet {pos + 8} runs past the option end"
            return "", pos, reason + f" ({len(names) - pos - 1} octets left)"
        labels.append(_label_text(names[pos + 1 : pos + 1 + size]))
        pos += 1 + size
        if pos - start + 1 > MAX_NAME:
            reason = f"the name at octet {start + 8} is longer than {MAX_NAME} octets"
            return "", pos, reason + " (RFC 1035 2.3.4)"


def _label_text(label: bytes) -> str:
    """A label as master-file text: octets that are not printable ASCII, '.' and '\\' as \\DDD."""
    return "".join(
        chr(o) if 0x21 <= o <= 0x7E and o not in (0x2E, 0x5C) else f"\\{o:03d}" for o in label
    )


def not_unicast(server: str) -> str | None:
    """Why ``server`` cannot be anyone's nameserver (RFC 4291 2.4), None for a unicast one."""
    try:
        address = ipaddress.IPv6Address(server)
    except ValueError:
        return "not an IPv6 address"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    return None


@dataclass(frozen=True, slots=True)
class AnnouncedServer:
    """A nameserver as an RDNSS option announced it (RFC 8106 5.1): a host that keeps the RA
    uses it for ``lifetime`` seconds (0: stop using it)."""

    server: str
    router: str
    lifetime: int

    @property
    def used(self) -> bool:
        """A host takes it as a nameserver: a unicast address with a non-zero lifetime."""
        return self.lifetime > 0 and not_unicast(self.server) is None

    def text(self) -> str:
        lifetime = lifetime_text(self.lifetime)
        return f"{self.server} announced by {self.router} (lifetime {lifetime})"


def announced_servers(adverts: Iterable[RouterAdvert]) -> tuple[AnnouncedServer, ...]:
    """Each RDNSS server the RAs announce, once per router, in the order they came."""
    seen: dict[tuple[str, str], AnnouncedServer] = {}
    for ra in adverts:
        for opt in ra.rdnss:
            for server in opt.servers:
                key = (server, ra.source)
                if key not in seen or seen[key].lifetime < opt.lifetime:
                    seen[key] = AnnouncedServer(server, ra.source, opt.lifetime)
    return tuple(seen.values())
