"""RT-03 on crafted frames: what an NS for a container address, answered or not, means."""

from __future__ import annotations

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Ether

from probes import icmp6
from probes.capture import Frame, decode_frame
from probes.errors import MalformedPacket
from probes.ndproxy import ProxyState
from rules.rt_prefix import judge_prefix, solicitations, uplink_view

ROUTER = "fe80::1:2"
ROUTER_MAC = "02:00:00:00:01:02"
HOST_MAC = "02:00:00:00:00:02"
CONTAINER = "2001:db8:0:1:d0c:242:ac11:2"
SUBNET = "2001:db8:0:1:d0c::/80"
UPLINK = "uplink0"


def ns_frame(target: str = CONTAINER, *, hlim: int = 255) -> bytes:
    group = icmp6.solicited_node(target)
    pkt = (
        Ether(src=ROUTER_MAC, dst="33:33:ff:11:00:02")
        / IPv6(src=ROUTER, dst=group, hlim=hlim)
        / ICMPv6ND_NS(tgt=target)
        / ICMPv6NDOptSrcLLAddr(lladdr=ROUTER_MAC)
    )
    return bytes(pkt)


def na_frame(target: str = CONTAINER) -> bytes:
    pkt = (
        Ether(src=HOST_MAC, dst=ROUTER_MAC)
        / IPv6(src="fe80::2", dst=ROUTER, hlim=255)
        / ICMPv6ND_NA(tgt=target, R=0, S=1, O=0)
        / ICMPv6NDOptDstLLAddr(lladdr=HOST_MAC)
    )
    return bytes(pkt)


def frame(data: bytes, *, outgoing: bool = False, at: float = 0.0) -> Frame:
    got = decode_frame(data, outgoing=outgoing, at=at)
    assert got is not None
    return got


def proxy(all_: str = "0", dev: str = "0", entries: tuple[str, ...] = ()) -> ProxyState:
    return ProxyState(UPLINK, all_, dev, entries)


def judge(frames: list[Frame], *, prefixes: tuple[str, ...], state: ProxyState | None = None):
    return judge_prefix(
        addresses=[CONTAINER],
        subnet=SUBNET,
        frames=frames,
        since=0.0,
        uplink=UPLINK,
        uplink_addresses=["2001:db8:0:1::2"],
        uplink_prefixes=prefixes,
        proxy=state or proxy(),
    )


# --- frames -----------------------------------------------------------------------------------


def test_decode_frame_reads_an_ns_like_scapy_builds_it() -> None:
    got = frame(ns_frame(), at=1.5)
    assert (got.src, got.dst, got.hop_limit, got.src_mac) == (
        ROUTER,
        "ff02::1:ff11:2",
        255,
        ROUTER_MAC,
    )
    assert got.message == icmp6.NeighborSolicit(CONTAINER, ROUTER_MAC)
    assert "NS who-has 2001:db8:0:1:d0c:242:ac11:2" in got.describe(1.0)
    assert got.describe(1.0).startswith("+500 ms in ")


def test_decode_frame_reads_an_outgoing_na() -> None:
    got = frame(na_frame(), outgoing=True)
    assert isinstance(got.message, icmp6.NeighborAdvert)
    assert got.message.solicited
    assert not got.message.override
    assert got.describe().startswith("out fe80::2")


def test_decode_frame_ignores_what_is_not_icmpv6() -> None:
    assert decode_frame(bytes(Ether() / ARP())) is None
    assert decode_frame(bytes(Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP())) is None
    assert decode_frame(b"\x00" * 6) is None


def test_decode_frame_rejects_a_truncated_ipv6_header() -> None:
    data = bytes(Ether(src=ROUTER_MAC) / IPv6())[:30]
    with pytest.raises(MalformedPacket, match="shorter than its header"):
        decode_frame(data)


