"""Lab faults: each scenario's faults change the site where they say, and only there."""

from __future__ import annotations

import pytest

from lab import SCENARIOS, Lab
from lab import topology as T
from lab.daemon import dockerd_args
from lab.dns import unbound_conf
from lab.dockers import GENERATIONS
from lab.faults import PacketTooBigDropped
from lab.scenarios import Scenario
from lab.site import HostChanges, Networks, Site
from lab.upstream import radvd_conf

MAJORS = {name: gen.expected_major for name, gen in GENERATIONS.items()}


def built(sc: Scenario, major: int, writes_ip6tables: bool) -> tuple[Site, Networks, HostChanges]:
    """What the lab would build for ``sc`` on a dockerd of ``major``, without building it."""
    site = sc.site()
    return site, sc.networks(site, major), sc.host_changes(site, writes_ip6tables)


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"healthy"}))
def test_every_fault_changes_the_site_on_some_generation(name: str) -> None:
    sc = SCENARIOS[name]
    for fault in sc.faults:
        alone = Scenario(name, sc.summary, faults=(fault,))
        changed = [
            gen
            for gen in sc.generations
            if built(alone, MAJORS[gen], MAJORS[gen] >= 27)
            != built(SCENARIOS["healthy"], MAJORS[gen], MAJORS[gen] >= 27)
        ]
        assert changed, (name, fault)


def test_healthy_is_the_site_without_faults() -> None:
    assert SCENARIOS["healthy"].faults == ()
    assert SCENARIOS["healthy"].site() == Site()


def test_router_advertises_rdnss_and_dnssl_unless_told_not_to() -> None:
    healthy = radvd_conf(Site().router)
    assert f"RDNSS {T.DNS6} {{ AdvRDNSSLifetime 300; }};" in healthy
    assert f"DNSSL {T.ZONE} {{ AdvDNSSLLifetime 300; }};" in healthy
    broken = radvd_conf(SCENARIOS["no-rdnss"].site().router)
    assert "RDNSS" not in broken
    assert "DNSSL" not in broken


def test_dns_faults_change_the_server_and_the_zone(tmp_path) -> None:
    conf, zones = unbound_conf(tmp_path, Site().dns)
    assert f"interface: {T.DNS6}" in conf
    assert 'module-config: "iterator"' in conf
    assert f"{T.ZONE}. 300 IN AAAA" in zones[f"{T.ZONE}.zone"]
    conf, _ = unbound_conf(tmp_path, SCENARIOS["dns-v6-down"].site().dns)
    assert f"interface: {T.DNS6}" not in conf
    assert f"interface: {T.DNS4}" in conf
    conf, _ = unbound_conf(tmp_path, SCENARIOS["dns64"].site().dns)
    assert 'module-config: "dns64 iterator"' in conf
    assert f"dns64-prefix: {T.NAT64_PREFIX}" in conf
    _, zones = unbound_conf(tmp_path, SCENARIOS["dns-no-aaaa"].site().dns)
    assert f"www.{T.ZONE}. 300 IN AAAA" not in zones[f"{T.ZONE}.zone"]
    assert f"{T.ZONE}. 300 IN AAAA" in zones[f"{T.ZONE}.zone"]  # the apex keeps its own
    _, zones = unbound_conf(tmp_path, SCENARIOS["apex-no-aaaa"].site().dns)
    assert f"\n{T.ZONE}. 300 IN AAAA" not in zones[f"{T.ZONE}.zone"]
    assert f"www.{T.ZONE}. 300 IN AAAA" in zones[f"{T.ZONE}.zone"]


