"""The gateway checks' judgement (GW-01..GW-03) on crafted probe results: no lab, no fixtures."""

from __future__ import annotations

from probes import icmp6, ndp
from probes.docker import DaemonInfo, NetworkInfo, ProbeContainer
from probes.ifaddr import DADFAILED, TENTATIVE, IfAddr, Route6, Snapshot
from probes.profile import Profile
from rules.gw import (
    GatewayExchange,
    gateways_to_probe,
    judge_bridge,
    judge_container_address,
    judge_gateway_answers,
    solicit_source,
)

PERMANENT = 0x80
DOCKER20 = DaemonInfo("20.10.24", "1.41")
DOCKER28 = DaemonInfo("28.0.1", "1.48")
DEFAULTS = Profile()

DOCKER0 = NetworkInfo(
    "bridge",
    "id0",
    "bridge",
    True,
    "docker0",
    ("2001:db8:1::/64",),
    ("2001:db8:1::1",),
    (("com.docker.network.bridge.default_bridge", "true"),),
)
V6NET = NetworkInfo(
    "v6net", "id1", "bridge", True, "br-v6net", ("2001:db8:1:1::/64",), ("2001:db8:1:1::1",)
)


def host(*addresses: tuple[str, int, int], bridge: str = "docker0") -> Snapshot:
    return Snapshot("host-ns", (), tuple(IfAddr(bridge, a, n, f) for a, n, f in addresses), ())


# --- GW-01 --------------------------------------------------------------------------------------


def test_gw01_passes_on_docker20_with_fe80_1_past_dad() -> None:
    snap = host(("fe80::1", 64, PERMANENT), ("2001:db8:1::1", 64, PERMANENT))
    j = judge_bridge(DOCKER0, snap, daemon=DOCKER20, profile=DEFAULTS)
    assert j.outcome == "pass", j
    assert "carries the gateway fe80::1/64 on docker0" in j.diagnosis
    assert j.evidence[0] == (
        "Docker daemon 20.10.24; expected fe80::1/64 because Docker 20.x assigns fe80::1/64 to "
        "IPv6 bridges"
    )
    assert "  2001:db8:1::1/64 on docker0 [permanent]" in j.evidence