def test_decode_frame_keeps_a_truncated_icmpv6_body_as_malformed() -> None:
    got = frame(ns_frame()[: 14 + 40 + 10])
    assert isinstance(got.message, MalformedPacket)
    assert "malformed ICMPv6" in got.describe()


def test_echo_frames_are_described() -> None:
    data = bytes(
        Ether() / IPv6(src=CONTAINER, dst="2001:db8:f00d::1") / ICMPv6EchoRequest(id=7, seq=1)
    )
    assert "echo request id=7 seq=1" in frame(data, outgoing=True).describe()


# --- solicitations ----------------------------------------------------------------------------


def test_an_ns_without_a_later_na_is_unanswered() -> None:
    seen = solicitations([frame(ns_frame(), at=1.0)], [CONTAINER])
    assert len(seen) == 1
    assert not seen[0].answered
    assert seen[0].ns.src == ROUTER


def test_an_na_from_the_host_after_the_ns_answers_it() -> None:
    frames = [frame(ns_frame(), at=1.0), frame(na_frame(), outgoing=True, at=1.3)]
    assert solicitations(frames, [CONTAINER])[0].answered


def test_an_na_before_the_ns_or_from_the_link_does_not_answer_it() -> None:
    frames = [
        frame(na_frame(), outgoing=True, at=0.5),
        frame(ns_frame(), at=1.0),
        frame(na_frame(), outgoing=False, at=1.2),
    ]
    assert not solicitations(frames, [CONTAINER])[0].answered


def test_ns_for_other_addresses_or_with_a_forwarded_hop_limit_is_ignored() -> None:
    frames = [frame(ns_frame("2001:db8:0:1::99")), frame(ns_frame(hlim=254))]
    assert solicitations(frames, [CONTAINER]) == ()


def test_the_address_is_matched_in_any_spelling() -> None:
    spelled = "2001:0db8:0000:0001:0d0c:0242:ac11:0002"
    assert len(solicitations([frame(ns_frame())], [spelled])) == 1


# --- the verdict ------------------------------------------------------------------------------


def test_unrouted_prefix_names_the_cause_both_fixes_and_shows_the_ns() -> None:
    verdict = judge([frame(ns_frame(), at=0.2)], prefixes=("2001:db8:0:1::/64",))
    assert not verdict.ok
    assert verdict.diagnosis.startswith(f"upstream router {ROUTER} sent NS for {CONTAINER}")
    assert "the prefix is not routed here" in verdict.diagnosis
    assert "route it to 2001:db8:0:1::2 or add ND proxy entries" in verdict.diagnosis
    assert f"route {SUBNET} to 2001:db8:0:1::2" in verdict.fix
    assert "proxy_ndp=1" in verdict.fix
    assert "ip -6 neigh add proxy" in verdict.fix
    assert any("NS who-has" in line for line in verdict.evidence)
    assert any("so the upstream sees it as on-link" in line for line in verdict.evidence)


def test_proxy_on_without_the_entry_says_so() -> None:
    verdict = judge(
        [frame(ns_frame())],
        prefixes=("2001:db8:0:1::/64",),
        state=proxy("1", "1", ("2001:db8:0:1:d0c:242:ac11:3",)),
    )
    assert not verdict.ok
    assert f"ND proxy is on but has no entry for {CONTAINER}" in verdict.diagnosis


def test_answered_by_nd_proxy_passes() -> None:
    frames = [frame(ns_frame(), at=1.0), frame(na_frame(), outgoing=True, at=1.4)]
    verdict = judge(frames, prefixes=("2001:db8:0:1::/64",), state=proxy("1", "0", (CONTAINER,)))
    assert verdict.ok
    assert "answered on uplink0 by the kernel's ND proxy" in verdict.diagnosis


def echo_frame(src: str, dst: str, *, reply: bool = False) -> bytes:
    body = ICMPv6EchoReply(id=7, seq=1) if reply else ICMPv6EchoRequest(id=7, seq=1)
    pkt = Ether(src=ROUTER_MAC, dst=HOST_MAC) / IPv6(src=src, dst=dst, hlim=63) / body
    return bytes(pkt)