@pytest.mark.parametrize(
    ("scenario", "gen", "has", "lacks"),
    [
        ("healthy", "20.10", ["--ipv6", "--fixed-cidr-v6", T.ROUTED_BRIDGE6], ["--ip6tables"]),
        ("unrouted-prefix", "20.10", ["--fixed-cidr-v6", T.ONLINK_BRIDGE6], []),
        ("nat66", "26", ["--experimental", "--ip6tables"], []),
        ("nat66", "28", [], ["--ip6tables"]),  # 28 writes ip6tables by default
        ("ula-pool", "28", ["--ipv6"], ["--fixed-cidr-v6"]),
        ("build-resolv", "20.10", [], ["--ipv6", "--fixed-cidr-v6"]),
    ],
)
def test_dockerd_flags(scenario: str, gen: str, has: list[str], lacks: list[str]) -> None:
    site = SCENARIOS[scenario].site()
    args = dockerd_args(Lab("v6cu"), GENERATIONS[gen], site.host, site.addressing)
    joined = " ".join(args)
    assert " ".join(has) in joined
    assert not set(lacks) & set(args)


def test_networks_follow_the_docker_version() -> None:
    for major, mode, names in (
        (26, None, [T.USER_NETWORK]),
        (27, "routed", [T.USER_NETWORK]),
        (28, "routed", [T.USER_NETWORK, T.V6ONLY_NETWORK]),
    ):
        _, networks, _ = built(SCENARIOS["ipv6-only"], major, True)
        assert networks.gateway_mode_ipv6 == mode
        assert [n.name for n in networks.created] == names


def test_host_firewall_faults_go_where_the_site_keeps_its_rules() -> None:
    for writes, chain in ((False, ["-P", "FORWARD", "DROP"]), (True, ["-I", "DOCKER-USER"])):
        _, _, changes = built(SCENARIOS["forward-drop"], 28, writes)
        assert [(role, argv[:3]) for role, argv in changes.commands] == [
            ("host", ("ip6tables", *chain[:2]))
        ]
    _, _, changes = built(SCENARIOS["pmtu-upstream"], 20, False)
    assert [(role, argv[:3]) for role, argv in changes.commands] == [
        ("upstream", ("ip6tables", "-I", "OUTPUT"))
    ]
    assert SCENARIOS["pmtu-upstream"].site().host.path_mtu is None
    with pytest.raises(ValueError, match="host or upstream"):
        PacketTooBigDropped(at="elsewhere").host(HostChanges(False), Site())


def test_ndp_proxy_entries_cover_both_on_link_prefixes() -> None:
    site, _, changes = built(SCENARIOS["ndp-proxy"], 20, False)
    proxied = [argv[-3] for _, argv in changes.commands if argv[:3] == ("ip", "-6", "neigh")]
    assert len(proxied) == 4 * T.PROXY_ENTRIES_PER_NETWORK
    assert site.addressing.routed_to_host == []
    assert site.addressing.container_prefix == T.UPLINK_PREFIX


def test_workloads_scenario_says_its_containers() -> None:
    sc = SCENARIOS["workloads"]
    assert (sc.workloads, sc.workloads_without_route, sc.workloads_bad_resolv) == (6, 1, 1)
    assert SCENARIOS["healthy"].workloads == 0


def test_two_narrower_hops_each_narrower_than_the_last_and_the_far_one_silenced() -> None:
    site, _, changes = built(SCENARIOS["pmtu-two-hops"], 28, True)
    assert site.core.hops == (T.FIRST_HOP_MTU, T.PATH_MTU)
    assert T.FIRST_HOP_MTU > T.PATH_MTU >= 1280
    # a healthy host that locks its route's MTU locks the path's, the smallest
    assert site.host.path_mtu == site.core.path_mtu == T.PATH_MTU
    assert changes.commands == []
    far, _, changes = built(SCENARIOS["pmtu-far-blackhole"], 20, False)
    assert far.core.hops == site.core.hops
    assert far.host.path_mtu == T.FIRST_HOP_MTU  # the host knows only its provider's hop
    assert [(role, argv[:3]) for role, argv in changes.commands] == [
        ("transit", ("ip6tables", "-I", "OUTPUT"))
    ]
