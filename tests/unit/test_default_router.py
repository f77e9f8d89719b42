"""RT-01's default-router question (rules.rt_router) on crafted inputs: a second router that
took the host's default route and leads nowhere fails, naming it; two routers that both lead on
(a redundant uplink) pass, whichever the kernel picks; and the probe's frame and its matching
(probes.router_path) on crafted packets."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from probes import icmp6
from probes.router_advert import RouterAdvert
from probes.router_path import KernelRoute, ViaRouter, echo_frame, match
from rules.judgement import passed
from rules.rt_router import DEFAULT_ROUTE, judge_default_router

SITE = "fe80::1"
SITE_MAC = "72:c0:45:48:0d:b7"
ROGUE = "fe80::5eff:fe10:2"
ROGUE_MAC = "02:00:5e:10:00:02"
ANCHORS = ("2001:db8:f00d::1", "2001:db8:f00d::2")
SOURCE = "2001:db8:0:1::2"
FORWARDING = passed("IPv6 forwarding is on; accept_ra on uplink0 fits its routes", ["forwarding"])


def advert(source: str, mac: str | None, preference: str = "medium", lifetime: int = 1800):
    return RouterAdvert(
        source=source, hop_limit=255, at_ms=1.0, cur_hop_limit=64, managed=False, other=False,
        preference=preference, router_lifetime=lifetime, reachable_time=0, retrans_timer=0,
        source_lladdr=mac, mtu=None, adv_interval_ms=None, prefixes=(), rdnss=(), dnssl=(),
        other_options=(),
    )  # fmt: skip


def via(router: str, mac: str, outcome: str, detail: str = "") -> tuple[ViaRouter, ...]:
    return tuple(ViaRouter(router, mac, SOURCE, a, outcome, detail, 1.0) for a in ANCHORS)


def chosen(gateway: str) -> tuple[KernelRoute, ...]:
    return tuple(KernelRoute(a, gateway, "uplink0") for a in ANCHORS)


UNREACHABLE = "destination unreachable (code 0: no route) from 2001:db8:0:1::3"
TWO = (advert(SITE, SITE_MAC), advert(ROGUE, ROGUE_MAC, "high"))


BY_ROGUE = chosen(ROGUE)


def judge(adverts=TWO, kernel=BY_ROGUE, echoes=(), unseen=None, forwarding=FORWARDING):
    return judge_default_router(
        forwarding, uplink="uplink0", adverts=adverts, chosen=kernel, via=echoes, unseen=unseen
    )


def test_a_rogue_that_took_the_default_route_fails_naming_it():
    j = judge(echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "error", UNREACHABLE))
    assert j.outcome == "fail"
    assert ROGUE in j.diagnosis
    assert ROGUE_MAC in j.diagnosis
    assert "preference high" in j.diagnosis
    assert "medium" in j.diagnosis
    assert "the kernel routes the anchors by it" in j.diagnosis
    assert UNREACHABLE in j.diagnosis
    assert j.hop == "uplink"
    assert DEFAULT_ROUTE in j.breaks
    assert "path:*" in j.breaks
    assert j.remedy is not None
    assert j.remedy.where == "host"
    assert "RA Guard" in j.remedy.text
    assert j.remedy.commands == (
        f"ip6tables -I INPUT -i uplink0 -s {ROGUE} -p ipv6-icmp --icmpv6-type "
        "router-advertisement -j DROP",
        f"ip -6 route del default via {ROGUE} dev uplink0",
    )
    # the evidence: each router's RA (preference, lifetime), the kernel's choice, each echo
    text = "\n".join(j.evidence)
    assert f"{ROGUE} ({ROGUE_MAC}): preference high, router lifetime 1800 s; leads nowhere" in text
    assert f"ip -6 route get {ANCHORS[0]}: via {ROGUE} dev uplink0" in text
    assert f"sent via {SITE} ({SITE_MAC}): answered" in text


def test_a_silent_rogue_fails_too():
    j = judge(echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "silent"))
    assert j.outcome == "fail"
    assert "got no answer" in j.diagnosis


@pytest.mark.parametrize("kernel", [chosen(ROGUE), chosen(SITE)])
def test_two_routers_that_both_lead_on_pass_whichever_the_kernel_picks(kernel):
    """A redundant uplink: the second router forwards, so its taking the route is no fault."""
    j = judge(
        kernel=kernel, echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "answered")
    )
    assert j.outcome == "pass", j.diagnosis
    assert "which leads on" in j.diagnosis


def test_a_dead_router_the_kernel_does_not_route_by_is_not_a_failure():
    j = judge(
        kernel=chosen(SITE),
        echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "error", UNREACHABLE),
    )
    assert j.outcome == "pass", j.diagnosis


def test_where_no_router_leads_on_the_break_is_beyond_the_uplink():
    j = judge(echoes=via(SITE, SITE_MAC, "silent") + via(ROGUE, ROGUE_MAC, "silent"))
    assert j.outcome == "pass"
    assert "beyond the uplink" in j.diagnosis


def test_one_router_or_nothing_tried_keeps_the_forwarding_verdict():
    j = judge(adverts=TWO[:1], kernel=(), unseen="1 router announces one on uplink0")
    assert j.outcome == "pass"
    assert j.diagnosis == FORWARDING.diagnosis
    assert "default routers: 1 router announces one on uplink0" in j.evidence


def test_forwarding_off_is_judged_first():
    off = judge_default_router(
        FORWARDING.__class__("fail", "forwarding off", ()),
        uplink="uplink0", adverts=TWO, chosen=chosen(ROGUE), via=(), unseen=None,
    )  # fmt: skip
    assert off.outcome == "fail"
    assert off.diagnosis == "forwarding off"


def test_a_router_without_mac_is_not_tried_and_not_blamed():
    adverts = (advert(SITE, SITE_MAC), advert(ROGUE, None, "high"))
    j = judge(adverts=adverts, echoes=via(SITE, SITE_MAC, "answered"))
    assert j.outcome == "pass"
    assert "not tried (no MAC: none in its RA, and no Neighbor Advertisement)" in "\n".join(
        j.evidence
    )
    # the kernel routes by it: said as it is, not as "a route of its own"
    assert f"the kernel routes the anchors by {ROGUE}, which could not be tried" in j.diagnosis


def test_a_rogue_whose_ra_carries_no_mac_is_tried_by_the_mac_it_answers_with():
    """The source link-layer option is optional (RFC 4861 4.2): the probe learns the router's
    MAC as the kernel does, by Neighbor Solicitation, and the rogue is found all the same."""
    adverts = (advert(SITE, SITE_MAC), advert(ROGUE, None, "high"))
    j = judge(
        adverts=adverts,
        echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "silent"),
    )
    assert j.outcome == "fail"
    assert f"{ROGUE} ({ROGUE_MAC}, from its Neighbor Advertisement" in j.diagnosis
    assert j.remedy is not None
    assert j.remedy.text.startswith(f"{ROGUE} ({ROGUE_MAC}) announces a default route")
    text = "\n".join(j.evidence)
    assert f"{ROGUE} ({ROGUE_MAC}, from its Neighbor Advertisement: its RA carries none)" in text


# --- the probe's frame and matching ------------------------------------------------------------
def _ipv6(src: str, dst: str, icmp: bytes) -> bytes:
    return (
        struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + icmp
    )


def test_the_echo_frame_goes_to_the_router_with_a_valid_checksum():
    frame = echo_frame(
        router_mac=bytes.fromhex("02005e100002"), own_mac=bytes(6), source=SOURCE,
        target=ANCHORS[0], ident=0x1234, seq=1,
    )  # fmt: skip
    assert frame[:6] == bytes.fromhex("02005e100002")
    assert frame[12:14] == b"\x86\xdd"
    packet = frame[14:]
    assert str(ipaddress.IPv6Address(packet[24:40])) == ANCHORS[0]
    # the one's-complement sum over pseudo-header and message is 0xffff when the checksum holds
    icmp = packet[40:]
    pseudo = packet[8:40] + struct.pack("!I3xB", len(icmp), 58)
    data = pseudo + icmp + (b"\0" if len(icmp) % 2 else b"")
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF
    assert isinstance(icmp6.decode(icmp), icmp6.Echo)


def test_match_reads_the_reply_and_an_error_quoting_the_echo():
    sent = echo_frame(
        router_mac=bytes(6), own_mac=bytes(6), source=SOURCE, target=ANCHORS[0], ident=7, seq=1
    )[14:]
    reply = _ipv6(ANCHORS[0], SOURCE, struct.pack("!BBHHH", 129, 0, 0, 7, 1) + b"v6conform")
    assert match(reply, source=SOURCE, target=ANCHORS[0], ident=7, seq=1) == ("answered", "")
    assert match(reply, source=SOURCE, target=ANCHORS[0], ident=8, seq=1) is None
    error = _ipv6("2001:db8:0:1::3", SOURCE, struct.pack("!BBHI", 1, 0, 0, 0) + sent)
    outcome, detail = match(error, source=SOURCE, target=ANCHORS[0], ident=7, seq=1) or ("", "")
    assert outcome == "error"
    assert detail == "destination unreachable (code 0: no route) from 2001:db8:0:1::3"
    # someone else's packet, or no IPv6 at all
    assert match(reply, source="2001:db8:0:1::9", target=ANCHORS[0], ident=7, seq=1) is None
    assert match(b"\x45" + bytes(60), source=SOURCE, target=ANCHORS[0], ident=7, seq=1) is None


def test_a_route_of_the_hosts_own_is_named_as_such_not_as_a_router_that_leads_on():
    """The host's own more specific route (the lab's, carrying the path's MTU) passes both
    routers by: the kernel's choice is said as it is."""
    j = judge(
        kernel=chosen("2001:db8:0:1::1"),
        echoes=via(SITE, SITE_MAC, "answered") + via(ROGUE, ROGUE_MAC, "answered"),
    )
    assert j.outcome == "pass"
    assert "2001:db8:0:1::1 (a route of its own, not an advertising router's)" in j.diagnosis


