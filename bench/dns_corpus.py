"""The DNS probe's fuzz corpus: queries as the probe makes them, sound replies to each, and
random and mutated replies made from those (seeded: the same inputs every run). Used by
tests/unit/test_dns_fuzz.py (never raises) and bench/fuzz_dns.py (the figures)."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rrset

FUZZ_SEED = 20_250_106


@dataclass(frozen=True, slots=True)
class Case:
    """One query as the probe makes it, and sound replies to it (the seeds of the mutations)."""

    query: dns.message.Message
    rdtype: str
    seeds: tuple[bytes, ...]


def _query(qname: str, rdtype: str) -> dns.message.Message:
    q = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)  # as dnsprobe.query
    q.id = sum(qname.encode()) * 7 % 65536  # its own random id would make the run unrepeatable
    return q


def _reply(
    q: dns.message.Message,
    *sections: tuple[str, str, str, str],
    rcode: int = dns.rcode.NOERROR,
    flags: int = 0,
) -> bytes:
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    r.flags |= flags
    for section, name, rdtype, text in sections:
        getattr(r, section).append(dns.rrset.from_text(name, 300, "IN", rdtype, text))
    return r.to_wire()


def cases() -> list[Case]:
    www = _query("www.example.com", "AAAA")
    a = _query("www.example.com", "A")
    root = _query(".", "NS")
    nat64 = _query("ipv4only.arpa", "AAAA")
    cookie = _query("www.example.com", "AAAA")
    soa = ("authority", "example.com.", "SOA", "ns.example.com. h.example.com. 1 7200 900 9 60")
    with_cookie = dns.message.make_response(cookie)
    with_cookie.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(10, bytes(24))])
    with_cookie.answer.append(
        dns.rrset.from_text("www.example.com.", 60, "IN", "AAAA", "2001:db8::80")
    )
    return [
        Case(
            www,
            "AAAA",
            (
                _reply(www, ("answer", "www.example.com.", "AAAA", "2001:db8::80")),
                _reply(
                    www,
                    ("answer", "www.example.com.", "CNAME", "web.example.com."),
                    ("answer", "web.example.com.", "AAAA", "2001:db8::81"),
                    ("answer", "web.example.com.", "AAAA", "2001:db8::82"),
                ),
                _reply(www, soa, rcode=dns.rcode.NXDOMAIN),
                _reply(www, flags=dns.flags.TC),
                _reply(www, rcode=dns.rcode.SERVFAIL),
                _reply(
                    www,
                    *(
                        ("answer", "www.example.com.", "AAAA", f"2001:db8::{n:x}")
                        for n in range(1, 40)
                    ),
                ),
            ),
        ),
        Case(
            a,
            "A",
            (
                _reply(a, ("answer", "www.example.com.", "A", "192.0.2.80")),
                _reply(a, ("answer", "www.example.com.", "TXT", '"v=spf1 -all" "x"'), soa),
            ),
        ),
        Case(
            root,
            "NS",
            (
                _reply(
                    root,
                    ("answer", ".", "NS", "a.root-servers.net."),
                    ("answer", ".", "NS", "b.root-servers.net."),
                    ("additional", "a.root-servers.net.", "AAAA", "2001:503:ba3e::2:30"),
                    ("additional", "a.root-servers.net.", "A", "198.41.0.4"),
                ),
            ),
        ),
        Case(
            nat64,
            "AAAA",
            (
                _reply(
                    nat64,
                    ("answer", "ipv4only.arpa.", "AAAA", "64:ff9b::c000:aa"),
                    ("answer", "ipv4only.arpa.", "AAAA", "64:ff9b::c000:ab"),
                ),
            ),
        ),
        Case(cookie, "AAAA", (with_cookie.to_wire(),)),
    ]


def _name(rng: random.Random, *, sound: bool = False) -> bytes:
    """A wire name, mostly sound, now and then broken in one of the ways that matter."""
    out = b"".join(
        bytes([n]) + rng.randbytes(n)
        for n in (rng.choice((1, 3, 7, 63)) for _ in range(rng.randint(0, 4)))
    )
    match rng.randrange(3, 8) if sound else rng.randrange(8):
        case 0:
            return out + bytes([0xC0 | rng.randrange(64), rng.randrange(256)])  # any pointer
        case 1:
            return out + bytes([rng.randrange(64, 192)])  # extended / reserved label types
        case 2:
            return out  # no terminating label
        case 3:
            return out + b"\xc0\x0c"  # the question's name
        case _:
            return out + b"\x00"


def _sound_rdata(rng: random.Random, rdtype: int) -> bytes:
    """Rdata that is what its type says, for the types a resolver's answer holds."""
    match rdtype:
        case 1:
            return rng.randbytes(4)
        case 28:
            return rng.randbytes(16)
        case 2 | 5 | 12:
            return _name(rng, sound=True)
        case 15:
            return rng.randbytes(2) + _name(rng, sound=True)
        case 16:
            return b"".join(bytes([n]) + rng.randbytes(n) for n in (rng.randrange(40), 0, 255))
        case _:  # a type we do not know is opaque data: any bytes are sound
            return rng.randbytes(rng.randrange(64))