def test_gw01_fails_when_the_bridge_lacks_fe80_1() -> None:
    snap = host(("2001:db8:1::1", 64, PERMANENT))
    j = judge_bridge(DOCKER0, snap, daemon=DOCKER20, profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis == "bridge docker0 of network bridge lacks the gateway fe80::1"
    assert j.fix == (
        "restore it (`ip addr add fe80::1/64 dev docker0`) or restart dockerd so it sets the "
        "bridge up again"
    )
    assert j.hop == "bridge"  # its own evidence places it: the bridge lacks it


def test_gw01_fails_on_the_right_address_with_the_wrong_prefix_length() -> None:
    j = judge_bridge(DOCKER0, host(("fe80::1", 128, PERMANENT)), daemon=DOCKER20, profile=DEFAULTS)
    assert j.outcome == "fail"
    assert "lacks the gateway fe80::1" in j.diagnosis


def test_gw01_fails_on_a_gateway_that_failed_dad() -> None:
    j = judge_bridge(
        DOCKER0, host(("fe80::1", 64, PERMANENT | DADFAILED)), daemon=DOCKER20, profile=DEFAULTS
    )
    assert j.outcome == "fail"
    assert j.diagnosis == (  # the address says its interface, and the text says it again
        "gateway fe80::1/64 on docker0 [dadfailed permanent] on docker0 is not usable: dadfailed"
    )
    assert (j.fix or "").startswith("dadfailed: another node")


def test_gw01_fails_on_a_tentative_gateway() -> None:
    j = judge_bridge(DOCKER0, host(("fe80::1", 64, TENTATIVE)), daemon=DOCKER20, profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis.endswith("is not usable: tentative")


def test_gw01_on_docker28_wants_the_networks_gateway_and_notes_fe80_1_is_gone() -> None:
    snap = host(("fe80::1", 64, PERMANENT), bridge="br-v6net")
    j = judge_bridge(V6NET, snap, daemon=DOCKER28, profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis == "bridge br-v6net of network v6net lacks the gateway 2001:db8:1:1::1"
    assert j.evidence[0].startswith("Docker daemon 28.0.1; expected 2001:db8:1:1::1/64 because")
    assert j.evidence[-1].startswith("note: Docker 27 and later no longer assign fe80::1")


def test_gw01_holds_the_bridge_to_the_profiles_gateway() -> None:
    demanding = Profile(link_local_gateway="fe80::2", source="host.toml")
    j = judge_bridge(DOCKER0, host(("fe80::1", 64, PERMANENT)), daemon=DOCKER20, profile=demanding)
    assert j.outcome == "fail"
    assert "lacks the gateway fe80::2" in j.diagnosis
    assert "because the profile (host.toml) demands it" in j.evidence[0]


def test_gw01_with_no_daemon_version_says_unknown_and_lists_no_address() -> None:
    j = judge_bridge(DOCKER0, host(), daemon=None, profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.evidence[0].startswith("Docker daemon unknown; expected 2001:db8:1::1/64")
    assert "  (no IPv6 address)" in j.evidence


def test_gw01_not_observed_without_a_bridge_interface() -> None:
    nobridge = NetworkInfo("mv", "id2", "macvlan", True, None, ("2001:db8:2::/64",), ())
    j = judge_bridge(nobridge, host(), daemon=DOCKER20, profile=DEFAULTS)
    assert (j.outcome, j.diagnosis) == ("not-observed", "mv has no host-side bridge interface")


def test_gw01_not_observed_when_the_bridge_was_not_read() -> None:
    j = judge_bridge(DOCKER0, None, daemon=DOCKER20, profile=DEFAULTS)
    assert j.outcome == "not-observed"
    assert j.diagnosis == "no probe container on bridge, so its bridge was not read"


# --- GW-02 --------------------------------------------------------------------------------------

CONTAINER = ProbeContainer("v6conform-1-bridge", "cid", DOCKER0, 42, "eth0", None, None, None)
LINK_LOCAL = ("fe80::42:ac11:2", 64, PERMANENT)
GLOBAL = ("2001:db8:1::2", 64, PERMANENT)
VIA_GATEWAY = Route6("default", "2001:db8:1::1", "eth0", "static", 1024)


def inside(
    *addresses: tuple[str, int, int], routes: tuple[Route6, ...] = (VIA_GATEWAY,)
) -> Snapshot:
    return Snapshot("ctr-ns", (), tuple(IfAddr("eth0", a, n, f) for a, n, f in addresses), routes)


def test_gw02_passes_with_both_addresses_and_the_default_route() -> None:
    j = judge_container_address(CONTAINER, inside(LINK_LOCAL, GLOBAL), profile=DEFAULTS)
    assert j.outcome == "pass", j
    assert "2001:db8:1::2" in j.diagnosis
    assert "via 2001:db8:1::1 dev eth0" in j.diagnosis
    assert "IPv6 routes:" in j.evidence


def test_gw02_fails_without_a_global_address_in_the_subnet() -> None:
    outside = ("2001:db8:9::2", 64, PERMANENT)
    j = judge_container_address(CONTAINER, inside(LINK_LOCAL, outside), profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis == (
        "container v6conform-1-bridge on bridge: no global address inside 2001:db8:1::/64"
    )
    assert j.fix == (
        "check the network's IPv6 settings (`docker network inspect bridge`: EnableIPv6, IPv6 "
        "subnet) and the bridge's gateway (GW-01)"
    )


def test_gw02_fails_on_a_global_address_still_in_dad() -> None:
    tentative = ("2001:db8:1::2", 64, TENTATIVE)
    j = judge_container_address(CONTAINER, inside(LINK_LOCAL, tentative), profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(
        "bridge: global address 2001:db8:1::2/64 on eth0 [tentative] has not passed DAD"
    )


def test_gw02_fails_without_a_link_local_address() -> None:
    j = judge_container_address(CONTAINER, inside(GLOBAL), profile=DEFAULTS)
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(": no link-local address")


def test_gw02_fails_on_a_link_local_past_the_dad_timeout() -> None:
    stuck = ("fe80::42:ac11:2", 64, TENTATIVE)
    j = judge_container_address(CONTAINER, inside(stuck, GLOBAL), profile=Profile(dad_timeout=1.5))
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(
        "bridge: link-local fe80::42:ac11:2/64 on eth0 [tentative] has not passed DAD within 1.5 s"
    )


def test_gw02_fails_without_a_default_route_and_lists_those_it_has() -> None:
    wrong = Route6("default", "fe80::9", "eth0", "ra", None)
    j = judge_container_address(CONTAINER, inside(LINK_LOCAL, GLOBAL, routes=()), profile=DEFAULTS)
    assert j.diagnosis.endswith(
        "no IPv6 default route via 2001:db8:1::1 dev eth0 (default routes: none)"
    )
    assert "  (none)" in j.evidence
    j = judge_container_address(
        CONTAINER, inside(LINK_LOCAL, GLOBAL, routes=(wrong,)), profile=DEFAULTS
    )
    assert j.outcome == "fail"
    assert "(default routes: default via fe80::9 dev eth0 proto ra)" in j.diagnosis


def test_gw02_wants_the_profiles_default_gateway_on_the_default_bridge_only() -> None:
    profile = Profile(default_gateway_v6="2001:db8:1::fe")
    j = judge_container_address(CONTAINER, inside(LINK_LOCAL, GLOBAL), profile=profile)
    assert j.outcome == "fail"
    assert "no IPv6 default route via 2001:db8:1::fe dev eth0" in j.diagnosis
    on_v6net = ProbeContainer("v6conform-1-v6net", "cid", V6NET, 43, "eth0", None, None, None)
    route = Route6("default", "2001:db8:1:1::1", "eth0", "static", 1024)
    snap = inside(LINK_LOCAL, ("2001:db8:1:1::2", 64, PERMANENT), routes=(route,))
    assert judge_container_address(on_v6net, snap, profile=profile).outcome == "pass"


def test_gw02_names_every_problem_at_once() -> None:
    j = judge_container_address(CONTAINER, inside(routes=()), profile=DEFAULTS)
    assert j.diagnosis.count("; ") == 2, j.diagnosis
    assert "  (no IPv6 address)" in j.evidence


# --- GW-03 --------------------------------------------------------------------------------------


def exchange(
    gateway: str, *, ns: bool = True, echo: bool = True, error: str | None = None
) -> GatewayExchange:
    solicited = ndp.SolicitResult(
        gateway, "fe80::2", "eth0", 1.2 if ns else None, None, (f"sent NS who-has {gateway}",)
    )
    echoed = icmp6.EchoResult(
        gateway, None, 0.3 if echo else None, error, (f"echo request to {gateway}",)
    )
    return GatewayExchange(gateway, solicited, echoed)


def test_gw03_passes_when_every_gateway_answers_both() -> None:
    j = judge_gateway_answers([exchange("2001:db8:1::1"), exchange("fe80::1")], container=CONTAINER)
    assert j.outcome == "pass", j
    assert "2001:db8:1::1, fe80::1 answered" in j.diagnosis
    assert "[fe80::1] sent NS who-has fe80::1" in j.evidence


def test_gw03_fails_on_a_gateway_silent_to_neighbor_solicitation() -> None:
    j = judge_gateway_answers(
        [exchange("2001:db8:1::1"), exchange("fe80::1", ns=False)], container=CONTAINER
    )
    assert j.outcome == "fail"
    assert j.diagnosis == (
        "from container v6conform-1-bridge on bridge: fe80::1 did not answer Neighbor Solicitation"
    )
    assert j.fix == (
        "check the gateway addresses on docker0 (GW-01) and the container's route (GW-02); an "
        "ip6tables INPUT rule on the host can also drop ICMPv6"
    )


def test_gw03_fails_on_a_gateway_silent_to_echo_with_the_error_that_came_back() -> None:
    unreachable = "destination unreachable (code 1) from 2001:db8:1::1"
    j = judge_gateway_answers(
        [exchange("2001:db8:1::1", echo=False, error=unreachable)], container=CONTAINER
    )
    assert j.diagnosis.endswith(f"2001:db8:1::1 did not answer echo ({unreachable})")
    j = judge_gateway_answers(
        [exchange("2001:db8:1::1", ns=False, echo=False)], container=CONTAINER
    )
    assert j.outcome == "fail"
    assert j.diagnosis.endswith(
        "2001:db8:1::1 did not answer Neighbor Solicitation; 2001:db8:1::1 did not answer echo"
    )


def test_gw03_not_observed_with_no_exchange() -> None:
    j = judge_gateway_answers([], container=CONTAINER)
    assert (j.outcome, j.diagnosis) == ("not-observed", "no gateway of bridge was probed")


def test_the_solicit_source_is_a_usable_link_local() -> None:
    tentative = IfAddr("eth0", "fe80::42:ac11:2", 64, TENTATIVE)
    usable = IfAddr("eth0", "fe80::42:ac11:3", 64, PERMANENT)
    global_ = IfAddr("eth0", "2001:db8:1::2", 64, PERMANENT)
    assert solicit_source([global_, tentative, usable]) is usable
    assert solicit_source([global_, tentative]) is None


def test_the_gateways_to_probe_add_fe80_1_where_gw01_expects_it() -> None:
    assert gateways_to_probe(20, DOCKER0, DEFAULTS) == ("2001:db8:1::1", "fe80::1")
    assert gateways_to_probe(28, DOCKER0, DEFAULTS) == ("2001:db8:1::1",)
    bare = NetworkInfo("bare", "id3", "bridge", True, "br-bare", (), ())
    assert gateways_to_probe(20, bare, DEFAULTS) == ("fe80::1",)


def test_gw02_on_an_internal_network_needs_no_default_route() -> None:
    """Docker 28 gives an internal network's containers no default route: isolation is the
    site's intent, not a broken route; everything else is judged as anywhere."""
    from dataclasses import replace

    internal = replace(CONTAINER, network=replace(DOCKER0, internal=True))
    j = judge_container_address(internal, inside(LINK_LOCAL, GLOBAL, routes=()), profile=DEFAULTS)
    assert j.outcome == "pass", j
    assert "no default route (the network is internal" in j.diagnosis
    ordinary = judge_container_address(
        CONTAINER, inside(LINK_LOCAL, GLOBAL, routes=()), profile=DEFAULTS
    )
    assert ordinary.outcome == "fail"
    missing = judge_container_address(internal, inside(LINK_LOCAL, routes=()), profile=DEFAULTS)
    assert missing.outcome == "fail"  # its addresses are still held to the rule


def test_what_needs_the_outside_is_not_observed_on_an_internal_network() -> None:
    from dataclasses import replace

    from rules.isolation import isolated

    assert isolated(DOCKER0, "reaching the anchors") is None
    j = isolated(replace(DOCKER0, internal=True), "reaching the anchors")
    assert j is not None
    assert j.outcome == "not-observed"
    assert j.fix is None  # nothing that would open it
    assert "bridge is internal (--internal)" in j.diagnosis
    assert j.diagnosis.endswith("so reaching the anchors does not apply")
