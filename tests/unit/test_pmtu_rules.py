"""The path MTU checks' judgement (PMTU-01, PMTU-02) on crafted probe results and uplink frames
built with scapy: where the Packet Too Big is lost decides the hop and the fix."""

from __future__ import annotations

import dataclasses

import pytest
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6
from scapy.layers.l2 import Ether

from probes import icmp6
from probes.capture import Frame, decode_frame
from probes.dns import DnsResult
from probes.pmtu import PathMtu, TooBig
from rules.pmtu import (
    UplinkSight,
    judge_fragments,
    judge_tcp_exchange,
    judge_too_big,
    sighting,
)

ANCHOR = "2001:db8:f00d::1"
CONTAINER = "2001:db8:1:1::2"
ROUTER = "2001:db8:0:1::1"
IDENT = 4242


def small(answered: bool = True) -> icmp6.EchoResult:
    return icmp6.EchoResult(ANCHOR, CONTAINER, 0.1 if answered else None, None, ("small echo",))


def result(first: str, *, learned: int | None = None, after: bool | None = None,
           small_answered: bool = True) -> PathMtu:  # fmt: skip
    too_big = TooBig(ROUTER, 1400) if first == "too-big" else None
    return PathMtu(
        ANCHOR, CONTAINER, 1500, IDENT, first, too_big, None, learned, after, None, 1500,  # type: ignore[arg-type]
        small(small_answered), ("big echo",),
    )  # fmt: skip


def frame(packet: object, *, outgoing: bool) -> Frame:
    got = decode_frame(bytes(packet), outgoing=outgoing, at=1.0)  # type: ignore[call-overload]
    assert got is not None
    return got


REQUEST = frame(
    Ether() / IPv6(src=CONTAINER, dst=ANCHOR) / ICMPv6EchoRequest(id=IDENT, data=b"x" * 1452),
    outgoing=True,
)
TOO_BIG = frame(
    Ether()
    / IPv6(src=ROUTER, dst=CONTAINER)
    / ICMPv6PacketTooBig(mtu=1400)
    / IPv6(src=CONTAINER, dst=ANCHOR)
    / ICMPv6EchoRequest(id=IDENT, data=b"x" * 1000),
    outgoing=False,
)
NOT_WATCHED = UplinkSight(False, False, None)


def judge(r: PathMtu, sight: UplinkSight = NOT_WATCHED):  # type: ignore[no-untyped-def]
    return judge_too_big(r, sight, network="v6net", uplink="uplink0", docker="28.5.2")


def test_sighting_finds_the_request_and_its_packet_too_big_by_identifier() -> None:
    sight = sighting([REQUEST, TOO_BIG], IDENT, watched=True)
    assert sight.left
    assert sight.too_big is TOO_BIG
    assert sight.too_big.message.mtu == 1400  # type: ignore[union-attr]
    other = sighting([REQUEST, TOO_BIG], IDENT + 1, watched=True)
    assert not other.left
    assert other.too_big is None


def test_an_answered_full_size_packet_passes() -> None:
    j = judge(result("answered"))
    assert j.outcome == "pass"
    assert "nothing smaller to discover" in j.diagnosis


def test_packet_too_big_kept_by_the_kernel_passes_naming_router_and_mtu() -> None:
    j = judge(result("too-big", learned=1400, after=True))
    assert j.outcome == "pass"
    assert ROUTER in j.diagnosis
    assert "mtu 1400" in j.diagnosis


def test_packet_too_big_the_kernel_ignored_fails_in_the_container() -> None:
    j = judge(result("too-big"))
    assert j.outcome == "fail"
    assert j.hop == "container"


def test_silence_with_a_broken_path_is_not_a_black_hole() -> None:
    j = judge(result("silent", small_answered=False))
    assert j.outcome == "not-observed"
    assert "RT-02" in j.diagnosis


@pytest.mark.parametrize(
    ("frames", "hop", "words"),
    [
        ([REQUEST, TOO_BIG], "host", "reached the host's uplink but not the container"),
        ([REQUEST], "upstream", "no Packet Too Big came back"),
        ([], "host", "never left the host's uplink"),
    ],
)
def test_a_black_hole_says_where_the_packet_too_big_is_lost(
    frames: list[Frame], hop: str, words: str
) -> None:
    j = judge(result("silent"), sighting(frames, IDENT, watched=True))
    assert j.outcome == "fail"
    assert j.hop == hop
    assert words in j.diagnosis
    assert "pmtud:v6net" in j.breaks
    assert "icmp-errors:v6net" in j.needs
    # the fix never opens more than the error itself, and names the Docker version
    assert "ACCEPT" not in (j.fix or "")
    if hop == "host" and TOO_BIG in frames:
        assert "Docker 28.5.2" in (j.fix or "")
    if hop == "upstream":  # one fault beyond the uplink, whichever network meets it
        assert "ptb-beyond:uplink0" in j.breaks


