"""Every parser of what others wrote, as a fuzz target: sound inputs to start from (the seeds),
the edits that mutate them, and the parser's contract as a check of one input.

Used by bench/fuzz_all.py (seeded random edits, the figures) and tests/unit/test_fuzz_parsers.py
(Hypothesis draws the edits, and shrinks what breaks a contract). An edit is data, applied by
:func:`apply_edits`, so both drive the same code. A target's ``run`` returns what became of the
input (a word for the figures) and raises :class:`Broken` where the parser broke its contract;
any other exception out of ``run`` is a crash of the parser.
"""

from __future__ import annotations

import base64
import json
import random
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.dns_corpus import cases as dns_cases
from bench.dns_corpus import fuzz_inputs
from probes import capture, icmp6, resolver, workloads
from probes import dns as dnsprobe
from probes.dns import DnsResult
from probes.errors import MalformedPacket, ProfileError
from probes.profile import Profile, load_profile
from probes.resolvconf import ResolvConf, parse_resolv_conf
from probes.router_advert import MalformedAdvert, RouterAdvert, announced_servers
from probes.router_advert import decode_router_advert as decode_ra
from probes.router_solicit import Solicitation
from reports import merge as fleet
from rules import ra as ra_rules
from rules.judgement import Judgement

FUZZ_SEED = 20_260_531
MAX_INPUT = 8192  # octets: every parser's input is cut to this (an RA is at most 1500 here)


class Broken(Exception):
    """A parser broke its contract on an input (a wrong type, an internal error, a second line)."""


# --- edits -------------------------------------------------------------------------------

# (op, where, size, payload): where and size are taken modulo what fits, so any four values make
# a valid edit (Hypothesis may draw any)
Edit = tuple[int, int, int, bytes]
OPS = ("overwrite", "insert", "delete", "repeat", "truncate", "token")


def apply_edits(seed: bytes, edits: Sequence[Edit], tokens: Sequence[bytes]) -> bytes:
    """``seed`` with each edit applied in turn; the result cut to :data:`MAX_INPUT`."""
    data = bytearray(seed)
    for op, where, size, payload in edits:
        at = where % (len(data) + 1)
        kind = OPS[op % len(OPS)]
        if kind == "overwrite":
            data[at : at + len(payload)] = payload
        elif kind == "insert":
            data[at:at] = payload
        elif kind == "delete":
            del data[at : at + size % 64 + 1]
        elif kind == "repeat":  # a run of the same thing: what makes a parser slow
            chunk = bytes(data[at : at + size % 32 + 1])
            data[at:at] = chunk * (len(payload) % 200 + 1)
        elif kind == "truncate":
            del data[at:]
        elif tokens:
            data[at:at] = tokens[size % len(tokens)]
        del data[MAX_INPUT:]
    return bytes(data)


def random_edits(rng: random.Random) -> list[Edit]:
    """One to six edits, as the benchmark draws them."""
    edits: list[Edit] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6))):
        payload = bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 1, 2, 4, 8, 16))))
        edits.append((rng.randrange(len(OPS)), rng.getrandbits(16), rng.getrandbits(8), payload))
    return edits


@dataclass(frozen=True)
class Target:
    """One parser: its seeds, its edit tokens, and its contract on one input."""

    name: str
    seeds: tuple[bytes, ...]
    run: Callable[[bytes], str]
    tokens: tuple[bytes, ...] = ()
    # a mutator of its own (structure-aware), used for every other input when given
    structured: Callable[[random.Random], bytes] | None = field(default=None, repr=False)
    # a corpus of its own (bench.dns_corpus's), which the benchmark takes instead
    stream: Callable[[random.Random], Iterator[bytes]] | None = field(default=None, repr=False)

    def inputs(self, rng: random.Random, count: int) -> Iterator[bytes]:
        """``count`` inputs from ``rng`` alone: the stream, again as often as it takes, or
        :meth:`generate`'s."""
        if self.stream is None:
            for _ in range(count):
                yield self.generate(rng)
            return
        while count > 0:
            for data in self.stream(rng):
                yield data
                count -= 1
                if count == 0:
                    return

    def generate(self, rng: random.Random) -> bytes:
        """One input, from ``rng`` alone: mostly a mutated seed, sometimes random bytes."""
        pick = rng.random()
        if pick < 0.08:
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(64)))
        if self.structured is not None and pick < 0.5:
            return bytes(self.structured(rng))[:MAX_INPUT]
        return apply_edits(rng.choice(self.seeds), random_edits(rng), self.tokens)


