"""Docker 29 in the model: the daemon's firewall backend in the evidence, and fixes that name
only chains the host has (under the nftables backend Docker makes no DOCKER-USER)."""

from __future__ import annotations

import re

import pytest

from probes.docker import NetworkInfo
from probes.firewall import Ruleset, forward_drops, parse_ip6tables_save, site_chain
from probes.netmode import ipv6_mode
from rules.judgement import Fix
from rules.rt import forward_fix

V6NET = "2001:db8:1:1::/64"
NET = NetworkInfo("v6net", "0123abcd", "bridge", True, "br-v6net", (V6NET,), ("2001:db8:1:1::1",))


def filter_table(*lines: str, policy: str = "ACCEPT", chains: tuple[str, ...] = ()) -> str:
    head = ["*filter", ":INPUT ACCEPT [0:0]", f":FORWARD {policy} [0:0]", ":OUTPUT ACCEPT [0:0]"]
    declared = [f":{c} - [0:0]" for c in chains]
    return "\n".join([*head, *declared, *lines, "COMMIT", ""])


# a site's FORWARD policy DROP beside Docker 29's nftables backend: no DOCKER chain at all
NFTABLES_HOST = Ruleset(ip6tables=parse_ip6tables_save(filter_table(policy="DROP")))
IPTABLES_HOST = Ruleset(
    ip6tables=parse_ip6tables_save(
        filter_table(
            "-A FORWARD -j DOCKER-USER",
            "-A DOCKER-USER -i uplink0 -j DROP",
            chains=("DOCKER-USER", "DOCKER-FORWARD"),
        )
    )
)


@pytest.mark.parametrize(
    ("ruleset", "backend", "chain"),
    [
        (NFTABLES_HOST, "nftables", "FORWARD"),
        (NFTABLES_HOST, "nftables+firewalld", "FORWARD"),
        (IPTABLES_HOST, "iptables", "DOCKER-USER"),
        (IPTABLES_HOST, None, "DOCKER-USER"),
        (NFTABLES_HOST, None, "FORWARD"),  # read: no DOCKER-USER on this host
    ],
)
def test_the_site_chain_is_one_the_host_has(
    ruleset: Ruleset, backend: str | None, chain: str
) -> None:
    assert site_chain(ruleset, backend) == chain


def test_under_nftables_no_fix_names_docker_user() -> None:
    drops = forward_drops(NFTABLES_HOST, subnets=[V6NET], bridges=["br-v6net"], uplink="uplink0")
    assert drops
    fix = forward_fix(drops, NET, "uplink0", "29.7.2", site_chain(NFTABLES_HOST, "nftables"),
                      "nftables")  # fmt: skip
    assert isinstance(fix, Fix)
    assert fix.backend == "nftables"
    commands = re.findall(r"`([^`]*)`", fix.text)
    assert commands
    assert not any("DOCKER-USER" in c for c in commands), fix.text
    assert any(c.startswith("ip6tables -I FORWARD") for c in commands), fix.text
    assert "table of its own on the forward hook" in fix.text
    assert "--bridge-accept-fwmark" in fix.text


def test_under_iptables_the_fix_stays_in_docker_user() -> None:
    drops = forward_drops(IPTABLES_HOST, subnets=[V6NET], bridges=["br-v6net"], uplink="uplink0")
    fix = forward_fix(drops, NET, "uplink0", "29.7.2", site_chain(IPTABLES_HOST, "iptables"),
                      "iptables")  # fmt: skip
    text = str(fix)
    assert "`ip6tables -I DOCKER-USER" in text
    assert "bridge-accept-fwmark" not in text


def test_the_daemons_backend_is_in_the_modes_evidence() -> None:
    mode = ipv6_mode(NET, daemon_major=29, ruleset=NFTABLES_HOST, docker_backend="nftables")
    assert any(
        line == "Docker's firewall backend: nftables (as the daemon says, GET /info)"
        for line in mode.evidence()
    ), mode.evidence()
    plain = ipv6_mode(NET, daemon_major=28, ruleset=NFTABLES_HOST)
    assert not any("as the daemon says" in line for line in plain.evidence())


def test_under_firewalld_the_fix_says_it_lasts_only_until_a_reload() -> None:
    """firewalld rewrites the rule set at each reload: the commands heal now, and the fix says
    how to keep the change (Docker's zone `docker`), instead of "persist the rule set"."""
    drops = forward_drops(IPTABLES_HOST, subnets=[V6NET], bridges=["br-v6net"], uplink="uplink0")
    fix = forward_fix(drops, NET, "uplink0", "29.7.2", site_chain(IPTABLES_HOST, "iptables"),
                      "iptables+firewalld")  # fmt: skip
    assert fix.commands
    assert "firewall-cmd --reload" in fix.text
    assert "zone `docker`" in fix.text
    assert "persist the rule set" not in fix.text