def test_a_black_hole_unwatched_is_not_placed() -> None:
    j = judge(result("silent"))
    assert j.outcome == "fail"
    assert j.hop == "unknown"


def dns_result(answered: bool) -> DnsResult:
    return DnsResult(
        "2001:db8:53::53", "tcp", "www.lab.example", "AAAA", "NOERROR" if answered else None,
        (), (), 3.0, None if answered else "timed out",
    )  # fmt: skip


def tcp(small_ok: bool, large_ok: bool) -> tuple[DnsResult, DnsResult]:
    return dns_result(small_ok), dns_result(large_ok)


def test_large_tcp_exchange_passes_where_answered() -> None:
    j = judge_tcp_exchange(result("too-big", learned=1400), tcp=tcp(True, True),
                           tcp_skipped=None, network="v6net")  # fmt: skip
    assert j.outcome == "pass"
    assert "several full-size segments" in j.diagnosis


def test_large_tcp_that_stalls_where_a_small_one_passes_fails() -> None:
    j = judge_tcp_exchange(result("too-big", learned=1400), tcp=tcp(True, False),
                           tcp_skipped=None, network="v6net")  # fmt: skip
    assert j.outcome == "fail"
    assert "large transfers hang" in j.diagnosis
    assert "pmtud:v6net" in j.needs


@pytest.mark.parametrize("sent", [None, (False, False)])
def test_tcp_not_judged_without_a_server_or_where_a_small_query_fails(sent) -> None:
    j = judge_tcp_exchange(result("answered"), tcp=tcp(*sent) if sent else None,
                           tcp_skipped="no nameserver", network="v6net")  # fmt: skip
    assert j.outcome == "not-observed"


def judge_frag(r: PathMtu):  # type: ignore[no-untyped-def]
    return judge_fragments(r, network="v6net", uplink="uplink0", docker="28.5.2")


def test_fragmented_datagram_answered_passes() -> None:
    j = judge_frag(result("too-big", learned=1400, after=True))
    assert j.outcome == "pass"
    assert "fragmented by the container at mtu 1400" in j.diagnosis


def test_fragmented_datagram_drawing_packet_too_big_again_blames_the_host() -> None:
    r = dataclasses.replace(
        result("too-big", learned=1400, after=False), after_too_big=TooBig(ROUTER, 1400)
    )
    j = judge_frag(r)
    assert j.outcome == "fail"
    assert j.hop == "host"
    assert "mtu lock" in (j.fix or "")
    assert "Docker 28.5.2" in (j.fix or "")


def test_fragmented_datagram_lost_silently_is_not_placed() -> None:
    j = judge_frag(result("too-big", learned=1400, after=False))
    assert j.outcome == "fail"
    assert j.hop == "unknown"


def test_no_fragmented_datagram_after_a_black_hole() -> None:
    j = judge_frag(result("silent"))
    assert j.outcome == "not-observed"
    assert "PMTU-01" in j.diagnosis


def test_a_packet_too_big_no_smaller_than_the_packet_blames_its_router() -> None:
    r = dataclasses.replace(result("too-big"), too_big=TooBig(ROUTER, 1500))
    j = judge(r)
    assert j.outcome == "fail"
    assert j.hop == "upstream"
    assert ROUTER in (j.fix or "")


def test_no_fragment_verdict_when_nothing_was_learnt() -> None:
    assert judge_frag(result("too-big", after=False)).outcome == "not-observed"


# over two narrower hops: the upstream says 1450, a transit router beyond it 1400 ---------------
FAR_ROUTER = "2001:db8:0:ffff::2"


def two_hops(last: str, *, learned: int = 1400, after: bool | None = True) -> PathMtu:
    """The first packet drew the upstream's Packet Too Big (1450); where ``learned`` is 1400 the
    transit router's came back for the 1450-byte one too; ``last``: what came of the last."""
    said = (TooBig(ROUTER, 1450), *((TooBig(FAR_ROUTER, 1400),) if learned == 1400 else ()))
    return dataclasses.replace(
        result("too-big", learned=learned, after=after),
        too_big=said[0],
        narrowed=said,
        last=last,  # type: ignore[arg-type]
        last_size=learned,
        last_seq=len(said) + 1,
    )