def _is(value: object, *kinds: type, what: str) -> None:
    if not isinstance(value, kinds):
        raise Broken(f"{what} returned {type(value).__name__}")


def _one_line(text: object, what: str) -> None:
    _is(text, str, what=what)
    assert isinstance(text, str)
    if "\n" in text or not text:
        raise Broken(f"{what}: {text!r:.120} is not one line")


# --- Router Advertisements and their rules ------------------------------------------------


def _ra(*options: bytes, flags: int = 0x40, lifetime: int = 1800) -> bytes:
    return struct.pack("!BBHBBHII", 134, 0, 0, 64, flags, lifetime, 0, 0) + b"".join(options)


_MAC = bytes.fromhex("0200c0a80001")
_NS = bytes.fromhex("20010db8005300000000000000000053")
RA_SEEDS = (
    _ra(),
    _ra(
        b"\x01\x01" + _MAC,
        struct.pack("!BBHI", 5, 1, 0, 1500),
        struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0)
        + bytes.fromhex("20010db8" * 2)
        + bytes(8),
        struct.pack("!BBHI", 25, 3, 0, 1800) + _NS,
        struct.pack("!BBHI", 31, 3, 0, 1800) + b"\x03lab\x07example\x00" + bytes(3),
        struct.pack("!BBHI", 7, 1, 0, 600_000),
    ),
    _ra(struct.pack("!BBHI", 25, 5, 0, 0xFFFFFFFF) + _NS + bytes(15) + b"\x01", flags=0xC8),
    _ra(struct.pack("!BBHI", 31, 2, 0, 60) + b"\x01a\x00\x00\x00\x00\x00\x00", lifetime=0),
)
RA_TOKENS = (
    b"\x00", b"\xff", b"\x80", b"\x7f", b"\x01\x00", b"\x19\x02", b"\x19\x03", b"\x1f\x01",
    b"\x1f\x02", b"\x03\x03", b"\x03\x04", b"\x05\x02", b"\x07\x01", b"\xc0\x0c", b"\x3f", b"\x40",
    bytes.fromhex("ff020000000000000000000000000001"), bytes(16), b"\xff\xff\xff\xff",
)  # fmt: skip
_OPTION_KINDS = (1, 3, 5, 7, 25, 31, 2, 24, 38, 0, 255)


def ra_structured(rng: random.Random) -> bytes:
    """An RA whose options are well framed (mostly) with random contents and lengths."""
    options = []
    for _ in range(rng.randrange(8)):
        kind = rng.choice(_OPTION_KINDS)
        units = rng.choice((1, 1, 2, 3, 4, 5, rng.randrange(256)))
        body = bytearray(rng.getrandbits(8) for _ in range(8 * units - 2))
        if kind == 31 and rng.random() < 0.7:  # names in wire format, maybe broken
            names = (
                b"".join(
                    bytes([n]) + b"a" * n
                    for n in (rng.choice((1, 3, 63, 64, 0xC0)) for _ in range(3))
                )
                + b"\x00"
            )
            body[6 : 6 + len(names)] = names[: len(body) - 6]
        options.append(bytes([kind, units]) + bytes(body))
    header = bytes([134, 0, 0, 0]) + bytes(rng.getrandbits(8) for _ in range(12))
    return header + b"".join(options)


