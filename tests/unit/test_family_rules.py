"""AF-01: RFC 6724 destination ordering (the model that explains), the family probe's report
parsing, and the rule on frozen reports."""

from __future__ import annotations

import base64

import pytest

from probes.family import BEGIN, END, FamilyReport, parse_report
from probes.profile import parse_profile
from probes.resolvconf import parse_resolv_conf
from rules.af import judge_container, judge_family, ula_site
from rules.judgement import FACTS, is_identity
from rules.rfc6724 import (
    GLIBC,
    MUSL,
    RFC6724,
    Destination,
    decide,
    parse_gai_conf,
    sort_destinations,
)

# RFC 6724 §10.2's examples: the candidate sources (as the source algorithm of §5 picks one per
# destination: given here directly), the destinations in the order given, the result, the rule
RFC_EXAMPLES = [
    # prefer matching scope
    (
        [("2001:db8:1::1", "2001:db8:1::2"), ("198.51.100.121", "169.254.13.78")],
        ["2001:db8:1::1", "198.51.100.121"],
        2,
    ),
    (
        [("2001:db8:1::1", "fe80::1"), ("198.51.100.121", "198.51.100.117")],
        ["198.51.100.121", "2001:db8:1::1"],
        2,
    ),
    # prefer higher precedence
    (
        [("2001:db8:1::1", "2001:db8:1::2"), ("10.1.2.3", "10.1.2.4")],
        ["2001:db8:1::1", "10.1.2.3"],
        6,
    ),
    # prefer smaller scope
    (
        [("2001:db8:1::1", "2001:db8:1::2"), ("fe80::1", "fe80::2")],
        ["fe80::1", "2001:db8:1::1"],
        8,
    ),
    # prefer higher precedence (6to4 below native)
    (
        [("2002:c633:6401::1", "2002:c633:6401::2"), ("2001:db8:1::1", "2001:db8:1::2")],
        ["2001:db8:1::1", "2002:c633:6401::1"],
        6,
    ),
    # prefer matching label
    (
        [("2001:db8:1::1", "2002:c633:6401::2"), ("2002:c633:6401::1", "2002:c633:6401::2")],
        ["2002:c633:6401::1", "2001:db8:1::1"],
        5,
    ),
]


@pytest.mark.parametrize(("pairs", "expected", "rule"), RFC_EXAMPLES)
def test_rfc6724_section_10_examples(
    pairs: list[tuple[str, str]], expected: list[str], rule: int
) -> None:
    dests = [Destination(d, s) for d, s in pairs]
    assert [d.address for d in sort_destinations(dests, RFC6724)] == expected
    assert decide(dests[0], dests[1], RFC6724)[1].rule == rule


def test_unusable_and_deprecated() -> None:
    v6, v4 = Destination("2001:db8:1::1", None), Destination("192.0.2.1", "192.0.2.2")
    assert sort_destinations([v6, v4], RFC6724)[0] == v4
    assert decide(v6, v4, RFC6724)[1].rule == 1
    # §10.2: avoid deprecated addresses (fe80::2 deprecated: the global destination first)
    glob = Destination("2001:db8:1::1", "2001:db8:1::2")
    link = Destination("fe80::1", "fe80::2", deprecated_source=True)
    assert sort_destinations([link, glob], RFC6724) == [glob, link]
    assert decide(link, glob, RFC6724)[1].rule == 3


@pytest.mark.parametrize("table", [RFC6724, GLIBC, MUSL])
def test_ula_source_loses_to_ipv4_by_label(table: object) -> None:
    """Docker's ULA pool: a global destination from a ULA source loses to IPv4 (Rule 5)."""
    v6 = Destination("2001:db8:f00d::80", "fd3c:1:2:1::2")
    v4 = Destination("203.0.113.80", "198.51.100.130")
    order, why = decide(v6, v4, table)  # type: ignore[arg-type]
    assert order == 1
    assert why.rule == 5