def seq_frame(src: str, mtu: int, seq: int) -> Frame:
    return frame(
        Ether() / IPv6(src=src, dst=CONTAINER) / ICMPv6PacketTooBig(mtu=mtu)
        / IPv6(src=CONTAINER, dst=ANCHOR) / ICMPv6EchoRequest(id=IDENT, seq=seq, data=b"x" * 900),
        outgoing=False,
    )  # fmt: skip


def request(seq: int) -> Frame:
    return frame(
        Ether() / IPv6(src=CONTAINER, dst=ANCHOR)
        / ICMPv6EchoRequest(id=IDENT, seq=seq, data=b"x" * 1392),
        outgoing=True,
    )  # fmt: skip


def test_each_hop_narrowing_in_turn_then_answered_passes_naming_both() -> None:
    j = judge(two_hops("answered"))
    assert j.outcome == "pass"
    assert ROUTER in j.diagnosis
    assert FAR_ROUTER in j.diagnosis
    assert "mtu 1400" in j.diagnosis
    assert "answered" in j.diagnosis


def test_sighting_by_sequence_tells_the_rounds_apart() -> None:
    frames = [request(1), seq_frame(ROUTER, 1450, 1), request(2)]
    second = sighting(frames, IDENT, watched=True, seq=2)
    assert second.left
    assert second.too_big is None
    first = sighting(frames, IDENT, watched=True, seq=1)
    assert first.left
    assert first.too_big is frames[1]


def test_black_hole_beyond_the_first_hop_is_placed_beyond_it_not_at_it() -> None:
    # the upstream said 1450 (its Packet Too Big came in on the uplink); the 1450-byte packet
    # left the host and nothing came back: the break is a farther hop, not the upstream's
    frames = [request(1), seq_frame(ROUTER, 1450, 1), request(2)]
    r = two_hops("silent", learned=1450, after=None)
    j = judge_too_big(
        r, sighting(frames, IDENT, watched=True), network="v6net", uplink="uplink0",
        docker="20.10", last_sight=sighting(frames, IDENT, watched=True, seq=2),
    )  # fmt: skip
    assert j.outcome == "fail"
    assert j.hop == "far end"
    assert f"beyond {ROUTER}" in j.diagnosis
    assert "1450" in j.diagnosis
    assert f"ptb-beyond:{ROUTER}" in j.breaks
    assert "pmtud:v6net" in j.breaks
    assert j.remedy is not None
    assert j.remedy.where == "router"
    # PMTU-03 has nothing to judge: no fragmented datagram went after a vanished one
    assert judge_fragments(r, network="v6net", uplink="uplink0", docker="20.10").outcome == (
        "not-observed"
    )


def test_black_hole_after_the_hosts_own_packet_too_big_is_beyond_the_uplink() -> None:
    # the host's locked route said 1450 (its Packet Too Big never crossed the uplink): the
    # 1450-byte packet left and vanished: beyond the uplink, no router beyond can be named
    host_said = dataclasses.replace(
        two_hops("silent", learned=1450, after=None), narrowed=(TooBig("2001:db8:1:1::1", 1450),)
    )
    frames = [request(2)]
    j = judge_too_big(
        host_said, sighting(frames, IDENT, watched=True), network="v6net", uplink="uplink0",
        docker="28.5.2", last_sight=sighting(frames, IDENT, watched=True, seq=2),
    )  # fmt: skip
    assert j.outcome == "fail"
    assert j.hop == "upstream"
    assert "ptb-beyond:uplink0" in j.breaks


def test_far_packet_too_big_dropped_by_the_host_blames_the_host() -> None:
    frames = [request(1), seq_frame(ROUTER, 1450, 1), request(2), seq_frame(FAR_ROUTER, 1400, 2)]
    j = judge_too_big(
        two_hops("silent", learned=1450, after=None), sighting(frames, IDENT, watched=True),
        network="v6net", uplink="uplink0", docker="28.5.2",
        last_sight=sighting(frames, IDENT, watched=True, seq=2),
    )  # fmt: skip
    assert j.outcome == "fail"
    assert j.hop == "host"
    assert FAR_ROUTER in j.diagnosis


def test_a_farther_hop_naming_no_smaller_mtu_is_blamed_not_the_first() -> None:
    r = dataclasses.replace(
        two_hops("too-big", learned=1450, after=True),
        narrowed=(TooBig(ROUTER, 1450), TooBig(FAR_ROUTER, 1500)),
    )
    j = judge(r)
    assert j.outcome == "fail"
    assert j.hop == "far end"
    assert FAR_ROUTER in (j.fix or "")