_PROFILES = (
    Profile(),
    Profile(
        rdnss=("2001:db8:53::53",), dnssl=("lab.example",), ra_managed=False, ra_other=True,
        ra_max_interval=600.0,
    ),
)  # fmt: skip
_VALIDATORS: tuple[Callable[..., str | None], ...] = (
    ra_rules.hop_limit_ok, ra_rules.source_ok, ra_rules.hosts_discard,
)  # fmt: skip


def run_router_advert(data: bytes) -> str:
    """decode_router_advert never raises and never breaks on its own (internal); every rule
    judges what it decoded: a validator says None or one sentence, each judge_* one Judgement."""
    advert = decode_ra(data, source="fe80::1", hop_limit=255, at_ms=1.5)
    _is(advert, RouterAdvert, MalformedAdvert, what="decode_router_advert")
    if isinstance(advert, MalformedAdvert) and advert.internal:
        raise Broken(f"the decoder broke: {advert.reason}")
    for line in advert.lines():
        _one_line(line, "an advert's line")
    for check in _VALIDATORS:
        _verdict(check(advert), check.__name__)
    if isinstance(advert, RouterAdvert):
        _validate(advert)
    s = Solicitation("eth0", 1000.0, ("RS",), (advert,), link_mtu=1500, ipv6_mtu=1500)
    kept = ra_rules.kept_adverts(s)
    servers = announced_servers(kept)
    answers = {
        a.server: DnsResult(a.server, "udp", "www.example", "AAAA", None, (), (), 1.0, "timeout")
        for a in servers
    }
    for profile in _PROFILES:
        for judged in (
            ra_rules.judge_router_answers(s, default_gateways=("fe80::1",), profile=profile),
            ra_rules.judge_rdnss(s, kept, profile=profile),
            ra_rules.judge_rdnss_answers(s, kept, answers),
            ra_rules.judge_dnssl(s, kept, profile=profile),
            ra_rules.judge_prefix_information(s, kept, profile=profile),
        ):
            _is(judged, Judgement, what="a judge_* function")
    return "advert" if isinstance(advert, RouterAdvert) else "malformed"


def _verdict(said: object, what: str) -> None:
    if said is not None:
        _one_line(said, what)


def _validate(ra: RouterAdvert) -> None:
    for interval in (None, 4.0, 600.0, 65535.0):
        _verdict(ra_rules.router_lifetime_ok(ra, interval), "router_lifetime_ok")
        for r in ra.rdnss:
            _verdict(ra_rules.rdnss_lifetime_ok(r, interval), "rdnss_lifetime_ok")
        for d in ra.dnssl:
            _verdict(ra_rules.dnssl_lifetime_ok(d, interval), "dnssl_lifetime_ok")
    _verdict(ra_rules.max_interval_ok(ra), "max_interval_ok")
    _verdict(ra_rules.mtu_ok(ra, 1500, 1500), "mtu_ok")
    _verdict(ra_rules.managed_other_ok(ra, True, False), "managed_other_ok")
    for r in ra.rdnss:
        _verdict(ra_rules.rdnss_length_ok(r), "rdnss_length_ok")
        _verdict(ra_rules.rdnss_addresses_unicast(r), "rdnss_addresses_unicast")
    for d in ra.dnssl:
        _verdict(ra_rules.dnssl_encoding_ok(d), "dnssl_encoding_ok")
    for p in ra.prefixes:
        _verdict(ra_rules.prefix_lifetimes_ok(p), "prefix_lifetimes_ok")
        _verdict(ra_rules.prefix_flags_ok(p), "prefix_flags_ok")


# --- ICMPv6 messages and captured frames --------------------------------------------------

