"""AF-02 on crafted results: the container's TCP table as the kernel writes it, a published port
from `docker inspect`, and the judgement (kept, lost to the proxy by each path, not reachable)."""

from __future__ import annotations

import dataclasses
from typing import Any

from probes.client_addr import (
    ClientAddressSeen,
    Conn,
    PublishedPort,
    parse_tcp_table,
    ports_from_inspect,
)
from probes.docker import NetworkInfo
from rules.af_client import judge_client_address

V6NET = NetworkInfo("v6net", "id6", "bridge", True, "br-v6net", ("2001:db8:1:1::/64",), ())
V4NET = NetworkInfo("v4net", "id4", "bridge", False, "br-v4net", (), ())
CLIENT = "2001:db8:0:ffff::2"

# as Linux writes them: 32-bit words in host byte order (x86: little endian), ports big endian
TCP6 = (
    "  sl  local_address                         remote_address                        st\n"
    "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A\n"
    # [2001:db8:1:1::2]:80 <- [2001:db8:0:ffff::2]:41822 ESTABLISHED
    "   1: B80D0120010001000000000002000000:0050 B80D0120FFFF00000000000002000000:A35E 01\n"
    # ::ffff:192.0.2.194:80 <- ::ffff:192.0.2.193:41282, a dual-stack listener's IPv4 peer
    "   2: 0000000000000000FFFF0000C20200C0:0050 0000000000000000FFFF0000C10200C0:A142 01\n"
    "   3: garbage\n"
)
TCP4 = (
    "  sl  local_address rem_address   st\n"
    "   0: C20200C0:0050 C10200C0:A142 01 00000000:00000000\n"
    "   1: 0B00007F:9B07 00000000:0000 0A 00000000:00000000\n"
)


def test_tcp_tables_read_as_the_kernel_writes_them() -> None:
    assert parse_tcp_table(TCP6) == [
        Conn("2001:db8:1:1::2", 80, CLIENT, 41822, "ESTABLISHED"),
        Conn("192.0.2.194", 80, "192.0.2.193", 41282, "ESTABLISHED"),
    ]
    assert parse_tcp_table(TCP4) == [Conn("192.0.2.194", 80, "192.0.2.193", 41282, "ESTABLISHED")]


def inspect(ports: dict[str, Any], network: str = "v4net") -> dict[str, Any]:
    return {
        "Id": "abc",
        "Name": "/web",
        "State": {"Running": True, "Pid": 1},
        "NetworkSettings": {
            "Ports": ports,
            "Networks": {network: {"IPAddress": "192.0.2.194", "Gateway": "192.0.2.193"}},
        },
    }


def test_published_ports_from_inspect() -> None:
    both = [{"HostIp": "0.0.0.0", "HostPort": "8081"}, {"HostIp": "::", "HostPort": "8081"}]
    (port,) = ports_from_inspect(
        inspect({"80/tcp": both, "53/udp": both, "9000/tcp": None}), {"v4net": V4NET}
    )
    assert (port.container, port.private_port, port.host_port) == ("web", 80, 8081)
    assert port.ipv6_hosts == ("::",)
    assert not port.has_ipv6
    assert port.gateways == ("192.0.2.193",)
    assert port.networks == (V4NET,)
    (v4,) = ports_from_inspect(inspect({"80/tcp": both[:1]}), {"v4net": V4NET})
    assert v4.ipv6_hosts == ()  # bound to IPv4 only: not reachable over IPv6
    assert ports_from_inspect({"State": {"Running": False}}, {}) == []


def seen(*conns: Conn, port: PublishedPort | None = None, **kw: Any) -> ClientAddressSeen:
    port = port or PublishedPort(
        "web", "abc", 1, None, 80, 8081, ("0.0.0.0", "::"), (V4NET,), ("192.0.2.194",),
        ("192.0.2.193",),
    )  # fmt: skip
    values: dict[str, Any] = {
        "port": port, "client_where": "the far end", "stand_in": False,
        "target": "2001:db8:0:1::2", "connected": True, "error": None, "client": CLIENT,
        "client_port": 41822, "seen": conns, "elapsed_ms": 1.0,
        "host_addresses": ("2001:db8:0:1::2", "2001:db8:1:1::1"),
    }  # fmt: skip
    values.update(kw)
    return ClientAddressSeen(**values)


def test_the_clients_own_address_passes() -> None:
    got = judge_client_address(
        seen(Conn("2001:db8:1:1::2", 80, CLIENT, 41822, "ESTABLISHED")), docker_major=28
    )
    assert got.outcome == "pass"
    assert CLIENT in got.diagnosis


