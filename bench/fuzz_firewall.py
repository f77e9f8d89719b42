"""The firewall's two readers as fuzz targets for bench/fuzz_all.py: ``ip6tables-save`` dumps and
``nft -j list ruleset`` JSON, from bench/firewall_corpus.py's inputs (mutated saved dumps and
random ones), each read and then judged as the suites judge it (RT-04's walk, the NAT search).
``FirewallUnreadable`` is the contract's refusal; any other exception is a crash."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.firewall_corpus import fuzz_inputs
from bench.fuzz_targets import Broken, Target
from probes.firewall import (
    FirewallUnreadable,
    assess_forward,
    find_masquerade,
    parse_ip6tables_save,
    parse_nft_json,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data"
SUBNET = "2001:db8:1::/64"
_BATCH = 500  # inputs drawn from the corpus at a time


def _saved(pattern: str) -> tuple[str, ...]:
    return tuple(p.read_text() for p in sorted(DATA.glob(pattern)))


SAVES = _saved("*/*ip6tables-save*.txt")
NFTS = _saved("*/*.nft.json")


def _stream(reader: str) -> Callable[[random.Random], Iterator[bytes]]:
    def stream(rng: random.Random) -> Iterator[bytes]:
        for which, text in fuzz_inputs(rng, SAVES, NFTS, 2 * _BATCH):
            if which == reader:
                yield text.encode("utf-8", "surrogatepass")

    return stream


def _judge(data: bytes, parse: Callable[[str], object]) -> str:
    text = data.decode("utf-8", "replace")
    try:
        read = parse(text)
        found = assess_forward(read, subnets=[SUBNET], bridges=["br-v6net"], uplink=None)  # type: ignore[arg-type]
        find_masquerade(read, subnet=SUBNET, bridge="br-v6net")  # type: ignore[arg-type]
    except FirewallUnreadable as exc:
        if not exc.reason or "\n" in str(exc):
            raise Broken(f"FirewallUnreadable of no one line: {str(exc)!r:.120}") from exc
        return "unreadable"
    return "doubtful" if found.doubtful else "judged"


def run_ip6tables_save(data: bytes) -> str:
    return _judge(data, parse_ip6tables_save)


def run_nft_json(data: bytes) -> str:
    return _judge(data, parse_nft_json)


FIREWALL_TARGETS: tuple[Target, ...] = (
    Target(
        "ip6tables-save",
        tuple(s.encode() for s in SAVES),
        run_ip6tables_save,
        (b"-A FORWARD ", b" -j ", b"DROP", b"COMMIT\n", b"*filter\n", b"!", b'"', b"\\"),
        stream=_stream("ip6tables-save"),
    ),
    Target(
        "nft json",
        tuple(s.encode() for s in NFTS),
        run_nft_json,
        (b"{", b"}", b"[", b"]", b'"@', b'"jump"', b'"drop"', b"null", b"\\ud800"),
        stream=_stream("nft"),
    ),
)