def _record(rng: random.Random, *, sound: bool) -> bytes:
    if sound or rng.random() < 0.5:  # a sound record of a common type, or of one nobody knows
        rdtype = rng.choice((1, 28, 28, 28, 2, 5, 12, 15, 16, 65280, 65281))
        data = _sound_rdata(rng, rdtype)
        header = struct.pack("!HHIH", rdtype, 1, rng.randrange(1 << 31), len(data))
        return _name(rng, sound=True) + header + data
    rdtype = rng.choice((1, 28, 28, 5, 2, 6, 15, 16, 33, 41, 43, 46, 47, 50, 64, 65, 250, 255))
    rdtype = rdtype if rng.random() < 0.9 else rng.randrange(65536)
    rdata = {1: 4, 28: 16}.get(rdtype)
    data = rng.randbytes(rdata if rdata and rng.random() < 0.7 else rng.randrange(48))
    if rdtype in (2, 5, 6, 15, 33, 47) and rng.random() < 0.6:
        data = (rng.randbytes(2) if rdtype in (15, 33) else b"") + _name(rng) + data[:8]
    rdlength = len(data) if rng.random() < 0.9 else rng.randrange(65536)
    rdclass = rng.choice((1, 1, 1, 3, 254, 255, rng.randrange(65536)))
    return (
        _name(rng) + struct.pack("!HHIH", rdtype, rdclass, rng.randrange(1 << 32), rdlength) + data
    )


def _offsets_of_names(seed: bytes) -> list[int]:
    """Where a label length or pointer octet sits: the question's name starts at 12."""
    return [12, *(i for i in range(13, len(seed) - 1) if seed[i] in (0xC0, 3, 7, 11, 12))]


def fuzz_inputs(rng: random.Random) -> Iterator[tuple[Case, bytes]]:
    """At least FUZZ_INPUTS replies, each with the query it claims to answer."""
    every = cases()
    pairs = [(case, seed) for case in every for seed in case.seeds]
    for case, seed in pairs:  # each sound reply, and each cut short at every offset
        for end in range(len(seed) + 1):
            yield case, seed[:end]
    for _ in range(1_500):  # random bytes, most with a header that could be this reply's
        case = rng.choice(every)
        data = rng.randbytes(rng.randrange(600))
        if rng.random() < 0.7 and len(data) >= 4:
            data = struct.pack("!HH", case.query.id, 0x8000 | rng.randrange(0x8000)) + data[4:]
        yield case, data
    for _ in range(2_000):  # bytes flipped, anywhere
        case, seed = rng.choice(pairs)
        flipped = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        yield case, bytes(flipped)
    for _ in range(800):  # section counts that lie, up to 65535
        case, seed = rng.choice(pairs)
        lying = bytearray(seed)
        at = rng.choice((4, 6, 8, 10))
        lying[at : at + 2] = struct.pack(
            "!H", rng.choice((0, 1, 2, 255, 65535, rng.randrange(65536)))
        )
        yield case, bytes(lying)
    for _ in range(800):  # compression pointers: to themselves, forward, into a loop, anywhere
        case, seed = rng.choice(pairs)
        looping = bytearray(seed)
        at = rng.choice(_offsets_of_names(seed))
        target = rng.choice((at, at + 2, 12, len(seed), rng.randrange(1 << 14)))
        looping[at : at + 2] = struct.pack("!H", 0xC000 | (target & 0x3FFF))
        yield case, bytes(looping)
    for _ in range(500):  # a label length beyond 63, or into what follows
        case, seed = rng.choice(pairs)
        longer = bytearray(seed)
        longer[rng.choice(_offsets_of_names(seed))] = rng.choice((64, 127, 191, 255, 63, 0))
        yield case, bytes(longer)
    for _ in range(500):  # junk after the message
        case, seed = rng.choice(pairs)
        yield case, seed + rng.randbytes(rng.randint(1, 64))
    for _ in range(2_200):  # sound header and question, random records
        case = rng.choice(every)
        question = case.query.to_wire()[12:]
        question = question[: question.index(b"\x00\x00\x29")]  # without the query's OPT
        sound = rng.random() < 0.5
        records = [_record(rng, sound=sound) for _ in range(rng.randint(0, 6))]
        counts = _split(rng, len(records))
        flags = 0x8000 | (rng.randrange(0x8000) if rng.random() < 0.3 else 0x0180)
        header = struct.pack("!HHHHHH", case.query.id, flags, 1, *counts)
        yield case, header + question + b"".join(records)


def _split(rng: random.Random, n: int) -> tuple[int, int, int]:
    a = rng.randint(0, n)
    b = rng.randint(0, n - a)
    return a, b, n - a - b
