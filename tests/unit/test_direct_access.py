"""Docker 28+'s direct-access drops before conntrack, on real dumps.

The dumps d28-raw (Docker 28.5.2), d29-iptables and d29-nftables (29.7.2, each firewall backend)
were taken in the lab's host namespace with one container on each network: the healthy lab's
``bridge`` and ``v6net`` (gateway mode nat, masqueraded), ``trustnet`` (nat, with
trusted_host_interfaces uplink0:tun9), ``masqoff`` (nat, enable_ip_masquerade=false) and
``routednet`` (gateway_mode_ipv6=routed). Docker wrote, for nat-mode networks only, one drop
per container in ip6tables' raw PREROUTING (``-d ADDR/128 ! -i BRIDGE -j DROP``, with an ACCEPT
before it per trusted interface) or in its nft table's ``raw-PREROUTING`` chain
(``ip6 daddr ADDR iifname != { BRIDGE, TRUSTED… } drop comment "DROP DIRECT ACCESS"``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes import icmp6
from probes.docker import NetworkInfo
from probes.firewall import (
    DIRECT_UNKNOWN,
    MAX_CARVED,
    Ruleset,
    assess_forward,
    direct_access_rule,
    parse_ip6tables_save,
)
from probes.netmode import ipv6_mode
from rules.rt import forward_fix, judge_far_end, judge_firewall
from rules.rt_mode import judge_mode

DATA = Path(__file__).parent / "data" / "docker"
DUMPS = ("d28-raw", "d29-iptables", "d29-nftables")
UPLINK = "uplink0"  # the lab's uplink, as the dumps name it
ANCHOR = "2001:db8:f00d::1"


def ruleset_of(dump: str, *, extra_raw: str = "") -> Ruleset:
    save = (DATA / f"{dump}.ip6tables-save.txt").read_text()
    if extra_raw:
        save = save.replace(
            "-A PREROUTING -d 2001:db8:1::2/128",
            f"{extra_raw}\n-A PREROUTING -d 2001:db8:1::2/128",
            1,
        )
    return Ruleset.parse(ip6tables_save=save, nft_json=(DATA / f"{dump}.nft.json").read_text())


def networks_of(dump: str) -> dict[str, NetworkInfo]:
    raw = json.loads((DATA / f"{dump}.networks.json").read_text())
    return {n["Name"]: NetworkInfo.from_api(n) for n in raw}


def major_of(dump: str) -> int:
    said = json.loads((DATA / f"{dump}.version.json").read_text())  # GET /version
    version = said["Version"]
    return int(str(version).split(".")[0])


def walk(
    dump: str,
    network: str,
    *,
    direct: bool | None,
    uplink: str = UPLINK,
    ruleset: Ruleset | None = None,
    inbound_new: bool = True,
):  # type: ignore[no-untyped-def]
    net = networks_of(dump)[network]
    assert net.bridge is not None
    return assess_forward(
        ruleset or ruleset_of(dump), subnets=net.subnets6, bridges=[net.bridge], uplink=uplink,
        destinations=[ANCHOR], inbound_new=inbound_new, direct=direct,
    )  # fmt: skip


# --- the readers -----------------------------------------------------------------------------


@pytest.mark.parametrize("dump", ["d28-raw", "d29-iptables"])
def test_ip6tables_raw_prerouting_is_read_as_a_raw_stage_chain(dump: str) -> None:
    parsed = parse_ip6tables_save((DATA / f"{dump}.ip6tables-save.txt").read_text())
    assert parsed.raw is not None
    (chain,) = parsed.raw.raw_chains()
    assert (chain.name, chain.hook, chain.priority) == ("PREROUTING", "prerouting", -300)
    texts = [r.text for r in chain.rules]
    assert "-A PREROUTING -d 2001:db8:1:1::2/128 ! -i br-v6net -j DROP" in texts
    assert "-A PREROUTING -d 2001:db8:1:7::2/128 -i uplink0 -j ACCEPT" in texts
    assert all(direct_access_rule(t) for t in texts)
    assert not direct_access_rule("-A PREROUTING -d 2001:db8:1:9::/64 -j DROP")


def test_dockers_nft_raw_prerouting_chain_is_read_as_a_raw_stage_chain() -> None:
    ruleset = ruleset_of("d29-nftables")
    assert ruleset.nft is not None
    docker6 = next(t for t in ruleset.nft.tables if t.label == "ip6 docker-bridges")
    (chain,) = docker6.raw_chains()
    assert (chain.name, chain.priority) == ("raw-PREROUTING", -300)
    trusted = next(r.text for r in chain.rules if "2001:db8:1:7::2" in r.text)
    assert '"br-trust"' in trusted
    assert '"uplink0"' in trusted
    assert "DROP DIRECT ACCESS" in trusted
    assert all(direct_access_rule(r.text) for r in chain.rules)


# --- healthy: masqueraded nat networks, routed ones, trusted interfaces ---------------------


@pytest.mark.parametrize("dump", DUMPS)
@pytest.mark.parametrize("network", ["bridge", "v6net"])
def test_a_masqueraded_network_is_not_failed_by_its_direct_access_drops(
    dump: str, network: str
) -> None:
    """Its replies come to the host's address and pass the raw stage: RT-04 passes, and the
    mode's evidence says the drops protect it."""
    verdict = walk(dump, network, direct=False, inbound_new=False)
    assert not verdict.drops, verdict
    assert not verdict.doubtful, verdict
    net = networks_of(dump)[network]
    mode = ipv6_mode(net, daemon_major=major_of(dump), ruleset=ruleset_of(dump), uplink=UPLINK,
                     destinations=[ANCHOR])  # fmt: skip
    assert mode.masqueraded is True
    assert mode.mode == "nat"
    assert len(mode.direct_access) == 1
    assert direct_access_rule(mode.direct_access[0])
    assert any("gateway mode nat protects them" in line for line in mode.evidence())
    judged = judge_firewall(verdict, network=net, mode=mode, uplink=UPLINK, docker="29.7.2")
    assert judged.ok
    assert judge_mode(mode, "nat", daemon_version=f"{major_of(dump)}.0").ok


