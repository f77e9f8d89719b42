"""RT-06's fix on Docker 27+: a network created again in routed mode, from what the daemon's API
says of it (probes.netspec) and the rule's commands (rules.rt_mode.recreate_fix): every subnet,
gateway, option and label kept, the host's containers connected again where they were, the
harness's own left out; words only where a command cannot say it all."""

from __future__ import annotations

import itertools
import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from probes.netmode import GATEWAY_MODE_OPTION, Ipv6Mode
from probes.netspec import NetworkSpec, spec_from_api
from rules.rt_mode import judge_mode, recreate_fix

DATA = Path(__file__).parent / "data" / "docker"
SOCKET = "unix:///run/v6c/docker.sock"
WEB = "a" * 64
HARNESS = "b" * 64


def v6net(**more: Any) -> dict[str, Any]:
    """Docker 28.5.2's v6net (a real inspect), with a container of the host's on it and one of
    the harness's."""
    data = next(
        n for n in json.loads((DATA / "d28.networks.json").read_text()) if n["Name"] == "v6net"
    )
    data["Labels"] = {"site": "shop"}
    data["Containers"] = {
        WEB: {"Name": "web", "IPv4Address": "172.17.0.3/16", "IPv6Address": "2001:db8:1:1::3/64"},
        HARNESS: {"Name": "v6conform-probe", "IPv4Address": "172.17.0.2/16"},
    }
    return {**data, **more}


WEB_INSPECT = {
    "Name": "/web",
    "Config": {"Hostname": "a" * 12, "Labels": {}},
    "NetworkSettings": {"Networks": {"v6net": {"Aliases": ["web", "a" * 12, "shop-web"]}}},
}


def spec(**more: Any) -> NetworkSpec:
    return spec_from_api(v6net(**more), {WEB: WEB_INSPECT}, docker_host=SOCKET)


def test_the_spec_keeps_what_create_needs_and_leaves_the_harness_out() -> None:
    found = spec()
    assert [p.subnet for p in found.pools] == ["2001:db8:1:1::/64", "172.17.0.0/16"]
    assert found.pools[1].gateway == "172.17.0.1"
    assert dict(found.options) == {"com.docker.network.bridge.name": "br-v6net"}
    assert dict(found.labels) == {"site": "shop"}
    assert [m.name for m in found.members] == ["web"]  # not the probe: it goes with the run
    web = found.members[0]
    assert (web.ipv4, web.ipv6, web.aliases) == ("172.17.0.3", "2001:db8:1:1::3", ("shop-web",))
    assert found.docker_host == SOCKET
    assert not found.unscriptable
    assert spec_from_api(v6net(), {}, docker_host="unix:///var/run/docker.sock").docker_host is None


def test_recreated_in_routed_mode_with_everything_it_had() -> None:
    commands = recreate_fix(spec(), "routed", 28).commands
    docker = f"docker -H {SOCKET}"
    assert commands[0] == f"{docker} network disconnect v6net web"
    assert commands[1] == f"{docker} network rm v6net"
    create = shlex.split(commands[2])
    assert create[:5] == ["docker", "-H", SOCKET, "network", "create"]
    assert create[-1] == "v6net"
    pairs = list(itertools.pairwise(create))
    assert ("--subnet", "2001:db8:1:1::/64") in pairs
    assert ("--subnet", "172.17.0.0/16") in pairs
    assert ("--gateway", "172.17.0.1") in pairs
    assert ("-o", "com.docker.network.bridge.name=br-v6net") in pairs
    assert ("-o", f"{GATEWAY_MODE_OPTION}=routed") in pairs
    assert ("--label", "site=shop") in pairs
    assert "--ipv6" in create
    assert "--internal" not in create
    assert commands[3] == (
        f"{docker} network connect --ip 172.17.0.3 --ip6 2001:db8:1:1::3 --alias shop-web v6net web"
    )
    assert len(commands) == 4


def test_an_option_already_set_is_replaced_not_repeated() -> None:
    options = {"com.docker.network.bridge.name": "br-v6net", GATEWAY_MODE_OPTION: "nat"}
    create = recreate_fix(spec(Options=options), "routed", 28).commands[2]
    assert create.count(GATEWAY_MODE_OPTION) == 1
    assert f"{GATEWAY_MODE_OPTION}=routed" in create


def test_an_ipv6_only_network_stays_one() -> None:
    create = recreate_fix(spec(EnableIPv4=False), "routed", 28).commands[2]
    assert "--ipv4=false" in create


def test_the_rule_gives_commands_only_where_the_network_can_be_said_again() -> None:
    found = Ipv6Mode(
        "v6net", "nat", True, rules=("-A POSTROUTING -s 2001:db8:1:1::/64 -j MASQUERADE",),
        subnets=("2001:db8:1:1::/64",), daemon_major=28, ip6tables=True,
    )  # fmt: skip
    healed = judge_mode(found, "routed", daemon_version="28.5.2", spec=spec())
    assert healed.remedy is not None
    assert healed.remedy.commands[1].endswith("network rm v6net")
    assert "connect its containers again (web)" in healed.remedy.text
    composed = spec(Labels={"com.docker.compose.project": "shop"})
    assert composed.unscriptable
    words = judge_mode(found, "routed", daemon_version="28.5.2", spec=composed)
    assert words.remedy is not None
    assert not words.remedy.commands
    assert "Compose project shop owns it" in words.remedy.text
    plugin = spec(IPAM={**v6net()["IPAM"], "Driver": "infoblox"})
    assert "IPAM driver is infoblox" in plugin.unscriptable[0]
    # another network's spec is never used for this one
    other = judge_mode(found, "routed", daemon_version="28.5.2", spec=replace(spec(), network="x"))
    assert other.remedy is not None
    assert not other.remedy.commands
    # Docker 26 has no gateway modes: no network to recreate, words
    old = judge_mode(
        replace(found, daemon_major=26), "routed", daemon_version="26.1.5", spec=spec()
    )
    assert old.remedy is not None
    assert not old.remedy.commands
    # turning ip6tables off would open every container port: named as what not to do
    assert 'Not "ip6tables": false' in old.remedy.text
    assert "every port of every container becomes reachable" in old.remedy.text


def test_docker0_has_no_command_on_29_either_and_says_so() -> None:
    docker0 = Ipv6Mode(
        "bridge", "nat", True, rules=("-A POSTROUTING -s 2001:db8:1::/64 -j MASQUERADE",),
        subnets=("2001:db8:1::/64",), default_bridge=True, daemon_major=29, ip6tables=True,
    )  # fmt: skip
    bridge = replace(spec(), network="bridge")
    verdict = judge_mode(docker0, "routed", daemon_version="29.7.2", spec=bridge)
    assert verdict.remedy is not None
    assert not verdict.remedy.commands  # "ip-masq": false would end IPv4 masquerade too
    assert "(nor on 29: its daemon gives docker0 no gateway mode option)" in verdict.remedy.text
