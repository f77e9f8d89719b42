"""firewalld's table as RT-04 walks it: ``ct status dnat accept`` before the zones (decided from
the DNAT rules read), a policy whose target drops the containers' traffic out, and the fix in
firewall-cmd's words where Docker says firewalld manages the firewall.

The table's shape is firewalld 2.5's (Debian sid), as the lab's firewalld host writes it:
filter_FORWARD accepts established and DNATed traffic, then dispatches by interface to the
zones' and policies' chains; a policy's chain ends in its target.
"""

from __future__ import annotations

import json

from probes.docker import NetworkInfo
from probes.firewall import ForwardAssessment, assess_forward, parse_nft_json
from rules.rt import forward_fix

V6NET = "2001:db8:1:1::/64"
NET = NetworkInfo("v6net", "0123abcd", "bridge", True, "br-v6net", (V6NET,), ("2001:db8:1:1::1",))
POLICY_CHAIN = "filter_FWD_policy_containers-out"


def _match(left: object, right: object, op: str = "==") -> dict[str, object]:
    return {"match": {"op": op, "left": left, "right": right}}


def firewalld_table(*, dnat_to: str | None = None, dnat_protocol: str = "tcp") -> str:
    """The firewalld forward path with a policy from the bridges to the uplink, target DROP;
    with ``dnat_to``, an ip6 nat prerouting chain that DNATs a published port there."""
    t = {"family": "inet", "table": "firewalld"}
    items: list[object] = [
        {"metainfo": {"version": "1.1.5", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "firewalld", "handle": 1}},
        {"chain": {**t, "name": "filter_FORWARD", "handle": 1, "type": "filter",
                   "hook": "forward", "prio": 10, "policy": "accept"}},
        {"chain": {**t, "name": "filter_FWD_docker_to_public", "handle": 2}},
        {"chain": {**t, "name": POLICY_CHAIN, "handle": 3}},
    ]  # fmt: skip
    ct_state = _match({"ct": {"key": "state"}}, {"set": ["established", "related"]}, "in")
    ct_dnat = _match({"ct": {"key": "status"}}, "dnat", "in")
    from_bridge = _match({"meta": {"key": "iifname"}}, "br-v6net")
    to_bridge = _match({"meta": {"key": "oifname"}}, "br-v6net")
    to_uplink = _match({"meta": {"key": "oifname"}}, "uplink0")
    accept = {"accept": None}
    rules = [
        ("filter_FORWARD", [ct_state, accept]),
        ("filter_FORWARD", [ct_dnat, accept]),
        ("filter_FORWARD",
         [from_bridge, to_uplink, {"jump": {"target": "filter_FWD_docker_to_public"}}]),
        # Docker's policy docker-forwarding (ANY -> zone docker, target ACCEPT), in short
        ("filter_FORWARD", [to_bridge, accept]),
        ("filter_FORWARD", [{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}]),
        ("filter_FWD_docker_to_public", [{"jump": {"target": POLICY_CHAIN}}]),
        ("filter_FWD_docker_to_public", [accept]),
        (POLICY_CHAIN, [{"drop": None}]),
    ]  # fmt: skip
    for handle, (chain, expr) in enumerate(rules, start=10):
        items.append({"rule": {**t, "chain": chain, "handle": handle, "expr": expr}})
    if dnat_to is not None:
        n = {"family": "ip6", "table": "nat"}
        items += [
            {"table": {"family": "ip6", "name": "nat", "handle": 2}},
            {"chain": {**n, "name": "PREROUTING", "handle": 1, "type": "nat",
                       "hook": "prerouting", "prio": -100, "policy": "accept"}},
            {"rule": {**n, "chain": "PREROUTING", "handle": 2, "expr": [
                _match({"meta": {"key": "l4proto"}}, dnat_protocol),
                _match({"payload": {"protocol": "tcp", "field": "dport"}}, 8080),
                {"dnat": {"family": "ip6", "addr": dnat_to, "port": 80}},
            ]}},
        ]  # fmt: skip
    return json.dumps({"nftables": items})