@pytest.mark.parametrize("dump", DUMPS)
def test_a_routed_network_has_no_direct_access_drop(dump: str) -> None:
    verdict = walk(dump, "routednet", direct=True)
    assert not verdict.drops, verdict
    assert not verdict.doubtful, verdict
    net = networks_of(dump)["routednet"]
    mode = ipv6_mode(net, daemon_major=major_of(dump), ruleset=ruleset_of(dump), uplink=UPLINK,
                     destinations=[ANCHOR])  # fmt: skip
    assert mode.mode == "routed"
    assert not mode.direct_access
    assert any("Docker drops no direct access" in line for line in mode.evidence())


@pytest.mark.parametrize("dump", DUMPS)
def test_trusted_host_interfaces_let_direct_access_in_from_them_only(dump: str) -> None:
    from_uplink = walk(dump, "trustnet", direct=True, inbound_new=False)
    assert not [d for d in from_uplink.drops if d.raw_stage], from_uplink.drops
    from_elsewhere = walk(dump, "trustnet", direct=True, inbound_new=False, uplink="eth9")
    raw = [d for d in from_elsewhere.drops if d.raw_stage]
    assert raw
    assert all(d.by_docker and "2001:db8:1:7::2/128" in d.packet for d in raw)
    mode = ipv6_mode(networks_of(dump)["trustnet"], daemon_major=major_of(dump),
                     ruleset=ruleset_of(dump), uplink=UPLINK)  # fmt: skip
    assert any("uplink0 is one of its trusted host interfaces" in line for line in mode.evidence())


# --- nat mode without masquerade: the drops take the replies too ----------------------------


@pytest.mark.parametrize("dump", DUMPS)
def test_nat_without_masquerade_loses_its_replies_to_dockers_drop(dump: str) -> None:
    verdict = walk(dump, "masqoff", direct=True)
    raw = [d for d in verdict.drops if d.raw_stage]
    assert {d.traffic for d in raw} >= {
        "inbound new ICMPv6 echo-request",
        "inbound established TCP sport 443",
        "inbound related ICMPv6 packet-too-big",
    }
    assert all(d.proven and d.by_docker for d in raw)
    assert all("2001:db8:1:8::2/128" in d.packet for d in raw)  # the container's own packet
    net = networks_of(dump)["masqoff"]
    judged = judge_firewall(verdict, network=net, mode=None, uplink=UPLINK, docker="29.7.2")
    assert not judged.ok
    fix = str(judged.remedy)
    assert "trusted_host_interfaces" in fix
    assert "allow-direct-routing" in fix
    assert "gateway_mode_ipv6=routed" in fix
    mode = ipv6_mode(net, daemon_major=major_of(dump), ruleset=ruleset_of(dump), uplink=UPLINK)
    routed = judge_mode(mode, "routed", daemon_version=f"{major_of(dump)}.0")
    assert not routed.ok
    assert "the replies to their own connections too" in routed.diagnosis