ANCHOR = "2001:db8:f00d::1"


def test_proxy_entries_without_proxy_ndp_and_nothing_on_the_wire_is_not_a_verdict() -> None:
    """The configuration alone proves nothing: with no NS and no traffic there is no verdict,
    and the configuration problem is said in the reason."""
    verdict = judge([], prefixes=("2001:db8:0:1::/64",), state=proxy("0", "0", (CONTAINER,)))
    assert verdict.outcome == "not-observed"
    assert "proxy_ndp is 0" in verdict.diagnosis


def test_an_ns_answered_by_a_daemon_passes_without_kernel_entries() -> None:
    """ndppd answers with proxy_ndp=1 and no kernel proxy entry: judged by the wire, a pass."""
    frames = [frame(ns_frame(), at=1.0), frame(na_frame(), outgoing=True, at=1.0004)]
    verdict = judge(frames, prefixes=("2001:db8:0:1::/64",), state=proxy("1", "1", ()))
    assert verdict.outcome == "pass"
    assert "ND proxy daemon such as ndppd" in verdict.diagnosis
    assert "within 0.4 ms" in verdict.diagnosis
    assert any(f"no proxy entry on uplink0 for {CONTAINER}" in e for e in verdict.evidence)


def test_nothing_on_the_wire_is_not_a_pass() -> None:
    verdict = judge([], prefixes=("2001:db8:0:1::/64",))
    assert verdict.outcome == "not-observed"
    assert not verdict.ok
    assert "could not be seen" in verdict.diagnosis


def test_echoes_that_left_with_nothing_back_fail() -> None:
    """An upstream that lost its route for a routed prefix: requests leave, nothing returns."""
    out = frame(echo_frame(CONTAINER, ANCHOR), outgoing=True, at=0.1)
    verdict = judge([out], prefixes=("2001:db8:0:1::/64",))
    assert verdict.outcome == "fail"
    assert "nothing addressed to them came back" in verdict.diagnosis
    assert f"route {SUBNET} to 2001:db8:0:1::2" in verdict.fix


def test_traffic_arriving_for_a_container_proves_the_route() -> None:
    routed = "2001:db8:1::2"
    frames = [
        frame(echo_frame(routed, ANCHOR), outgoing=True, at=0.1),
        frame(echo_frame(ANCHOR, routed, reply=True), at=0.2),
    ]
    verdict = judge_prefix(
        addresses=[routed],
        subnet="2001:db8:1::/64",
        frames=frames,
        since=0.0,
        uplink=UPLINK,
        uplink_addresses=["2001:db8:0:1::2"],
        uplink_prefixes=("2001:db8:0:1::/64",),
        proxy=proxy("1", "0", ()),  # proxy switched on for something else: not our business
    )
    assert verdict.outcome == "pass"
    assert f"traffic for container address {routed} arrived from the upstream" in verdict.diagnosis


def test_uplink_view_takes_global_addresses_and_connected_prefixes() -> None:
    addresses, prefixes = uplink_view(
        [("2001:db8:0:1::2", 64), ("fe80::2", 64)],
        {
            "2001:db8:0:2::/64": None,
            "default": "fe80::1",
            "fe80::/64": None,
            "2001:db8:9::/48": "fe80::1",
        },
    )
    assert addresses == ("2001:db8:0:1::2",)
    assert prefixes == ("2001:db8:0:1::/64", "2001:db8:0:2::/64")


def test_proxy_state_compares_addresses_not_spellings() -> None:
    state = proxy("1", "0", ("2001:db8:0:1:d0c:242:ac11:2",))
    assert state.missing(["2001:0db8:0:1:d0c:242:ac11:0002", "2001:db8::9"]) == ("2001:db8::9",)
    assert state.enabled
    assert state.in_use
    assert not proxy().in_use