def assess(text: str) -> ForwardAssessment:
    return assess_forward(
        parse_nft_json(text), subnets=[V6NET], bridges=["br-v6net"], uplink="uplink0"
    )


def test_without_dnat_rules_the_policys_drop_is_proven() -> None:
    """Nothing can have DNATed the containers' own connections: `ct status dnat accept`
    lets none of them past, so the policy's drop is a finding, not a doubt (before, RT-04
    skipped "cannot decide" on a healthy-looking firewalld host that dropped all egress)."""
    found = assess(firewalld_table())
    assert {d.traffic for d in found.drops} >= {
        "outbound new ICMPv6 echo-request",
        "outbound new TCP dport 443",
        "outbound new UDP dport 53",
    }
    assert {(d.chain, d.rule) for d in found.drops} == {(POLICY_CHAIN, "drop")}
    assert not found.doubtful


def test_a_dnat_to_a_container_leaves_only_its_protocol_in_doubt() -> None:
    """A published port DNATs TCP to a container of the subnet: a TCP connection of that
    subnet may be one of them (doubt), ICMPv6 echo and UDP cannot be (proven)."""
    found = assess(firewalld_table(dnat_to="2001:db8:1:1::2"))
    proven = {d.traffic for d in found.drops}
    doubtful = {d.traffic for d in found.doubtful}
    assert "outbound new ICMPv6 echo-request" in proven
    assert "outbound new UDP dport 53" in proven
    assert "outbound new TCP dport 443" in doubtful
    assert all("ct status dnat" in " ".join(d.uncertain) for d in found.doubtful)


def test_a_port_match_names_the_dnats_protocol() -> None:
    """Docker 29's nftables DNAT: ``tcp dport 8080 dnat to ADDR port 80``, no l4proto match
    beside it: the port match's protocol is the one DNATed."""
    text = json.loads(firewalld_table(dnat_to="2001:db8:1:1::2"))
    for item in text["nftables"]:
        rule = item.get("rule")
        if rule and rule["table"] == "nat":
            del rule["expr"][0]
    found = assess(json.dumps(text))
    assert "outbound new ICMPv6 echo-request" in {d.traffic for d in found.drops}
    assert "outbound new TCP dport 443" in {d.traffic for d in found.doubtful}


def test_a_dnat_elsewhere_decides_nothing_for_this_subnet() -> None:
    found = assess(firewalld_table(dnat_to="2001:db8:9::2"))
    assert not found.doubtful
    assert "outbound new TCP dport 443" in {d.traffic for d in found.drops}


def test_a_dnat_target_not_read_leaves_it_open() -> None:
    """A DNAT whose target we do not parse (a map): every packet may be DNATed, as before."""
    text = json.loads(firewalld_table(dnat_to="2001:db8:1:1::2"))
    for item in text["nftables"]:
        rule = item.get("rule")
        if rule and rule["table"] == "nat":
            rule["expr"][-1] = {"dnat": {"family": "ip6", "addr": {"map": {"key": "x"}}}}
    found = assess(json.dumps(text))
    assert not found.drops
    assert found.doubtful


def test_under_firewalld_a_policys_drop_is_fixed_with_firewall_cmd() -> None:
    found = assess(firewalld_table())
    fix = forward_fix(found.drops, NET, "uplink0", "29.7.2", backend="nftables+firewalld")
    assert fix.commands == (
        "firewall-cmd --permanent --policy=containers-out --set-target=CONTINUE",
        "firewall-cmd --reload",
    )
    assert "--delete-policy=containers-out" in fix.text
    assert not any(c.startswith("nft ") for c in fix.commands)


def test_without_firewalld_the_same_drop_gets_nft_commands() -> None:
    """Docker does not say firewalld manages the firewall: no firewall-cmd is printed."""
    found = assess(firewalld_table())
    fix = forward_fix(found.drops, NET, "uplink0", "29.7.2", backend="nftables")
    assert fix.commands
    assert all(c.startswith("nft ") for c in fix.commands)