def test_the_ra_guard_fits_the_hosts_firewall_tool_and_quotes_what_it_names() -> None:
    from rules.rt_router import ra_guard_commands

    assert ra_guard_commands("ip6tables", "uplink0", "fe80::2")[0].startswith(
        "ip6tables -I INPUT -i uplink0 -s fe80::2 "
    )
    nft = ra_guard_commands("nft", "up link", "fe80::2")
    assert nft[0] == "nft add table ip6 v6conform_ra_guard"
    assert "hook input" in nft[1]
    assert "nd-router-advert drop" in nft[2]
    assert '\'add rule ip6 v6conform_ra_guard input iifname "up link" ' in nft[2]
    assert nft[-1] == "ip -6 route del default via fe80::2 dev 'up link'"
    assert ra_guard_commands(None, "uplink0", "fe80::2") == ()


def test_the_sites_own_router_dead_while_a_backup_leads_on_is_named_as_what_it_is():
    """Nothing tells a rogue from the site's own router gone bad: the text calls neither a
    'second router', and the fix says what to do in either case."""
    j = judge(
        kernel=chosen(SITE),
        echoes=via(SITE, SITE_MAC, "silent") + via(ROGUE, ROGUE_MAC, "answered"),
    )
    assert j.outcome == "fail"
    assert j.diagnosis.startswith(f"the router this host routes by on uplink0, {SITE} ")
    assert "second router" not in j.diagnosis
    assert j.remedy is not None
    assert "if it is the site's own router, repair it" in j.remedy.text
    assert f"({ROGUE}, which leads on, then carries" in j.remedy.text
    assert j.remedy.commands[-1] == f"ip -6 route del default via {SITE} dev uplink0"