_TARGET = bytes.fromhex("20010db8000000010000000000000001")
_ECHO = struct.pack("!BBHHH", 128, 0, 0, 0x1234, 7) + b"v6conform"
_IP6 = (
    struct.pack("!IHBB", 0x60000000, len(_ECHO), 58, 64)
    + bytes.fromhex("fe80" + "00" * 13 + "02")
    + _TARGET
)
ICMP6_SEEDS = (
    _ECHO,
    struct.pack("!BBHHH", 129, 0, 0, 0x1234, 7),
    struct.pack("!BBHI", 135, 0, 0, 0) + _TARGET + b"\x01\x01" + _MAC,
    struct.pack("!BBHI", 136, 0, 0, 0xE0000000) + _TARGET + b"\x02\x01" + _MAC,
    struct.pack("!BBHI", 2, 0, 0, 1400) + _IP6 + _ECHO,
    struct.pack("!BBHI", 1, 4, 0, 0)
    + struct.pack("!IHBB", 0x60000000, 16, 44, 64) + bytes(16) + _TARGET
    + struct.pack("!BBHI", 58, 0, 0, 1) + _ECHO,
    struct.pack("!BBH", 143, 0, 0) + bytes(4),
)  # fmt: skip
_ETH = _MAC + _MAC + b"\x86\xdd"
_TO_TARGET = bytes.fromhex("fe80" + "00" * 13 + "01") + _TARGET
CAPTURE_SEEDS = (
    *(
        _ETH + struct.pack("!IHBB", 0x60000000, len(m), 58, 255) + _TO_TARGET + m
        for m in ICMP6_SEEDS
    ),
    _ETH + struct.pack("!IHBB", 0x60000000, 8, 0, 1) + bytes(32) + bytes(8),  # not ICMPv6
    _MAC * 2 + b"\x08\x00",  # IPv4
)
ICMP6_TOKENS = (
    b"\x00", b"\xff", b"\x86\xdd", b"\x60", b"\x2c", b"\x3a", b"\x80", b"\x81", b"\x87",
    b"\x88", b"\x02", b"\x01\x00", b"\x01\x01", b"\xff\xff", bytes(8),
)  # fmt: skip


def run_icmp6(data: bytes) -> str:
    """icmp6.decode returns one of its messages or raises MalformedPacket, nothing else."""
    try:
        message = icmp6.decode(data)
    except MalformedPacket as exc:
        _one_line(exc.reason, "MalformedPacket")
        return "malformed"
    _is(message, *icmp6.Message.__args__, what="icmp6.decode")
    if isinstance(message, icmp6.Icmp6Error):
        _one_line(message.describe(), "Icmp6Error.describe")
    return type(message).__name__


def run_capture(data: bytes) -> str:
    """decode_frame returns a Frame (its line printable) or None, or raises MalformedPacket."""
    try:
        frame = capture.decode_frame(data, outgoing=False, at=1.0)
    except MalformedPacket as exc:
        _one_line(exc.reason, "MalformedPacket")
        return "malformed"
    if frame is None:
        return "not ICMPv6"
    _is(frame, capture.Frame, what="decode_frame")
    _one_line(frame.describe(since=0.5), "Frame.describe")
    return "frame"


# --- DNS replies (the corpus of bench.dns_corpus) -----------------------------------------

_DNS_CASES = dns_cases()
DNS_SEEDS = tuple(bytes([i]) + seed for i, case in enumerate(_DNS_CASES) for seed in case.seeds)
_DNS_INDEX = {case.query.to_wire(): i for i, case in enumerate(_DNS_CASES)}


def dns_stream(rng: random.Random) -> Iterator[bytes]:
    """bench.dns_corpus's fuzz inputs (each sound reply cut at every offset, random and mutated
    replies, lying counts, looping pointers), the case's index first."""
    for case, data in fuzz_inputs(rng):
        yield bytes([_DNS_INDEX[case.query.to_wire()]]) + data


DNS_TOKENS = (
    b"\x00",
    b"\xff",
    b"\xc0\x0c",
    b"\xc0\xff",
    b"\x00\x1c",
    b"\x00\x29",
    b"\x3f",
    b"\x00\x01",
)