def test_the_gateway_seen_by_a_container_without_ipv6_fails_naming_the_path() -> None:
    got = judge_client_address(
        seen(Conn("192.0.2.194", 80, "192.0.2.193", 41282, "ESTABLISHED")),
        docker_major=28,
        ip6tables_dnat=False,
    )
    assert got.outcome == "fail"
    assert "192.0.2.193" in got.diagnosis
    assert "no IPv6" in got.diagnosis
    assert got.remedy is not None
    assert "--ipv6" in got.remedy.commands[0]
    assert got.breaks == ("client-address:v4net",)


def test_a_proxy_where_docker_writes_no_ip6tables_rules_names_ip6tables() -> None:
    port = dataclasses.replace(
        seen().port, networks=(V6NET,), addresses=("198.51.100.130", "2001:db8:1:1::2")
    )
    proxied = Conn("198.51.100.130", 80, "198.51.100.129", 5000, "ESTABLISHED")
    got = judge_client_address(
        seen(proxied, port=dataclasses.replace(port, gateways=("198.51.100.129",))),
        docker_major=20,
    )
    assert got.outcome == "fail"
    assert "ip6tables" in (got.fix or "")
    assert "experimental" in (got.fix or "")
    # with Docker's DNAT rule there and the proxy still seen: userland-proxy on
    on = judge_client_address(
        seen(
            Conn("2001:db8:1:1::2", 80, "2001:db8:1:1::1", 5000, "ESTABLISHED"),
            port=port,
        ),
        docker_major=28,
        ip6tables_dnat=True,
    )
    assert on.outcome == "fail"
    assert '"userland-proxy": false' in (on.fix or "")


def test_nothing_to_compare_is_not_observed() -> None:
    refused = seen(connected=False, error="refused (port unreachable, or TCP reset)")
    assert judge_client_address(refused, docker_major=20).outcome == "not-observed"
    nothing = seen(error="no connection showed in the container's table (timed out)")
    assert judge_client_address(nothing, docker_major=28).outcome == "not-observed"
    # another client's connection at the same moment proves nothing about ours
    other = seen(Conn("192.0.2.194", 80, "203.0.113.9", 5000, "ESTABLISHED"))
    assert judge_client_address(other, docker_major=28).outcome == "not-observed"


def test_a_stand_in_client_is_said() -> None:
    got = judge_client_address(
        seen(
            Conn("2001:db8:1:1::2", 80, "2001:db8:0:1::2", 41822, "ESTABLISHED"),
            stand_in=True,
            client="2001:db8:0:1::2",
        ),
        docker_major=28,
    )
    assert got.outcome == "pass"
    assert "stood in" in got.evidence[0]


def test_a_port_published_on_a_routed_network_is_reached_at_the_container() -> None:
    routed = [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": ""}]
    direct, v4 = ports_from_inspect(inspect({"80/tcp": routed}), {"v4net": V4NET})
    assert (v4.host_port, v4.ipv6_hosts) == (8080, ())
    assert direct.direct
    assert direct.item_id == "web/direct80"
    assert "own address" in direct.reached_at


def test_dockers_dnat_rule_is_found_by_backend() -> None:
    from probes.firewall import Ruleset
    from suites.plugin.parts.client_addr import _dnat

    rule = "-A DOCKER ! -i br-v6net -p tcp -m tcp --dport 8080 -j DNAT --to-destination [::2]:80"
    ip6 = Ruleset(ip6tables_text=f"*nat\n{rule}\nCOMMIT\n")
    assert _dnat(ip6, 8080, "iptables") is True
    assert _dnat(ip6, 80, None) is False
    assert _dnat("unreadable", 8080, None) is None
    nft = Ruleset(nft_text="tcp dport 8080 dnat ip6 to [2001:db8::2]:80\n")
    assert _dnat(nft, 8080, "nftables") is True
    assert _dnat(nft, 8081, "nftables") is None  # not found there is no proof of none


def test_af_proxy_turns_the_userland_proxy_on_beside_a_network_without_ipv6() -> None:
    from lab import SCENARIOS, Lab
    from lab.daemon import dockerd_args
    from lab.dockers import GENERATIONS

    healthy, broken = SCENARIOS["healthy"], SCENARIOS["af-proxy"]
    for scenario, proxy in ((healthy, "false"), (broken, "true")):
        site = scenario.site()
        args = dockerd_args(Lab("v6cu"), GENERATIONS["28"], site.host, site.addressing)
        assert f"--userland-proxy={proxy}" in args
    assert [p.name for p in healthy.site().published] == ["pub-web"]
    site = broken.site()
    assert [(p.name, p.network) for p in site.published][1] == ("pub-v4only", "v4net")
    (v4net,) = [n for n in broken.networks(site, 28).created if n.name == "v4net"]
    assert not v4net.ipv6
    assert v4net.subnet6 is None
