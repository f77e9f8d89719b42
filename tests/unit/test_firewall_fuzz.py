"""Both firewall readers, fuzzed: seeded mutations of the saved dumps and dumps of random tokens
(bench.firewall_corpus) are read and judged; each is either judged or FirewallUnreadable naming
its line (ip6tables-save) or its object (nft -j), never another exception or a hang.
``bench/firewall_scale.py --fuzz`` runs many more."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from bench.firewall_corpus import FUZZ_SEED, fuzz_inputs
from probes.firewall import (
    FirewallUnreadable,
    _ip6tables,
    _nft,
    assess_forward,
    find_masquerade,
    parse_ip6tables_save,
    parse_nft_json,
)

DATA = Path(__file__).parent / "data"
SAVES = [p.read_text() for p in sorted(DATA.glob("*/*ip6tables-save*.txt"))]
NFTS = [p.read_text() for p in sorted(DATA.glob("*/*.nft.json"))] + [
    (DATA / "firewall" / "native.nft.json").read_text()
]
INPUTS = 500  # per reader
SLOWEST_INPUT_S = 1.0


def judged(reader: str, text: str) -> None:
    parsed = parse_ip6tables_save(text) if reader == "ip6tables-save" else parse_nft_json(text)
    assess_forward(parsed, subnets=["2001:db8:1::/64"], bridges=["docker0"], uplink=None)
    assess_forward(
        parsed, subnets=["fd00::/64"], bridges=["br-x"], uplink="eth0", destinations=["2001:db8::1"]
    )
    find_masquerade(parsed, subnet="2001:db8:1::/64", bridge="docker0")


@pytest.mark.parametrize("reader", ["ip6tables-save", "nft"])
def test_malformed_dumps_are_judged_or_unreadable(reader: str) -> None:
    rng = random.Random(f"{FUZZ_SEED}-{reader}")
    unreadable = slowest = 0.0
    reasons: list[str] = []
    for kind, text in fuzz_inputs(rng, SAVES, NFTS, 2 * INPUTS):
        if kind != reader:
            continue
        started = time.perf_counter()
        try:
            judged(reader, text)
        except FirewallUnreadable as exc:
            unreadable += 1
            reasons.append(exc.reason)
        slowest = max(slowest, time.perf_counter() - started)
    named = r"line \d+" if reader == "ip6tables-save" else r"nftables\[\d+\]|table"
    assert [r for r in reasons if "cannot read" in r and not re.search(named, r)] == []
    assert slowest < SLOWEST_INPUT_S
    assert unreadable < INPUTS  # most are read, with their odd lines or objects as problems


def test_what_crashed_the_readers_is_read() -> None:
    port = "*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp --dport ² -j DROP\nCOMMIT\n"
    read = parse_ip6tables_save(port)  # "²" is a digit to str.isdigit, not to int()
    assert read.filter is not None
    assert "dport ²" in read.filter.chains["FORWARD"].rules[0].matches[1].why_unknown()
    own = {"family": "inet", "table": "t", "name": "own", "elem": ["@own"]}  # names itself
    rule = {"family": "inet", "table": "t", "chain": "fw", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}},
                   "right": "@own"}}, {"drop": None}]}  # fmt: skip
    chain = {"family": "inet", "table": "t", "name": "fw", "hook": "forward", "type": "filter"}
    items = [{"table": {"family": "inet", "name": "t"}}, {"set": own}, {"chain": chain}]
    nft = parse_nft_json(json.dumps({"nftables": [*items, {"rule": rule}]}))
    found = assess_forward(nft, subnets=["2001:db8:1::/64"], bridges=["d0"], uplink=None)
    assert found.drops == ()
    assert found.doubtful


def test_a_reader_failure_names_the_line_or_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> object:
        raise TypeError("a reader bug")

    monkeypatch.setattr(_ip6tables, "_ip6tables_rule", broken)
    text = "*filter\n:FORWARD ACCEPT [0:0]\n\n-A FORWARD -j DROP\nCOMMIT\n"
    with pytest.raises(FirewallUnreadable, match=r"line 4: cannot read -A FORWARD -j DROP: Type"):
        parse_ip6tables_save(text)
    monkeypatch.setattr(_nft, "_nft_rule", broken)
    nft = (DATA / "firewall" / "native.nft.json").read_text()
    with pytest.raises(FirewallUnreadable, match=r"nftables\[\d+\] \(rule inet \S+ \S+\)"):
        parse_nft_json(nft)