def test_global_source_wins_by_precedence_and_ula_destination() -> None:
    v6 = Destination("2001:db8:f00d::80", "2001:db8:1:1::2")
    v4 = Destination("203.0.113.80", "198.51.100.130")
    for table in (RFC6724, GLIBC, MUSL):
        order, why = decide(v6, v4, table)
        assert order == -1
        assert why.rule == 6
    # ULA to ULA: RFC 6724 gives ULA precedence 3 < IPv4's 35; glibc's RFC 3484 table has no
    # ULA precedence (::/0's 40 > 10)
    u6 = Destination("fd00:1::80", "fd00:2::2")
    assert decide(u6, v4, RFC6724)[0] == 1
    assert decide(u6, v4, RFC6724)[1].rule == 6
    assert decide(u6, v4, GLIBC)[0] == -1


def test_gai_conf_replaces_a_half() -> None:
    table, used = parse_gai_conf("# comment\nlabel ::1/128 0\nlabel ::/0 1\nlabel fc00::/7 1\n")
    assert used == ("label ::1/128 0", "label ::/0 1", "label fc00::/7 1")
    assert table.precedence == GLIBC.precedence
    assert table.label_of("fd00::1") == 1
    assert table.label_of("192.0.2.1") == 1
    v6 = Destination("2001:db8:f00d::80", "fd3c:1:2:1::2")
    v4 = Destination("203.0.113.80", "198.51.100.130")
    # every source matches its destination's label now; Rule 6: 40 > 10
    assert decide(v6, v4, table)[0] == -1
    assert parse_gai_conf("reload yes\nprecedence bad 1\n") == (GLIBC, ())