def test_a_raw_drop_is_doubtful_where_the_masquerade_is_not_known() -> None:
    verdict = walk("d29-iptables", "masqoff", direct=None, inbound_new=False)
    raw = [d for d in verdict.doubtful if d.raw_stage]
    assert raw
    assert all(DIRECT_UNKNOWN in d.uncertain for d in raw)
    assert not [d for d in verdict.drops if d.raw_stage]


# --- a drop the site added: named by RT-04 and RT-05 -----------------------------------------


SITE_RAW_DROP = "-A PREROUTING -d 2001:db8:1:9::/64 -i uplink0 -j DROP"


def test_a_sites_raw_drop_on_a_routed_network_is_named_with_its_removal() -> None:
    ruleset = ruleset_of("d29-iptables", extra_raw=SITE_RAW_DROP)
    verdict = walk("d29-iptables", "routednet", direct=True, ruleset=ruleset)
    assert verdict.drops
    assert all(d.rule == SITE_RAW_DROP for d in verdict.drops)
    net = networks_of("d29-iptables")["routednet"]
    judged = judge_firewall(verdict, network=net, mode=None, uplink=UPLINK, docker="29.7.2",
                            backend="iptables")  # fmt: skip
    assert not judged.ok
    assert SITE_RAW_DROP in judged.diagnosis
    fix = str(judged.remedy)
    assert f"`ip6tables -t raw -D {SITE_RAW_DROP[3:]}`" in fix
    assert "DOCKER-USER" not in fix  # no accept there undoes a drop before conntrack


def test_a_raw_drop_for_one_container_is_proven_for_it_and_no_doubt_on_the_rest() -> None:
    one = "-A PREROUTING -d 2001:db8:1:9::2/128 -j DROP"
    ruleset = ruleset_of("d29-iptables", extra_raw=one)
    verdict = walk("d29-iptables", "routednet", direct=True, ruleset=ruleset)
    assert verdict.drops
    assert not verdict.doubtful
    assert all("2001:db8:1:9::2/128" in d.packet for d in verdict.drops)


def test_rt05_names_the_rule_that_drops_the_far_ends_echo() -> None:
    net = networks_of("d29-nftables")["masqoff"]
    ruleset = ruleset_of("d29-nftables")
    verdict = assess_forward(ruleset, subnets=["2001:db8:1:8::2/128"], bridges=[str(net.bridge)],
                             uplink=UPLINK, destinations=[ANCHOR])  # fmt: skip
    echo = [d for d in verdict.drops if d.traffic == "inbound new ICMPv6 echo-request"]
    assert echo
    silent = icmp6.EchoResult("2001:db8:1:8::2", None, None, None, ())
    judged = judge_far_end(silent, far_end="v6craw-inet", source="2001:db8:1:8::2",
                           container="c-masqoff", hop=None, dropped_by=echo, network=net,
                           docker="29.7.2")  # fmt: skip
    assert not judged.ok
    assert "DROP DIRECT ACCESS" in judged.diagnosis
    assert "trusted_host_interfaces" in str(judged.remedy)


# --- inbound advice by Docker version ----------------------------------------------------------


@pytest.mark.parametrize(
    ("docker", "says", "never"),
    [
        ("29.7.2", "nat-unprotected", "Docker 26 or older"),
        ("28.5.2+dfsg4", "gateway mode routed", "Docker 26 or older"),
        ("26.1.5", "Docker 26 has no gateway modes", "gateway_mode_ipv6"),
        ("20.10.24", "Docker 20 has no gateway modes", "gateway_mode_ipv6"),
    ],
)
def test_inbound_advice_follows_the_docker_version(docker: str, says: str, never: str) -> None:
    ruleset = Ruleset(ip6tables=parse_ip6tables_save(
        "*filter\n:FORWARD DROP [0:0]\nCOMMIT\n"))  # fmt: skip
    net = networks_of("d29-iptables")["v6net"]
    verdict = assess_forward(ruleset, subnets=net.subnets6, bridges=["br-v6net"], uplink=UPLINK,
                             destinations=[ANCHOR])  # fmt: skip
    fix = str(forward_fix(verdict.drops, net, UPLINK, docker))
    assert says in fix, fix
    assert never not in fix, fix


