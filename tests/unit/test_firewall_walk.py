"""The chain walker's cost and limits: each chain walked once per packet (no enumeration of
paths), any legal depth, one deadline per judgement, evidence bounded however many rules a find
depends on. What it finds is held by test_firewall.py."""

from __future__ import annotations

import time

import pytest

from probes.firewall import (
    Deadline,
    FirewallUnreadable,
    assess_forward,
    find_masquerade,
    parse_ip6tables_save,
)
from probes.firewall._walk import MAX_DOUBTS_SHOWN, MAX_PATH_SHOWN, MAX_POSSIBLE_SHOWN

SUBNET = "2001:db8:1::/64"


def ladder(chains: int, *, table: str = "filter", end: str = "-j DROP") -> str:
    """Each chain jumps twice to the next (both jumps match): 2**chains ways to the last one,
    as a walk that enumerates paths goes. 3 lines a chain: 66 lines for 22 chains."""
    base = "FORWARD" if table == "filter" else "POSTROUTING"
    lines = [f"*{table}", f":{base} ACCEPT [0:0]", *(f":C{i} - [0:0]" for i in range(chains))]
    lines.append(f"-A {base} -j C0")
    for i in range(chains - 1):
        lines += [f"-A C{i} -j C{i + 1}", f"-A C{i} -j C{i + 1}"]
    lines += [f"-A C{chains - 1} -m limit --limit 1/s {end}", "COMMIT", ""]
    return "\n".join(lines)


def test_a_chain_reached_by_many_ways_is_walked_once() -> None:
    parsed = parse_ip6tables_save(ladder(22))
    started = time.perf_counter()
    found = assess_forward(parsed, subnets=[SUBNET], bridges=["docker0"], uplink="eth0")
    assert time.perf_counter() - started < 2.0  # the path-enumerating walk took 25 s
    assert found.drops == ()
    assert len(found.doubtful) == 10  # one per packet: the way it was first reached
    assert found.doubtful[0].path == ("FORWARD", *(f"C{i}" for i in range(22)))


def test_the_nat_search_is_walked_once_too() -> None:
    parsed = parse_ip6tables_save(ladder(40, table="nat", end="-j MASQUERADE"))
    started = time.perf_counter()
    found = find_masquerade(parsed, subnet=SUBNET, bridge="docker0")
    assert time.perf_counter() - started < 2.0
    assert found.masqueraded is None
    assert [r.chain for r in found.doubtful] == ["C39"]


def test_a_legal_ruleset_deeper_than_any_limit_is_judged() -> None:
    depth = 3000  # the kernel's xtables has no depth limit, only no loops
    lines = ["*filter", ":FORWARD ACCEPT [0:0]", *(f":C{i} - [0:0]" for i in range(depth))]
    lines += ["-A FORWARD -j C0", *(f"-A C{i} -j C{i + 1}" for i in range(depth - 1))]
    lines += [f"-A C{depth - 1} -p tcp -j DROP", "COMMIT", ""]
    found = assess_forward(
        parse_ip6tables_save("\n".join(lines)), subnets=[SUBNET], bridges=["d0"], uplink="eth0"
    )
    assert found.uncertain == ()
    assert found.doubtful == ()
    assert {d.traffic.split()[2] for d in found.drops} == {"TCP"}
    path = found.drops[0].path
    assert len(path) == MAX_PATH_SHOWN
    assert (path[0], path[-1]) == ("FORWARD", f"C{depth - 1}")
    assert path[-2] == f"… {depth + 1 - (MAX_PATH_SHOWN - 1)} more chains"


def test_a_find_lists_some_of_its_doubts_and_counts_the_rest() -> None:
    rules = [f"-A FORWARD -m set --match-set f2b-{i} src -j REJECT" for i in range(200)]
    text = "\n".join(["*filter", ":FORWARD DROP [0:0]", *rules, "COMMIT", ""])
    found = assess_forward(
        parse_ip6tables_save(text), subnets=[SUBNET], bridges=["d0"], uplink=None
    )
    # each packet's walk lists its first MAX_POSSIBLE_SHOWN possible drops, counts the rest,
    # and the policy
    assert len(found.doubtful) == 10 * (MAX_POSSIBLE_SHOWN + 1)
    assert found.doubtful_more == 10 * (200 - MAX_POSSIBLE_SHOWN)
    last = found.doubtful[-1]
    assert last.rule == "policy DROP"
    assert len(last.uncertain) == MAX_DOUBTS_SHOWN + 1
    assert last.uncertain[-1].startswith(f"… and {200 - MAX_DOUBTS_SHOWN} more")
    own = found.doubtful[-2]  # the last rule listed: its own doubt is named, after the count
    last_listed = MAX_POSSIBLE_SHOWN - 1
    assert own.uncertain[-1].startswith(
        f"FORWARD: -A FORWARD -m set --match-set f2b-{last_listed} "
    )


def test_a_judgement_past_its_deadline_is_no_verdict_but_unreadable() -> None:
    parsed = parse_ip6tables_save(ladder(200))
    spent = Deadline(time.monotonic() - 1, 0.5)
    with pytest.raises(FirewallUnreadable, match=r"could not be judged within 0\.5s"):
        assess_forward(parsed, subnets=[SUBNET], bridges=["docker0"], uplink=None, deadline=spent)
    nat = parse_ip6tables_save(ladder(200, table="nat", end="-j MASQUERADE"))
    with pytest.raises(FirewallUnreadable):
        find_masquerade(nat, subnet=SUBNET, bridge="docker0", deadline=spent)
