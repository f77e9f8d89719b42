"""RT-06's model: a network's IPv6 mode from its options and the firewall, and the verdict.

The dumps under data/docker/ are real: Docker 28.5.2 (networks v6net, routed with
gateway_mode_ipv6=routed, and the default bridge), Docker 26.1.5 with --experimental
--ip6tables (the same networks; 26 ignores the option) and Docker 26.1.5 as shipped (ip6tables
off, ip6tables-save empty).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from probes.docker import NetworkInfo
from probes.firewall import Ruleset
from probes.netmode import (
    GATEWAY_MODE_OPTION,
    MASQUERADE_OPTION,
    Ipv6Mode,
    firewall_backend,
    ipv6_mode,
)
from rules.rt_mode import judge_mode

DATA = Path(__file__).parent / "data" / "docker"
UPLINK = "eth0"


def ruleset_of(dump: str) -> Ruleset:
    return Ruleset.parse(
        ip6tables_save=(DATA / f"{dump}.ip6tables-save.txt").read_text(),
        nft_json=(DATA / f"{dump}.nft.json").read_text(),
    )


def networks_of(dump: str) -> dict[str, NetworkInfo]:
    raw = json.loads((DATA / f"{dump}.networks.json").read_text())
    return {n["Name"]: NetworkInfo.from_api(n) for n in raw}


def version_of(dump: str) -> str:
    return str(json.loads((DATA / f"{dump}.version.json").read_text())["Server"]["Version"])


def mode_of(dump: str, network: str, *, uplink: str | None = UPLINK) -> Ipv6Mode:
    major = int(version_of(dump).split(".")[0])
    net = networks_of(dump)[network]
    return ipv6_mode(net, daemon_major=major, ruleset=ruleset_of(dump), uplink=uplink)


MASQ_V6NET = "-A POSTROUTING -s 2001:db8:1:1::/64 ! -o br-v6net -j MASQUERADE"
MASQ_ROUTED = "-A POSTROUTING -s 2001:db8:1:2::/64 ! -o br-routed -j MASQUERADE"
MASQ_DOCKER0 = "-A POSTROUTING -s 2001:db8:1::/64 ! -o docker0 -j MASQUERADE"
DROP_V6NET = "-A DOCKER ! -i br-v6net -o br-v6net -j DROP"
DROP_DOCKER0 = "-A DOCKER ! -i docker0 -o docker0 -j DROP"


# --- the real dumps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dump", "network", "mode", "masqueraded", "rules"),
    [
        ("d28", "v6net", "nat", True, (MASQ_V6NET, DROP_V6NET)),
        ("d28", "routed", "routed", False, ()),
        ("d28", "bridge", "nat", True, (MASQ_DOCKER0, DROP_DOCKER0)),
        ("d26-ip6tables", "v6net", "nat", True, (MASQ_V6NET,)),
        ("d26-ip6tables", "routed", "nat", True, (MASQ_ROUTED,)),
        ("d26-ip6tables", "bridge", "nat", True, (MASQ_DOCKER0,)),
        ("d26", "v6net", "routed", False, ()),
        ("d26", "routed", "routed", False, ()),
        ("d26", "bridge", "routed", False, ()),
    ],
)
def test_real_dumps(
    dump: str, network: str, mode: str, masqueraded: bool, rules: tuple[str, ...]
) -> None:
    found = mode_of(dump, network)
    assert (found.network, found.mode, found.masqueraded) == (network, mode, masqueraded)
    assert found.rules == rules
    assert found.inbound_reachable is (not masqueraded)
    assert found.ula is False
    assert found.ipv6_only is False


def test_d28_nat_evidence_and_summary() -> None:
    found = mode_of("d28", "v6net")
    evidence = found.evidence()
    assert evidence[0] == (
        "v6net: gateway mode nat (Docker 28 default; "
        "option com.docker.network.bridge.gateway_mode_ipv6 not set)"
    )
    assert f"ip6tables nat POSTROUTING: {MASQ_V6NET}" in evidence
    assert "read: ip6tables nat POSTROUTING (type nat, hook postrouting, 2 rules)" in evidence
    assert "firewall backend: iptables" in evidence
    drop = next(line for line in evidence if DROP_V6NET in line)
    assert drop.startswith("ip6tables filter DOCKER: ")
    assert "Docker 28+ blocks direct access to unpublished ports" in drop
    assert found.summary == (
        "v6net is masqueraded (NAT66, gateway mode nat): the far end sees the host's address, "
        "not the containers'"
    )
    assert found.option is None
    assert found.notes == ()


def test_d28_routed_is_routed_by_its_option() -> None:
    found = mode_of("d28", "routed")
    assert found.option == "routed"
    assert found.evidence()[0] == (
        "routed: gateway mode routed (option com.docker.network.bridge.gateway_mode_ipv6=routed)"
    )
    assert found.summary.startswith("routed is routed (gateway mode routed, no masquerade)")
    assert found.notes == ()
    assert not any("MASQUERADE" in line for line in found.evidence())


def test_d28_default_bridge_is_known_as_such() -> None:
    found = mode_of("d28", "bridge")
    assert found.default_bridge
    assert not mode_of("d28", "v6net").default_bridge


def test_d26_ignores_the_gateway_mode_option() -> None:
    found = mode_of("d26-ip6tables", "routed")
    assert found.option == "routed"
    assert found.evidence()[0].startswith("routed: mode nat (Docker 26 has no gateway modes;")
    [note] = [n for n in found.notes if "ignores" in n]
    assert note.startswith("Docker 26 ignores gateway_mode_ipv6 (added in 27)")
    assert MASQ_ROUTED in note
    assert "Docker 26 has no gateway modes" in found.summary
    # the FORWARD policy Docker 26 set is evidence, not a rule
    assert any(
        line.startswith("ip6tables filter FORWARD: policy DROP") and "Docker 26" in line
        for line in found.evidence()
    )
    # without the option there is nothing to ignore
    assert not any("ignores" in n for n in mode_of("d26-ip6tables", "v6net").notes)


def test_d26_without_ip6tables_is_plain_routed() -> None:
    found = mode_of("d26", "v6net")
    assert found.ip6tables is False  # inferred: no Docker rule for IPv6 anywhere
    assert any("ip6tables appears to be off" in n for n in found.notes)
    assert "plain routed IPv6" in found.basis
    assert firewall_backend(ruleset_of("d26")) == "none"
    # the option is still ignored, and no rule masquerades it
    [note] = [n for n in mode_of("d26", "routed").notes if "ignores" in n]
    assert note == "Docker 26 ignores gateway_mode_ipv6 (added in 27): routed has no effect"


def test_unnamed_uplink_still_finds_dockers_masquerade() -> None:
    """``! -o br-v6net`` is decided without the uplink: that bridge is not it."""
    found = mode_of("d28", "v6net", uplink=None)
    assert found.masqueraded is True
    assert MASQ_V6NET in found.rules


def test_only_nft_read_still_sees_iptables_nft_masquerade() -> None:
    net = networks_of("d28")["v6net"]
    ruleset = Ruleset.parse(nft_json=(DATA / "d28.nft.json").read_text(), unread=["no ip6tables"])
    found = ipv6_mode(net, daemon_major=28, ruleset=ruleset, uplink=UPLINK)
    assert found.masqueraded is True
    assert found.rules[0] == (
        'ip6 saddr 2001:db8:1:1::/64 oifname != "br-v6net" counter xt target MASQUERADE'
    )


def test_firewall_backend() -> None:
    assert firewall_backend(ruleset_of("d28")) == "iptables"
    assert firewall_backend(ruleset_of("d26-ip6tables")) == "iptables"
    assert firewall_backend(ruleset_of("d26")) == "none"
    assert firewall_backend(None) == "unknown"
    assert firewall_backend("ip6tables-save is not installed") == "unknown"
    assert firewall_backend(Ruleset.parse(ip6tables_save="\x00junk")) == "unknown"
    assert firewall_backend(Ruleset.parse(nft_json=docker_bridges())) == (
        "nftables (table ip6 docker-bridges)"
    )


# --- nftables (Docker 29's firewall-backend) -----------------------------------------------


def docker_bridges(*rules: list[object], family: str = "ip6", maps: list[object] = ()) -> str:
    """``nft -j list ruleset`` with table FAMILY docker-bridges: a base chain nat-POSTROUTING
    (type nat, hook postrouting) and a regular chain nat-postrouting-out__docker0. Each rule is
    [chain, expressions...]; without rules, the masquerade rule of the brief's example."""
    if not rules:
        rules = (["nat-POSTROUTING", saddr("2001:db8:1::", 64), oif_not("docker0"), MASQ],)
    table = "docker-bridges"
    items: list[object] = [
        {"metainfo": {"version": "1.1.3", "release_name": "Commodore Bullmoose #4",
                      "json_schema_version": 1}},
        {"table": {"family": family, "name": table, "handle": 7}},
        *({"map": {"family": family, "table": table, **m}} for m in maps),
        {"chain": {"family": family, "table": table, "name": "nat-POSTROUTING", "handle": 1,
                   "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}},
        {"chain": {"family": family, "table": table, "name": "nat-postrouting-out__docker0",
                   "handle": 2}},
    ]  # fmt: skip
    for handle, (chain, *expr) in enumerate(rules, start=10):
        items.append(
            {"rule": {"family": family, "table": table, "chain": chain, "handle": handle,
                      "expr": expr}}
        )  # fmt: skip
    return json.dumps({"nftables": items})


def saddr(addr: str, length: int) -> object:
    return {
        "match": {
            "op": "==",
            "left": {"payload": {"protocol": "ip6", "field": "saddr"}},
            "right": {"prefix": {"addr": addr, "len": length}},
        }
    }


def oif_not(name: str) -> object:
    return {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": name}}


MASQ: object = {"masquerade": None}
DOCKER0 = NetworkInfo(
    "bridge",
    "ff" * 32,
    "bridge",
    True,
    "docker0",
    ("2001:db8:1::/64",),
    ("2001:db8:1::1",),
    (("com.docker.network.bridge.default_bridge", "true"),),
)


def test_nft_docker_bridges_masquerade() -> None:
    ruleset = Ruleset.parse(nft_json=docker_bridges())
    found = ipv6_mode(DOCKER0, daemon_major=29, ruleset=ruleset, uplink=UPLINK)
    assert found.masqueraded is True
    assert found.rules == ('ip6 saddr 2001:db8:1::/64 oifname != "docker0" masquerade',)
    evidence = found.evidence()
    assert "firewall backend: nftables (table ip6 docker-bridges)" in evidence
    assert (
        "read: nftables ip6 docker-bridges nat-POSTROUTING (type nat, hook postrouting, 1 rules)"
        in evidence
    )
    assert f"nftables ip6 docker-bridges nat-POSTROUTING: {found.rules[0]}" in evidence
    other = replace(DOCKER0, name="other", bridge="br-other", subnets6=("2001:db8:2::/64",))
    assert ipv6_mode(other, daemon_major=29, ruleset=ruleset).masqueraded is False


def test_nft_docker_29_dispatches_through_a_verdict_map() -> None:
    """Docker 29: ``iifname vmap @nat-postrouting-out-jumps`` to a per-bridge chain."""
    jumps = {
        "name": "nat-postrouting-out-jumps",
        "handle": 3,
        "type": "ifname",
        "map": "verdict",
        "elem": [
            ["br-other", {"jump": {"target": "nowhere"}}],
            ["docker0", {"jump": {"target": "nat-postrouting-out__docker0"}}],
        ],
    }
    vmap = {"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@nat-postrouting-out-jumps"}}
    rule = [
        oif_not("docker0"),
        saddr("2001:db8:1::", 64),
        {"counter": {"packets": 0, "bytes": 0}},
        MASQ,
    ]
    text = docker_bridges(
        ["nat-POSTROUTING", vmap], ["nat-postrouting-out__docker0", *rule], maps=[jumps]
    )
    found = ipv6_mode(DOCKER0, daemon_major=29, ruleset=Ruleset.parse(nft_json=text))
    assert found.masqueraded is True
    assert found.rules == ('oifname != "docker0" ip6 saddr 2001:db8:1::/64 counter masquerade',)
    assert any(
        "(via nat-POSTROUTING → nat-postrouting-out__docker0)" in line for line in found.firewall
    )


@pytest.mark.parametrize("family", ["inet", "ip6"])
def test_nft_any_table_name_and_inet(family: str) -> None:
    text = docker_bridges(family=family).replace("docker-bridges", "site-nat")
    found = ipv6_mode(DOCKER0, daemon_major=29, ruleset=Ruleset.parse(nft_json=text))
    assert found.masqueraded is True
    assert any(f"nftables {family} site-nat nat-POSTROUTING" in line for line in found.firewall)


def test_nft_unknown_expression_makes_it_uncertain_not_a_crash() -> None:
    odd = {"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}
    text = docker_bridges(["nat-POSTROUTING", odd, saddr("2001:db8:1::", 64), MASQ])
    found = ipv6_mode(DOCKER0, daemon_major=29, ruleset=Ruleset.parse(nft_json=text))
    assert found.masqueraded is None
    assert found.rules == ()
    assert any("may apply" in n for n in found.notes)


# --- crafted networks -----------------------------------------------------------------------


def network(**changes: object) -> NetworkInfo:
    return replace(networks_of("d28")["v6net"], **changes)  # type: ignore[arg-type]


ULA_SUBNET = "fd12:3456:789a:1::/64"
ULA_MASQ = f"-A POSTROUTING -s {ULA_SUBNET} ! -o br-v6net -j MASQUERADE"


def nat_save(*lines: str) -> str:
    """Docker 28's dump (its filter table: Docker's chains are there) with this nat table."""
    real = (DATA / "d28.ip6tables-save.txt").read_text()
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", *lines, "COMMIT", ""]
    return real[: real.index("*nat")] + "\n".join(nat)


def test_ula_network() -> None:
    ula = network(subnets6=(ULA_SUBNET,), gateways6=("fd12:3456:789a:1::1",))
    found = ipv6_mode(
        ula, daemon_major=28, ruleset=Ruleset.parse(ip6tables_save=nat_save(ULA_MASQ))
    )
    assert found.ula is True
    assert found.masqueraded is True
    assert any("Docker 27+ picks one in fd00::/8" in n for n in found.notes)
    assert f"v6net: IPv6 subnets {ULA_SUBNET} (ULA)" in found.evidence()
    verdict = judge_mode(found, "routed", daemon_version="28.5.2")
    assert verdict.outcome == "fail"
    assert "never reachable from the internet without NAT" in verdict.diagnosis
    assert verdict.fix is not None
    assert "default-address-pools" in verdict.fix
    assert "gateway_mode_ipv6=routed" in verdict.fix  # it is masqueraded too
    # routed, not masqueraded, still a ULA prefix: no better
    routed = ipv6_mode(
        replace(ula, option_pairs=((GATEWAY_MODE_OPTION, "routed"),)),
        daemon_major=28,
        ruleset=Ruleset.parse(ip6tables_save=nat_save()),
    )
    assert (routed.mode, routed.masqueraded, routed.ula) == ("routed", False, True)
    assert judge_mode(routed, "routed", daemon_version="28.5.2").outcome == "fail"
    assert judge_mode(found, "nat", daemon_version="28.5.2").outcome == "pass"
    # one global subnet is enough not to be ULA
    mixed = replace(ula, subnets6=(ULA_SUBNET, "2001:db8:1:1::/64"))
    assert ipv6_mode(mixed, daemon_major=28, ruleset=None).ula is False


def test_ipv6_only_network() -> None:
    v6only = network(enable_ipv4=False)
    found = ipv6_mode(v6only, daemon_major=28, ruleset=ruleset_of("d28"), uplink=UPLINK)
    assert found.ipv6_only is True
    assert "v6net: IPv6-only (EnableIPv4 false)" in found.evidence()
    verdict = judge_mode(found, "routed", daemon_version="28.5.2")
    assert verdict.fix is not None
    assert "--ipv4=false" in verdict.fix
    assert mode_of("d28", "v6net").ipv6_only is False


def test_masquerade_off_by_option() -> None:
    off = network(option_pairs=(("com.docker.network.bridge.name", "br-v6net"),
                                (MASQUERADE_OPTION, "false")))  # fmt: skip
    save = (DATA / "d28.ip6tables-save.txt").read_text().replace(MASQ_V6NET + "\n", "")
    found = ipv6_mode(off, daemon_major=28, ruleset=Ruleset.parse(ip6tables_save=save))
    assert (found.mode, found.masqueraded, found.ip_masquerade) == ("nat", False, False)
    assert f"{MASQUERADE_OPTION}=false: Docker does not masquerade it" in found.notes
    assert found.inbound_reachable is None  # nat mode without NAT: it depends on the version
    nat = judge_mode(found, "nat", daemon_version="28.5.2")
    assert nat.outcome == "fail"
    assert nat.fix is not None
    assert f"without -o {MASQUERADE_OPTION}=false" in nat.fix
    routed = judge_mode(found, "routed", daemon_version="28.5.2")
    assert routed.outcome == "fail"
    assert "gateway mode nat with masquerade off" in routed.diagnosis
    # the rule is still there: the firewall wins, and the rule is not Docker's
    kept = ipv6_mode(off, daemon_major=28, ruleset=ruleset_of("d28"))
    assert kept.masqueraded is True
    assert any("not Docker's rule" in n for n in kept.notes)
    fix = judge_mode(kept, "routed", daemon_version="28.5.2").fix
    assert fix is not None
    assert fix.startswith("the masquerade rule is not Docker's")


def test_host_rule_masquerades_a_routed_network() -> None:
    routed = networks_of("d28")["routed"]
    save = nat_save("-A POSTROUTING -s 2001:db8::/32 -o eth0 -j MASQUERADE")
    ruleset = Ruleset.parse(ip6tables_save=save)
    found = ipv6_mode(routed, daemon_major=28, ruleset=ruleset, uplink=UPLINK)
    assert (found.mode, found.masqueraded) == ("routed", True)
    assert any(n.startswith("the option says routed, yet `-A POSTROUTING") for n in found.notes)
    verdict = judge_mode(found, "routed", daemon_version="28.5.2")
    assert verdict.outcome == "fail"
    assert "-A POSTROUTING -s 2001:db8::/32 -o eth0 -j MASQUERADE" in verdict.diagnosis
    assert verdict.fix is not None
    assert "remove `-A POSTROUTING -s 2001:db8::/32" in verdict.fix


@pytest.mark.parametrize("ruleset", [None, "nft is not installed; ip6tables-save exited 1"])
def test_unreadable_firewall(ruleset: str | None) -> None:
    for name, mode in (("v6net", "nat"), ("routed", "routed")):
        net = networks_of("d28")[name]
        found = ipv6_mode(net, daemon_major=28, ruleset=ruleset)
        assert (found.mode, found.masqueraded) == (mode, None)
        assert found.inbound_reachable is None
        [note] = [n for n in found.notes if n.startswith("firewall not read: ")]
        if ruleset:
            assert ruleset in note
        for wanted in ("routed", "nat"):
            verdict = judge_mode(found, wanted, daemon_version="28.5.2")
            assert verdict.outcome == "not-observed"
            assert "could not tell whether" in verdict.diagnosis
            assert "firewall not read" in verdict.diagnosis


def test_firewall_dumps_that_could_not_be_parsed() -> None:
    garbage = Ruleset.parse(ip6tables_save="\x00junk", nft_json="{trunc")
    found = ipv6_mode(networks_of("d28")["v6net"], daemon_major=28, ruleset=garbage)
    assert found.masqueraded is None
    assert any(n.startswith("firewall not read: ip6tables-save") for n in found.notes)


def test_unread_firewall_on_docker_26_follows_ip6tables() -> None:
    net = networks_of("d26")["v6net"]
    on = ipv6_mode(net, daemon_major=26, ruleset=None, ip6tables_enabled=True)
    assert (on.mode, on.masqueraded) == ("nat", None)
    off = ipv6_mode(net, daemon_major=26, ruleset=None, ip6tables_enabled=False)
    assert (off.mode, off.masqueraded) == ("routed", None)
    assert ipv6_mode(net, daemon_major=26, ruleset=None).mode == "routed"  # 26's default: off


def test_ip6tables_off_on_docker_28_is_plain_routed() -> None:
    found = ipv6_mode(
        networks_of("d28")["v6net"],
        daemon_major=28,
        ruleset=Ruleset.parse(ip6tables_save=""),
        ip6tables_enabled=False,
    )
    assert (found.mode, found.masqueraded) == ("routed", False)
    assert "ip6tables off" in found.basis
    fix = judge_mode(found, "nat", daemon_version="28.5.2").fix
    assert fix is not None
    assert fix.startswith('"ip6tables": true')


@pytest.mark.parametrize(
    ("major", "option", "mode"),
    [
        (27, "routed", "routed"),
        (27, "nat-unprotected", "unknown"),  # came with 28
        (28, "nat-unprotected", "nat-unprotected"),
        (28, "isolated", "isolated"),
        (28, "bogus", "unknown"),
        (27, None, "nat"),
    ],
)
def test_gateway_modes_by_version(major: int, option: str | None, mode: str) -> None:
    pairs = ((GATEWAY_MODE_OPTION, option),) if option else ()
    found = ipv6_mode(network(option_pairs=pairs), daemon_major=major, ruleset=None)
    assert found.mode == mode
    assert found.option == option


def test_internal_network_is_neither() -> None:
    internal = network(internal=True, option_pairs=((GATEWAY_MODE_OPTION, "isolated"),))
    found = ipv6_mode(internal, daemon_major=28, ruleset=Ruleset.parse(ip6tables_save=nat_save()))
    assert (found.mode, found.inbound_reachable) == ("isolated", False)
    assert "no IPv6 traffic leaves the host" in found.summary
    for wanted in ("routed", "nat"):
        assert judge_mode(found, wanted, daemon_version="28.5.2").outcome == "not-observed"


# --- judge_mode: every wanted × found ------------------------------------------------------


def found_as(**fields: object) -> Ipv6Mode:
    base = Ipv6Mode(
        network="v6net",
        mode="nat",
        masqueraded=True,
        rules=(MASQ_V6NET,),
        basis="Docker 28 default; option com.docker.network.bridge.gateway_mode_ipv6 not set",
        subnets=("2001:db8:1:1::/64",),
        bridge="br-v6net",
        ip6tables=True,
        daemon_major=28,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


FOUND = {
    "nat-masq": found_as(),
    "routed": found_as(mode="routed", masqueraded=False, rules=(), option="routed"),
    "nat-unprotected": found_as(mode="nat-unprotected", option="nat-unprotected"),
    "nat-unprotected-no-masq": found_as(
        mode="nat-unprotected", masqueraded=False, rules=(), ip_masquerade=False
    ),
    "nat-masq-off": found_as(masqueraded=False, rules=(), ip_masquerade=False),
    "unread": found_as(masqueraded=None, rules=(), notes=("firewall not read: no nft",)),
    "unknown-mode": found_as(mode="unknown", masqueraded=False, rules=(), option="bogus"),
    "isolated": found_as(mode="isolated", masqueraded=False, rules=(), internal=True),
    "ula-routed": found_as(
        mode="routed", masqueraded=False, rules=(), ula=True, subnets=(ULA_SUBNET,)
    ),
    "docker0-masq": found_as(
        network="bridge", bridge="docker0", default_bridge=True, rules=(MASQ_DOCKER0,)
    ),
}
# (found, wanted) → outcome; None and "any" judge nothing
EXPECTED = {
    "nat-masq": {"routed": "fail", "nat": "pass"},
    "routed": {"routed": "pass", "nat": "fail"},
    "nat-unprotected": {"routed": "fail", "nat": "pass"},
    "nat-unprotected-no-masq": {"routed": "pass", "nat": "fail"},
    "nat-masq-off": {"routed": "fail", "nat": "fail"},
    "unread": {"routed": "not-observed", "nat": "not-observed"},
    "unknown-mode": {"routed": "not-observed", "nat": "fail"},
    "isolated": {"routed": "not-observed", "nat": "not-observed"},
    "ula-routed": {"routed": "fail", "nat": "fail"},
    "docker0-masq": {"routed": "fail", "nat": "pass"},
}
VERSIONS = ("20.10.24+dfsg1", "26.1.5+dfsg1", "27.5.1", "28.5.2+dfsg4", "29.1.0")


@pytest.mark.parametrize("name", sorted(FOUND))
@pytest.mark.parametrize("wanted", [None, "any", "routed", "nat"])
def test_judge_matrix(name: str, wanted: str | None) -> None:
    found = FOUND[name]
    verdict = judge_mode(found, wanted, daemon_version="28.5.2+dfsg4")
    expected = EXPECTED[name][wanted] if wanted in ("routed", "nat") else "not-observed"
    assert verdict.outcome == expected, verdict.diagnosis
    assert (verdict.fix is not None) == (verdict.outcome == "fail")
    assert verdict.evidence == found.evidence()
    if wanted in (None, "any"):
        assert verdict.diagnosis == f"the profile states no ipv6_mode; found: {found.summary}"


def test_routed_wanted_on_a_masqueraded_network_names_mode_rule_and_version() -> None:
    verdict = judge_mode(FOUND["nat-masq"], "routed", daemon_version="28.5.2+dfsg4")
    assert "gateway mode nat" in verdict.diagnosis
    assert MASQ_V6NET in verdict.diagnosis
    assert verdict.fix is not None
    assert verdict.fix.startswith("on Docker 27+ the gateway mode is fixed when a network is")
    assert (
        "docker network create --ipv6 --subnet 2001:db8:1:1::/64 "
        "-o com.docker.network.bridge.gateway_mode_ipv6=routed v6net" in verdict.fix
    )


def test_routed_wanted_on_docker0_offers_ip_masq_or_a_user_network() -> None:
    fix = judge_mode(FOUND["docker0-masq"], "routed", daemon_version="28.5.2").fix
    assert fix is not None
    assert fix.startswith("on Docker 27 and 28 the default bridge's gateway mode cannot be set")
    assert '"ip-masq": false' in fix
    assert "IPv4 masquerade on docker0" in fix
    assert "user-defined network" in fix


def test_routed_wanted_on_docker_26() -> None:
    found = replace(FOUND["nat-masq"], daemon_major=26, basis="Docker 26 has no gateway modes")
    fix = judge_mode(found, "routed", daemon_version="26.1.5+dfsg1").fix
    assert fix is not None
    assert fix.startswith("Docker 26 has no gateway modes")
    assert '"ip6tables": false' in fix
    assert "upgrade to Docker 27+" in fix


@pytest.mark.parametrize(
    ("version", "start"),
    [
        ("28.5.2", "on Docker 27+ the gateway mode is fixed"),
        ("27.0.3", "on Docker 27+ the gateway mode is fixed"),
        ("26.1.5+dfsg1", '"ip6tables": true and "experimental": true'),
        ("20.10.24+dfsg1", '"ip6tables": true and "experimental": true'),
        ("19.03.15", "Docker 19 has no IPv6 NAT of its own: upgrade to Docker 27+"),
    ],
)
def test_nat_wanted_on_a_routed_network(version: str, start: str) -> None:
    verdict = judge_mode(FOUND["routed"], "nat", daemon_version=version)
    assert verdict.outcome == "fail"
    assert "containers are reachable directly from outside: the site wants NAT" in verdict.diagnosis
    assert verdict.fix is not None
    assert verdict.fix.startswith(start)
    if version.startswith("2") and int(version.split(".")[0]) >= 27:
        assert "gateway_mode_ipv6=nat" in verdict.fix


def test_bad_wanted_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="routed, nat, any"):
        judge_mode(FOUND["routed"], "nat66", daemon_version="28.5.2")


# An accept-everything rule for a bridge: ip6tables -j ACCEPT, or an nft accept verdict.
ACCEPT_ALL = re.compile(r"-j\s+ACCEPT|\baccept\b", re.IGNORECASE)


def test_no_fix_accepts_all_traffic_to_a_bridge() -> None:
    fixes = [
        judge_mode(replace(found, daemon_major=0), wanted, daemon_version=version).fix
        for found in FOUND.values()
        for wanted in ("routed", "nat")
        for version in VERSIONS
    ]
    real = [
        judge_mode(mode_of(dump, net), wanted, daemon_version=version_of(dump)).fix
        for dump in ("d28", "d26-ip6tables", "d26")
        for net in ("v6net", "routed", "bridge")
        for wanted in ("routed", "nat")
    ]
    shown = [f for f in fixes + real if f is not None]
    assert len(shown) > 40  # the matrix does produce fixes to look at
    for fix in shown:
        assert not ACCEPT_ALL.search(fix), fix
    assert ACCEPT_ALL.search("ip6tables -I DOCKER-USER -o docker0 -j ACCEPT")  # the pattern bites