def run_dns(data: bytes) -> str:
    """read_reply never raises and never breaks on its own (internal). The first octet picks
    the query the reply claims to answer (the rest is the reply)."""
    if not data:
        return "empty"
    case = _DNS_CASES[data[0] % len(_DNS_CASES)]
    reading = dnsprobe.read_reply(case.query, data[1:], case.rdtype)
    _is(reading, dnsprobe.Reading, what="read_reply")
    if reading.internal:
        raise Broken(f"the decoder broke: {reading.error}")
    if reading.error is not None:
        _one_line(reading.error, "a reading's error")
    return "parsed" if reading.rcode is not None else "malformed" if reading.malformed else "other"


# --- resolv.conf --------------------------------------------------------------------------

RESOLV_SEEDS = (
    b"nameserver 2001:db8:53::53\nnameserver 192.0.2.53\nsearch lab.example example.com\n"
    b"options ndots:2 timeout:1 attempts:3 edns0 rotate\n",
    b"# Generated by Docker Engine.\n# This file can be edited; Docker Engine will not make"
    b" further changes once it\n# has been modified.\n\nnameserver 127.0.0.11\nsearch .\n"
    b"options ndots:0\n\n# Based on host file: '/etc/resolv.conf' (internal resolver)\n"
    b"# ExtServers: [host(2001:db8:53::53) 192.0.2.53]\n# Overrides: []\n# Option ndots from:"
    b" internal\n",
    b"nameserver fe80::1%eth0\r\nnameserver ::1\r\ndomain example.com\r\nnameserver 0x7f.1\r\n"
    b"nameserver 8.8.8.8\r\noptions inet6 timeout:x ndots:99 no-aaaa\r\n",
    b"  nameserver 192.0.2.1\nNAMESERVER 192.0.2.2\n;comment\n"
    b"sortlist 130.155.160.0/255.255.240.0\n",
)
RESOLV_TOKENS = (
    b"nameserver ", b"search ", b"domain ", b"options ", b"ndots:", b"timeout:", b"attempts:",
    b"\r\n", b"\n", b"\x00", b"\t", b"fe80::1%eth0", b"127.0.0.11", b"# ExtServers: [host(",
    b"0x7f.1", b"\xc3\xa9", b"\xff", b"9" * 30, b"%", b"::ffff:192.0.2.1", b"#", b";",
)  # fmt: skip


def run_resolv_conf(data: bytes) -> str:
    """parse_resolv_conf never raises, and its own bug would be ``unread``: never, here."""
    conf = parse_resolv_conf(data, source="/etc/resolv.conf")
    _is(conf, ResolvConf, what="parse_resolv_conf")
    if conf.unread is not None:
        raise Broken(conf.unread)
    for p in conf.problems:
        _one_line(p.reason, "a resolv.conf problem")
        _is(p.text, str, what="a problem's line")
    return "problems" if conf.problems else "clean"


# --- the in-container resolver's report ---------------------------------------------------


def _b64(text: bytes) -> bytes:
    return base64.b64encode(text)


REPORT_SEEDS = (
    b"v6conform-resolver\nresolv " + _b64(RESOLV_SEEDS[0]) + b"\nroute6 "
    + _b64(b"2001:db8:1::/64 dev eth0 metric 256\ndefault via fe80::1 dev eth0 metric 1024\n")
    + b"\nlookup 0 1234.50 1234.61 1 "
    + _b64(b"PING www.example (2001:db8::80): 65535 data bytes\nping: sendto: Message too long\n")
    + b"\nlookup 1 1234.50 1236.51 137 \nserver 0 1234.50 1234.55 0 " + _b64(b"2001:db8:53::53")
    + b" " + _b64(b"Server:\t\t2001:db8:53::53\nName:\twww.example\nAddress: 2001:db8::80\n")
    + b"\nserver 1 1234.5 1236.6 1 " + _b64(b"192.0.2.53") + b" "
    + _b64(b"nslookup: can't connect to remote host: Network unreachable\n") + b"\ndone\n",
    b"v6conform-resolver\nresolv " + _b64(RESOLV_SEEDS[2]) + b"\nroute6 \nserver 0 1 2 1 "
    + _b64(b"fe80::1%eth0") + b" " + _b64(b"** server can't find www.example: NXDOMAIN\n")
    + b"\ndone\n",
)  # fmt: skip
REPORT_TOKENS = (
    b"resolv ", b"route6 ", b"lookup 0 ", b"server 0 ", b"done\n", b"v6conform-resolver\n",
    b" 137 ", b" 143 ", b"\n", b" ", b"nan ", b"inf ", b"-1e308 ", b"==", _b64(b"\xff\x00\x1b"),
    b"99999999999999999999 ",
)  # fmt: skip


