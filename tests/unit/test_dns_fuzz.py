"""The DNS probe's reply handling, fuzzed: random and mutated replies, fed as bytes to what parses
and judges them (:func:`probes.dns.read_reply`), never raise; a reply that cannot be read comes
back as a "malformed reply" with the reason. No sockets: the function is called on bytes.

``bench/fuzz_dns.py`` runs the same inputs and prints the figures.
"""

from __future__ import annotations

import random
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from bench.dns_corpus import FUZZ_SEED, Case, cases, fuzz_inputs
from probes import dns as dnsprobe
from probes.errors import ProbeError
from probes.netns import Netns

FUZZ_INPUTS = 10_000
FUZZ_BUDGET_S = 60.0  # bounded, not fast: the whole loop, on a slow 2-core machine
SLOWEST_INPUT_S = 1.0
MISMATCH = "reply does not match the query (id or question)"


def judge(case: Case, data: bytes) -> dnsprobe.Reading:
    """What the probe makes of one reply, down to the lines the reports print."""
    reading = dnsprobe.read_reply(case.query, data, case.rdtype)
    result = dnsprobe.DnsResult(
        "2001:db8:53::53",
        "udp",
        str(case.query.question[0].name),
        case.rdtype,
        reading.rcode,
        reading.answer,
        reading.addresses,
        1.0,
        reading.error,
        reading.truncated,
    )
    assert all(isinstance(line, str) for line in result.lines())
    return reading


def test_sound_replies_are_read() -> None:
    for case in cases():
        for seed in case.seeds:
            reading = judge(case, seed)
            assert reading.rcode in ("NOERROR", "NXDOMAIN", "SERVFAIL"), reading
            assert reading.error is None


def test_a_cut_reply_is_malformed_with_the_reason() -> None:
    case = cases()[0]
    reading = judge(case, case.seeds[0][:20])
    assert reading.rcode is None
    assert reading.malformed
    assert reading.error is not None
    assert reading.error.startswith(f"{dnsprobe.MALFORMED} (20 bytes): ")
    assert not reading.internal
    other = judge(cases()[1], case.seeds[0])  # a sound reply, to another query
    assert other.error == MISMATCH


def test_fuzz_never_raises() -> None:
    rng = random.Random(FUZZ_SEED)
    count = slowest = 0
    kinds = {"parsed": 0, "malformed": 0, "mismatched": 0}
    started = time.monotonic()
    for case, data in fuzz_inputs(rng):
        before = time.monotonic()
        reading = judge(case, data)
        slowest = max(slowest, time.monotonic() - before)
        count += 1
        assert not reading.internal, reading.error
        if reading.rcode is not None:
            assert reading.error is None
            assert all(isinstance(a, str) for a in reading.addresses)
            kinds["parsed"] += 1
        elif reading.malformed:
            assert reading.error is not None
            assert "\n" not in reading.error
            assert reading.error.startswith(f"{dnsprobe.MALFORMED} ({len(data)} bytes): ")
            assert len(reading.error) > len(f"{dnsprobe.MALFORMED} ({len(data)} bytes): ")
            kinds["malformed"] += 1
        else:
            assert reading.error == MISMATCH
            kinds["mismatched"] += 1
    elapsed = time.monotonic() - started
    assert count >= FUZZ_INPUTS
    assert kinds["parsed"] > 1_200  # every path exercised
    assert kinds["malformed"] > 5_000
    assert kinds["mismatched"] > 200
    assert elapsed < FUZZ_BUDGET_S, f"{count} inputs took {elapsed:.1f} s"
    assert slowest < SLOWEST_INPUT_S, f"slowest input took {slowest:.3f} s"


def test_a_decoder_that_breaks_is_malformed_and_said_to_be_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("rdtype 65280")

    monkeypatch.setattr(dns.message, "from_wire", broken)
    case = cases()[0]
    reading = dnsprobe.read_reply(case.query, case.seeds[0], "AAAA")
    assert reading.rcode is None
    assert reading.malformed
    assert reading.internal
    assert f"({len(case.seeds[0])} bytes): internal decoder error: KeyError" in (
        reading.error or ""
    )


async def test_the_probe_calls_its_own_breakage_a_harness_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over loopback: a reply the decoder breaks on is no verdict on the server."""
    from tests.unit.test_dns_probe import answer, serve

    def broken(query: dns.message.Message, data: bytes, rdtype: str) -> dnsprobe.Reading:
        raise KeyError("boom")

    monkeypatch.setattr(dnsprobe, "_read", broken)
    async for port in serve(answer()):
        monkeypatch.setattr(dnsprobe, "PORT", port)
        with pytest.raises(ProbeError, match=r"malformed reply \(\d+ bytes\): internal decoder"):
            await dnsprobe.query(Netns(), "::1", "www.example", transport="tcp", timeout=1.0)