def _b(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def report(first: str, six: str, four: str, sources: dict[str, str], gai: str = "-") -> str:
    del sources
    lines = [
        BEGIN,
        f"gai {gai if gai == '-' else _b(gai)}",
        f"resolv {_b('nameserver 127.0.0.11' + chr(10) + 'options ndots:0' + chr(10))}",
        "synretries 6",
        "tool ping",
        f"lookup 0 any 1.00 1.01 1 {_b(f'PING www.lab.example ({first}): 65535 data bytes')}",
        f"lookup 0 4 1.00 1.01 1 {_b(f'PING www.lab.example ({four}): 65535 data bytes')}",
        f"lookup 0 6 1.00 1.01 1 {_b(f'PING www.lab.example ({six}): 65535 data bytes')}",
        END,
    ]
    return "\n".join(lines)


def frozen(first: str, v6src: str | None, gai: str = "-") -> FamilyReport:
    six, four = "2001:db8:f00d::80", "203.0.113.80"
    r = parse_report(
        report(first, six, four, {}, gai),
        where="container c1",
        names=("www.lab.example",),
        deadline=1.0,
        libc=("glibc", "/bin/busybox, statically linked with glibc"),
    )
    srcs = ((six, v6src, "kernel"), (four, "198.51.100.130", "kernel"))
    n = r.names[0]
    from dataclasses import replace

    return replace(r, names=(replace(n, sources=srcs),))


def test_rule_fails_where_ipv4_wins_from_a_ula_and_names_rule_5() -> None:
    j = judge_container(
        frozen("203.0.113.80", "fd3c:1:2:1::2"), prefer="ipv6", network="v6net", daemon_major=28
    )
    assert j.outcome == "fail"
    assert "Rule 5" in j.diagnosis
    assert "IPv4" in j.diagnosis
    assert j.breaks == ("ula:fd3c:1:2::/48",)
    assert j.remedy is not None
    assert "gateway_mode_ipv6=routed" in j.remedy.commands[0]
    assert any("label fc00::/7 1" in c for c in j.remedy.commands)
    assert any("tcp_syn_retries = 6" in line and "127 s" in line for line in j.evidence)


def test_rule_passes_where_ipv6_wins_or_either_is_fine() -> None:
    assert judge_container(
        frozen("2001:db8:f00d::80", "2001:db8:1:1::2"), prefer="ipv6", network="v6net"
    ).ok
    assert judge_container(frozen("203.0.113.80", "fd3c:1:2:1::2"), prefer="any", network="v").ok


def test_rule_says_when_the_library_disagrees_with_the_model() -> None:
    # a global source (the model: IPv6 by Rule 6), yet the library gave IPv4 first
    j = judge_container(frozen("203.0.113.80", "2001:db8:1:1::2"), prefer="ipv6", network="v6net")
    assert j.outcome == "fail"
    assert "C library's own order" in j.diagnosis


def test_not_observed_without_a_dual_stack_answer() -> None:
    text = "\n".join([BEGIN, "gai -", "tool ping", "lookup 0 any 0 1 1 " + _b("bad address"), END])
    r = parse_report(text, where="container c", names=("x",), deadline=1.0, libc=("musl", "x"))
    assert judge_container(r, prefer="ipv6", network="n").outcome == "not-observed"


def test_getent_order_is_read_whole() -> None:
    out = "2001:db8::1 STREAM x\n2001:db8::1 DGRAM\n192.0.2.1 STREAM\n"
    text = "\n".join([BEGIN, "tool getent", f"lookup 0 any 0 1 0 {_b(out)}", END])
    r = parse_report(text, where="c", names=("x",), deadline=1.0, libc=("glibc", "x"))
    assert r.full_order
    assert r.names[0].answer("any").addresses == ("2001:db8::1", "192.0.2.1")


def test_ula_fact_and_profile_keys() -> None:
    assert ula_site("fd3c:1:2:1::2") == "fd3c:1:2::/48"
    assert ula_site("2001:db8::1") is None
    assert is_identity("ula:fd00::/48")
    assert "ula" in FACTS
    p = parse_profile('[family]\nnames = ["a.example"]\nprefer = "any"\n', source="t")
    assert p.family_names() == ("a.example",)
    assert p.family.prefer == "any"
    q = parse_profile(
        '[[names]]\nname = "w"\na = ["192.0.2.1"]\n[[names]]\nname = "v"\n', source="t"
    )
    assert q.family_names() == ("w",)
    assert q.family.prefer == "ipv6"
    with pytest.raises(Exception, match="prefer"):
        parse_profile('[family]\nprefer = "ipv4"\n', source="t")
    assert parse_resolv_conf(b"").options.attempts == 2


def test_one_network_many_containers() -> None:
    good = frozen("2001:db8:f00d::80", "2001:db8:1:1::2")
    text = "\n".join([BEGIN, "tool getent", "lookup 0 any 0 1 0 " + _b("2001:db8::1 STREAM"), END])
    unjudged = parse_report(text, where="c2", names=("x",), deadline=1.0, libc=("glibc", "x"))
    j = judge_family([good, unjudged], prefer="ipv6", network="v6only")
    assert j.ok
    assert any(line.startswith("not judged:") for line in j.evidence)
    bad = frozen("203.0.113.80", "fd3c:1:2:1::2")
    assert judge_family([good, bad], prefer="ipv6", network="v6net").outcome == "fail"
    assert judge_family([unjudged], prefer="ipv6", network="n").outcome == "not-observed"


def test_a_workload_is_modelled_never_judged() -> None:
    from dataclasses import replace

    read = replace(frozen("203.0.113.80", "fd3c:1:2:1::2"), modelled=True, where="w (outside)")
    j = judge_container(read, prefer="ipv6", network="v6net")
    assert j.outcome == "not-observed"
    assert "would put IPv4 first" in j.diagnosis
    assert "Rule 5" in j.diagnosis


def test_a_busybox_that_prefers_ipv4_is_no_witness() -> None:
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    calib = "PING localhost (127.0.0.1): 65535 data bytes"
    text = report("203.0.113.80", "2001:db8:f00d::80", "203.0.113.80", {}).replace(
        "tool ping", f"tool ping\ncalib {_b(calib)}\nhosts {_b(hosts)}\nhostconf {_b('multi on')}"
    )
    r = parse_report(text, where="c", names=("www.lab.example",), deadline=1.0, libc=("glibc", "x"))
    assert r.unfaithful is not None
    assert judge_container(r, prefer="ipv6", network="n").outcome == "not-observed"
    fine = text.replace(_b(calib), _b("PING localhost (::1): 65535 data bytes"))
    ok = parse_report(fine, where="c", names=("www.lab.example",), deadline=1.0, libc=("g", "x"))
    assert ok.unfaithful is None
    only_v4 = text.replace(_b(hosts), _b("127.0.0.1 localhost\n"))
    r4 = parse_report(only_v4, where="c", names=("www.lab.example",), deadline=1.0, libc=("g", "x"))
    assert r4.unfaithful is None  # inconclusive: no ::1 line to prefer
    no_multi = text.replace(f"\nhostconf {_b('multi on')}", "")
    r0 = parse_report(
        no_multi, where="c", names=("www.lab.example",), deadline=1.0, libc=("g", "x")
    )
    assert r0.unfaithful is None  # glibc returned the first line alone: nothing to tell