def run_resolver_report(data: bytes) -> str:
    """parse_report reads anything; only a resolv.conf its parser broke on is a ProbeError."""
    text = data.decode("utf-8", errors="replace")  # as the probe decodes the script's output
    names = ("www.example", "ipv4only.arpa")
    report = resolver.parse_report(
        text, where="container x", names=names, family="IPv6", deadline=2.0
    )
    _is(report, resolver.ResolverReport, what="parse_report")
    for line in report.lines():
        _is(line, str, what="a report's line")
    resolver.framing_problem(text)
    return "complete" if report.complete else "cut short"


# --- target profiles ----------------------------------------------------------------------

PROFILE_SEEDS = (
    b'anchors = ["2001:db8:ff::1", "2001:db8:ff::2"]\nnameservers = ["2001:db8:53::53"]\n'
    b'rdnss = ["2001:db8:53::53"]\ndnssl = ["lab.example"]\ntimeout = 1.5\ndad_timeout = 3\n'
    b'ra_max_interval = 600\nra_managed = false\nipv6_mode = { v6net = "routed", "*" = "nat" }\n'
    b'\n[[names]]\nname = "www.lab.example"\naaaa = ["2001:db8:80::80"]\na = ["192.0.2.80"]\n'
    b'\n[[endpoints]]\nname = "www.lab.example"\nscheme = "https"\npath = "/health"\n',
    b"# a plain host\ntimeout = 2\nbuild_timeout = 120.0\ndns64 = true\n"
    b'ipv4_only = ["ipv4.lab.example"]\nipv6_mode = "any"\nlink_local_gateway = "fe80::1"\n',
    b'names = [{ name = "a.example", dual_stack = true }, { name = "b" }]\n'
    b'endpoints = [{ name = "svc", scheme = "tcp", port = 5432 }]\n'
    b'ipv6_mode.v6net = "nat"\nfar_end_namespace = "lab-inet"\n',
)
PROFILE_TOKENS = (
    b"inf", b"nan", b"-0.0", b"1e400", b"9" * 30, b"9" * 4400, b"[", b"]", b"{", b"}", b"=",
    b".", b'"', b"'''", b'"""', b"\n[[names]]\n", b"\n[[endpoints]]\n", b"timeout", b"ipv6_mode",
    b"0x10", b"true", b"1979-05-27T07:32:00Z", b"\\u0000", b"\n", b"#", b"\xff", b".a" * 40,
)  # fmt: skip


_PROFILE_KEYS = (
    "anchors", "nameservers", "rdnss", "dnssl", "ipv4_only", "timeout", "dad_timeout",
    "resolve_threshold", "build_timeout", "ra_max_interval", "dns64", "ra_managed", "ra_other",
    "link_local_gateway", "default_gateway_v6", "far_end_namespace", "ipv6_mode", "names",
    "endpoints", "anchorz", "a", "name", "port", "scheme", "path", "aaaa", "dual_stack", "*",
)  # fmt: skip
_PROFILE_VALUES: tuple[Any, ...] = (
    0, -1, 1, 4, 3600, 3601, 65535, 65536, 2**63 - 1, 1.5, float("inf"), float("-inf"),
    float("nan"), 1e308, -0.0, 5e-324, True, "", "routed", "nat", "any", "2001:db8::1",
    "fe80::1%eth0", "192.0.2.1", "x" * 300, "a b", "/p", "tcp", "https", "\x00", "\u00e9",
)  # fmt: skip