def test_firewallds_reverse_path_filter_in_raw_prerouting_casts_no_doubt() -> None:
    """firewalld (iptables backend) drops in raw PREROUTING what fails the reverse path check;
    our packets come in where their source is routed, so it decides nothing for them."""
    rpfilter = "-A PREROUTING -m rpfilter --invert -j DROP"
    ruleset = ruleset_of("d29-iptables", extra_raw=rpfilter)
    verdict = walk("d29-iptables", "routednet", direct=True, ruleset=ruleset)
    assert not verdict.drops
    assert not verdict.doubtful
    unknown = ruleset_of("d29-iptables", extra_raw="-A PREROUTING -m rpfilter --bogus -j DROP")
    assert walk("d29-iptables", "routednet", direct=True, ruleset=unknown).doubtful


def site_prerouting(priority: int) -> str:
    """Docker 29's nft dump plus a site's own table with a prerouting chain at ``priority``
    dropping traffic from the uplink to routednet's subnet."""
    document = json.loads((DATA / "d29-nftables.nft.json").read_text())
    head = {"family": "inet", "table": "site"}
    document["nftables"] += [
        {"table": {"family": "inet", "name": "site", "handle": 99}},
        {"chain": {**head, "name": "pre", "handle": 1, "type": "filter", "hook": "prerouting",
                   "prio": priority, "policy": "accept"}},
        {"rule": {**head, "chain": "pre", "handle": 2, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "uplink0"}},
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}},
                       "right": {"prefix": {"addr": "2001:db8:1:9::", "len": 64}}}},
            {"drop": None},
        ]}},
    ]  # fmt: skip
    return json.dumps(document)


def test_a_sites_nft_drop_at_raw_priority_is_named_and_not_later_ones() -> None:
    """A prerouting chain before conntrack is the raw stage; one after it (mangle, filter
    priority) is not walked, as before."""
    raw = Ruleset.parse(nft_json=site_prerouting(-300))
    verdict = walk("d29-nftables", "routednet", direct=True, ruleset=raw)
    assert verdict.drops
    assert all(d.table == "inet site" and d.raw_stage and not d.by_docker for d in verdict.drops)
    net = networks_of("d29-nftables")["routednet"]
    fix = str(judge_firewall(verdict, network=net, mode=None, uplink=UPLINK, docker="29.7.2",
                             backend="nftables").remedy)  # fmt: skip
    assert "`nft delete rule inet site pre handle HANDLE`" in fix
    later = Ruleset.parse(nft_json=site_prerouting(-150))
    assert not walk("d29-nftables", "routednet", direct=True, ruleset=later).drops


def test_many_containers_past_the_carving_limit_stay_doubtful_not_silent() -> None:
    """Up to MAX_CARVED addresses get packets of their own; a drop for one past them is
    doubtful for the rest of the subnet, never missed; the evidence lists a few and counts."""
    rules = "\n".join(
        f"-A PREROUTING -d 2001:db8:1:8::{n:x}/128 ! -i br-masqoff -j DROP"
        for n in range(2, 2 + MAX_CARVED + 10)
    )
    ruleset = ruleset_of("d29-iptables", extra_raw=rules)
    verdict = walk("d29-iptables", "masqoff", direct=True, ruleset=ruleset)
    addresses = {
        d.packet.split(" → ")[1].split()[0].rstrip(",") for d in verdict.drops if d.raw_stage
    }
    assert len(addresses) == MAX_CARVED
    assert any(d.raw_stage for d in verdict.doubtful)
    net = networks_of("d29-iptables")["masqoff"]
    mode = ipv6_mode(net, daemon_major=29, ruleset=ruleset, uplink=UPLINK)
    assert any(line.startswith("… and ") for line in mode.evidence())
