"""The endpoint (EP-01..03), NAT64-01 and DNS-05 judgement on crafted results, and the ICMPv4
echo codec beside scapy's."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP

from probes import nat64
from probes.dns import DnsResult
from probes.endpoint import Attempt, NameView
from probes.icmp6 import EchoResult
from probes.profile import Endpoint
from rules.ep import judge_name, judge_reach
from rules.nat64 import judge_a_only, judge_nat64_reach

NAME = "example.com"
WEB = Endpoint(NAME, 80)


def answer(rdtype: str, *addresses: str, name: str = NAME, rrs: tuple[str, ...] = ()) -> DnsResult:
    rrs = rrs or tuple(f"{name}. 300 IN {rdtype} {a}" for a in addresses)
    return DnsResult("2001:db8:53::53", "udp", name, rdtype, "NOERROR", rrs, addresses, 2.0, None)


def view(*, a: bool = True, aaaa: bool = True, apex: bool = False, cname: bool = False) -> NameView:
    soa = (f"{NAME}. 3600 IN SOA ns.{NAME}. hostmaster.{NAME}. 1 3600 600 86400 300",)
    return NameView(
        NAME,
        answer("A", *(["192.0.2.80"] if a else [])),
        answer("AAAA", *(["2001:db8::80"] if aaaa else [])),
        answer("SOA", rrs=soa if apex else ()),
        answer("CNAME", rrs=(f"{NAME}. 300 IN CNAME lb.example.net.",) if cname else ()),
    )


def test_a_dual_stack_name_passes_and_an_apex_says_so() -> None:
    j = judge_name(view(apex=True), WEB)
    assert j.outcome == "pass"
    assert "zone apex" in j.diagnosis


def test_a_name_without_aaaa_fails_naming_the_apex() -> None:
    j = judge_name(view(aaaa=False, apex=True), WEB)
    assert j.outcome == "fail"
    assert "(the zone apex) has no AAAA" in j.diagnosis
    assert "name:example.com" in j.breaks


def test_a_cname_at_the_apex_fails() -> None:
    j = judge_name(view(apex=True, cname=True), WEB)
    assert j.outcome == "fail"
    assert "CNAME beside its SOA" in j.diagnosis
    assert "ALIAS" in (j.fix or "")


def test_a_cname_below_the_apex_is_fine() -> None:
    assert judge_name(view(cname=True), WEB).outcome == "pass"


def attempt(address: str, ok: bool) -> Attempt:
    status = "HTTP/1.1 200 OK" if ok else None
    return Attempt(address, 80, "http", ok, status, 3.0, None if ok else "no answer (timed out)")


def test_works_over_ipv4_only_is_said_at_once() -> None:
    j = judge_reach(
        WEB, view(), [attempt("2001:db8::80", False), attempt("192.0.2.80", True)], where="the host"
    )
    assert j.outcome == "fail"
    assert "works over IPv4 only from the host" in j.diagnosis
    assert "service:2001:db8::80 port 80" in j.breaks


def test_from_a_container_the_host_s_finding_is_needed_not_broken() -> None:
    j = judge_reach(
        WEB, view(), [attempt("2001:db8::80", False), attempt("192.0.2.80", True)],
        where="v6net's container", network="v6net",
    )  # fmt: skip
    assert j.outcome == "fail"
    assert not j.breaks
    assert "service:2001:db8::80 port 80" in j.needs


def test_an_ipv6_only_vantage_passes_on_ipv6_alone() -> None:
    j = judge_reach(
        WEB, view(), [attempt("2001:db8::80", True)], where="v6only's container", ipv4=False,
        network="v6only",
    )  # fmt: skip
    assert j.outcome == "pass"
    assert "no IPv4 here" in j.diagnosis


def test_no_aaaa_means_ipv4_only_reach_tied_to_the_name() -> None:
    j = judge_reach(WEB, view(aaaa=False), [attempt("192.0.2.80", True)], where="the host")
    assert j.outcome == "fail"
    assert "name:example.com" in j.needs


V4ONLY = "legacy.example.com"
SYNTH = "2001:db8:64::cb00:712c"  # 203.0.113.44 under 2001:db8:64::/96


def synth(*aaaa: str) -> nat64.Synthesis:
    return nat64.synthesis(
        V4ONLY, [answer("A", "203.0.113.44", name=V4ONLY), answer("AAAA", *aaaa, name=V4ONLY)]
    )


def echo(answered: bool) -> EchoResult:
    return EchoResult(SYNTH, "2001:db8:1::2", 1.0 if answered else None, None, ("echo",))


def echo4(answered: bool) -> nat64.Echo4Result:
    return nat64.Echo4Result("203.0.113.44", answered, None, ("echo4",))


def test_synthesis_finds_the_prefix_the_a_record_sits_under() -> None:
    s = synth(SYNTH)
    assert s.synthesized == {SYNTH: "2001:db8:64::/96"}
    assert s.native == ()


def test_nat64_reach_passes_through_the_translator() -> None:
    j = judge_nat64_reach(
        synth(SYNTH), echoes={SYNTH: echo(True)}, ipv4={"203.0.113.44": echo4(True)},
        network="v6net",
    )  # fmt: skip
    assert j.outcome == "pass"
    assert "2001:db8:64::/96" in j.diagnosis


def test_nat64_down_fails_where_ipv4_answers() -> None:
    j = judge_nat64_reach(
        synth(SYNTH), echoes={SYNTH: echo(False)}, ipv4={"203.0.113.44": echo4(True)},
        network="v6net",
    )  # fmt: skip
    assert j.outcome == "fail"
    assert "nat64:2001:db8:64::/96" in j.breaks


def test_a_destination_down_is_not_taken_for_the_nat64() -> None:
    j = judge_nat64_reach(
        synth(SYNTH), echoes={SYNTH: echo(False)}, ipv4={"203.0.113.44": echo4(False)},
        network="v6net",
    )  # fmt: skip
    assert j.outcome == "not-observed"


def test_no_synthesis_fails_on_the_name() -> None:
    j = judge_nat64_reach(synth(), echoes={}, ipv4={}, network="v6net")
    assert j.outcome == "fail"
    assert f"synth:{V4ONLY}" in j.breaks


def test_the_a_only_trap_names_the_name() -> None:
    answers = {
        "www.example.com": (answer("A", "192.0.2.80"), answer("AAAA", "2001:db8::80")),
        V4ONLY: (answer("A", "203.0.113.44", name=V4ONLY), answer("AAAA", name=V4ONLY)),
    }
    j = judge_a_only("v6only", answers)
    assert j.outcome == "fail"
    assert V4ONLY in j.diagnosis
    assert "www.example.com" not in j.diagnosis
    answers[V4ONLY] = (answers[V4ONLY][0], answer("AAAA", SYNTH, name=V4ONLY))
    ok = judge_a_only("v6only", answers)
    assert ok.outcome == "pass"
    assert "asking for A only gets" in ok.diagnosis


def test_echo4_matches_scapy_and_reads_a_reply() -> None:
    ours = nat64.encode_echo4(0x1234, 7, b"abc")
    theirs = bytes(ICMP(type=8, id=0x1234, seq=7) / b"abc")
    assert ours == theirs
    reply = bytes(IP(src="203.0.113.44", dst="192.0.2.2") / ICMP(type=0, id=0x1234, seq=7))
    assert nat64.decode_echo4_reply(reply) == ("203.0.113.44", 0x1234, 7)
    assert nat64.decode_echo4_reply(reply[:20]) is None
    assert nat64.decode_echo4_reply(b"\x60" + bytes(40)) is None


def silent(rdtype: str, name: str = NAME) -> DnsResult:
    return DnsResult("2001:db8:53::53", "udp", name, rdtype, None, (), (), 1000.0, "timed out")


def test_a_silent_aaaa_query_is_no_missing_aaaa() -> None:
    s = nat64.synthesis(V4ONLY, [answer("A", "203.0.113.44", name=V4ONLY), silent("AAAA", V4ONLY)])
    j = judge_nat64_reach(s, echoes={}, ipv4={}, network="v6net")
    assert j.outcome == "not-observed"
    trap = judge_a_only("v6only", {V4ONLY: (answer("A", "203.0.113.44"), silent("AAAA"))})
    assert trap.outcome == "not-observed"


def test_an_ipv6_only_host_cannot_rule_out_a_down_destination() -> None:
    no_v4 = nat64.Echo4Result("203.0.113.44", False, "not sent: network is unreachable", ())
    j = judge_nat64_reach(
        synth(SYNTH), echoes={SYNTH: echo(False)}, ipv4={"203.0.113.44": no_v4}, network="v6net"
    )
    assert j.outcome == "fail"
    assert j.hop == "unknown"
    assert "answers over IPv4" not in j.diagnosis


def test_a_name_that_does_not_exist_is_said_plainly() -> None:
    gone = [
        DnsResult("2001:db8:53::53", "udp", NAME, t, "NXDOMAIN", (), (), 2.0, None)
        for t in ("A", "AAAA", "SOA", "CNAME")
    ]
    j = judge_name(NameView(NAME, *gone), WEB)
    assert j.outcome == "fail"
    assert "does not exist (NXDOMAIN)" in j.diagnosis


def test_one_silent_query_is_no_missing_record() -> None:
    v = NameView(NAME, answer("A", "192.0.2.80"), silent("AAAA"), answer("SOA"), answer("CNAME"))
    assert judge_name(v, WEB).outcome == "not-observed"