def _toml_value(rng: random.Random, depth: int) -> str:
    pick = rng.random()
    if depth < 4 and pick < 0.15:
        return "[" + ", ".join(_toml_value(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    if depth < 4 and pick < 0.3:
        keys = rng.sample(_PROFILE_KEYS, rng.randrange(4))
        return "{" + ", ".join(f'"{k}" = {_toml_value(rng, depth + 1)}' for k in keys) + "}"
    value = rng.choice(_PROFILE_VALUES)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)  # inf, nan: TOML's words too


def profile_structured(rng: random.Random) -> bytes:
    """A profile of known (and some unknown) keys with values of every type and size."""
    lines = [f'"{k}" = {_toml_value(rng, 0)}' for k in rng.sample(_PROFILE_KEYS, rng.randrange(6))]
    for table in rng.sample(("names", "endpoints"), rng.randrange(3)):
        for _ in range(rng.randrange(3)):
            lines.append(f"[[{table}]]")
            keys = rng.sample(_PROFILE_KEYS[-9:], rng.randrange(5))
            lines += [f'"{k}" = {_toml_value(rng, 1)}' for k in keys]
    return "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"


class ProfileFile:
    """One scratch file the profile target writes each input to: load_profile reads a path."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="v6conform-fuzz-")
        self.path = Path(self.dir.name) / "profile.toml"


_scratch: ProfileFile | None = None


def _scratch_dir() -> ProfileFile:
    global _scratch  # one per process, removed at exit (TemporaryDirectory's finalizer)
    if _scratch is None:
        _scratch = ProfileFile()
    return _scratch


def run_profile(data: bytes) -> str:
    """load_profile gives a Profile or raises ProfileError with one line; nothing else."""
    path = _scratch_dir().path
    path.write_bytes(data)
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        _one_line(str(exc), "ProfileError")
        if not str(exc).startswith(str(path)):
            raise Broken(f"ProfileError without the file: {exc}") from exc
        return "refused"
    _is(profile, Profile, what="load_profile")
    for seconds in (profile.timeout, profile.dad_timeout, profile.build_timeout):
        if not 0 < seconds <= 3600:
            raise Broken(f"a profile with a timing of {seconds} s was taken")
    return "profile"


# --- results.json as the fleet merge reads it ---------------------------------------------


def _item(check: str, outcome: str) -> dict[str, Any]:
    diagnoses = [
        {"summary": f"{check} broke", "fix": "fix it", "evidence": ["seen: [2001:db8::1]:80"]}
    ]
    return {
        "nodeid": f"suites/t.py::test_{check}[v6net]", "check": check,
        "title": f"{check} something [v6net/2001:db8::1]", "where": "v6net",
        "detail": "2001:db8::1", "outcome": outcome, "duration_s": 0.01, "message": "",
        "diagnoses": diagnoses if outcome == "failed" else [],
    }  # fmt: skip


_RESULTS = {
    "format": 1, "properties": {"host": "web1.example.com", "target": "local"},
    "exit_status": 1, "harness_failures": ["RA-01: nsenter failed"],
    "items": [_item("GW-01", "passed"), _item("RT-02", "failed"), _item("DNS-04", "skipped")],
    "causes": [{"line": "RT-02 v6net: ip6tables FORWARD drops"}],
}  # fmt: skip
RESULTS_SEEDS = (json.dumps(_RESULTS).encode(), json.dumps(_RESULTS, indent=1).encode())
RESULTS_TOKENS = (
    b"{", b"}", b"[", b"]", b"null", b"1e999", b"-1", b'"\\ud800"', b"true", b'"format": 1,',
    b'"\\u001b[31m"', b'"RT-\xc2\xb2"', b"[" * 50, b'"items": [{}],', b"0.5", b'"\\u0000"',
)  # fmt: skip
_JUNK: tuple[Any, ...] = (
    None, 0, -1, 1e308, 2**70, "x", "\udcff", "RT-\u00b2", "\x1b[2J", [], {}, True, "\x00",
    "<script>", "\ufffe", [[[[]]]], {"summary": 1},
)  # fmt: skip


def _mutate_json(rng: random.Random, value: Any, depth: int = 0) -> Any:
    if rng.random() < 0.12:
        return rng.choice(_JUNK)
    if isinstance(value, dict) and depth < 6:
        return {
            k: _mutate_json(rng, v, depth + 1) if rng.random() < 0.4 else v
            for k, v in value.items()
        }
    if isinstance(value, list) and depth < 6:
        return [_mutate_json(rng, v, depth + 1) for v in value]
    return value


def results_structured(rng: random.Random) -> bytes:
    """A results file whose values were swapped for junk (types, texts, numbers)."""
    return json.dumps(_mutate_json(rng, _RESULTS)).encode("utf-8", "surrogatepass")


def run_results(data: bytes) -> str:
    """merge.load gives a HostResult (checked, or not with the reason), never an exception; and
    what it read merges: junit.xml and report.html written, the exit status 0, 1 or 3."""
    scratch = _scratch_dir()
    path = Path(scratch.dir.name) / "host" / "results.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    host = fleet.load(path)
    _is(host, fleet.HostResult, what="merge.load")
    status, _ = fleet.merge([path], Path(scratch.dir.name) / "out", names=["host"])
    if status not in (0, 1, 3):
        raise Broken(f"merge exited {status}")
    return "checked" if host.checked else "not checked"


# --- workload selectors (--containers) ----------------------------------------------------

SELECTOR_SEEDS = (
    b"all", b"none", b"web,db", b"/web, 3f2a", b"label=com.example.tier=front", b"label=tier",
    b"compose=shop", b"",
)  # fmt: skip
SELECTOR_TOKENS = (
    b"all", b"none", b"label=", b"compose=", b",", b"=", b"/", b" ", b"\t", b"\n", b"\x00",
)  # fmt: skip


def run_selector(data: bytes) -> str:
    """parse_selector gives a Selector or raises SelectorError (its one line); nothing else."""
    text = data.decode("utf-8", errors="surrogateescape")  # as argv comes to Python
    try:
        selector = workloads.parse_selector(text)
    except workloads.SelectorError as exc:
        _is(str(exc), str, what="SelectorError")
        return "refused"
    _is(selector, workloads.Selector, what="parse_selector")
    _is(selector.describe(), str, what="Selector.describe")
    selector.label_filter()
    selector.matches("web", "3f2a9c")
    return selector.kind


TARGETS: tuple[Target, ...] = (
    Target("router advert", RA_SEEDS, run_router_advert, RA_TOKENS, ra_structured),
    Target("icmp6 message", ICMP6_SEEDS, run_icmp6, ICMP6_TOKENS),
    Target("captured frame", CAPTURE_SEEDS, run_capture, ICMP6_TOKENS),
    Target("dns reply", DNS_SEEDS, run_dns, DNS_TOKENS, stream=dns_stream),
    Target("resolv.conf", RESOLV_SEEDS, run_resolv_conf, RESOLV_TOKENS),
    Target("resolver report", REPORT_SEEDS, run_resolver_report, REPORT_TOKENS),
    Target("profile", PROFILE_SEEDS, run_profile, PROFILE_TOKENS, profile_structured),
    Target("results.json", RESULTS_SEEDS, run_results, RESULTS_TOKENS, results_structured),
    Target("selector", SELECTOR_SEEDS, run_selector, SELECTOR_TOKENS),
)
BY_NAME = {t.name: t for t in TARGETS}
