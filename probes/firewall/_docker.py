"""Docker's own chains and tables, recognised in one place.

With ip6tables Docker writes chains named DOCKER… (DOCKER, DOCKER-FORWARD, DOCKER-CT,
DOCKER-BRIDGE, DOCKER-ISOLATION-STAGE-1 and -2, by version) in the filter and nat tables, and
puts them back whenever it starts or a network changes; DOCKER-USER it makes but leaves to the
site. Docker 29's native nftables backend keeps its rules in its own table, ``ip6 docker-bridges``.
"""

from __future__ import annotations

import re

from probes.firewall._model import Table
from probes.firewall._ruleset import Ruleset

CHAIN_PREFIX = "DOCKER"
SITE_CHAIN = "DOCKER-USER"  # Docker makes it and jumps to it first; its rules are the site's
NFT_TABLE = "docker-bridges"  # Docker 29's own nftables table (family ip6 for IPv6)


# Docker 28+'s drop of direct access to a nat-mode network's container (its iptables backend
# appends it to the raw table's PREROUTING; moby's iptabler filterDirectAccess), and the accept
# before it for each of the network's trusted_host_interfaces. Its nftables backend writes
# ``ip6 daddr ADDR iifname != { BRIDGE, TRUSTED… } counter drop comment "DROP DIRECT ACCESS"``
# in its own table's raw-PREROUTING chain.
DIRECT_ACCESS_DROP = re.compile(r"-A PREROUTING -d (\S+)/128 ! -i (\S+) -j DROP")
DIRECT_ACCESS_ACCEPT = re.compile(r"-A PREROUTING -d (\S+)/128 -i (\S+) -j ACCEPT")
DIRECT_ACCESS_COMMENT = "DROP DIRECT ACCESS"
# The network option that names host interfaces treated as part of the network (Docker 28+):
# traffic from them to the containers is not dropped.
TRUSTED_HOST_INTERFACES = "com.docker.network.bridge.trusted_host_interfaces"


def written_by_docker(table: str, chain: str, rule: str = "") -> bool:
    """Whether Docker writes the rules of ``chain`` in ``table`` (a table's label: "filter",
    "ip6 docker-bridges"), so that it puts back a rule deleted there; in the raw table's
    PREROUTING, which is everyone's, only its direct-access rules are (``rule``: as printed)."""
    name = chain.upper()
    own_chain = name.startswith(CHAIN_PREFIX) and name != SITE_CHAIN
    if table == "raw" and name == "PREROUTING":
        return direct_access_rule(rule)
    return own_chain or table.endswith(NFT_TABLE)


def direct_access_rule(rule: str) -> bool:
    """Whether ``rule`` (as ip6tables-save or our nft rendering prints it) is one of Docker
    28+'s direct-access rules: the drop, or the accept of a trusted host interface."""
    text = rule.strip()
    return bool(
        DIRECT_ACCESS_DROP.fullmatch(text)
        or DIRECT_ACCESS_ACCEPT.fullmatch(text)
        or f'"{DIRECT_ACCESS_COMMENT}"' in text
    )


def unpublished_ports_drop(bridge: str | None) -> str:
    """The rule, as ip6tables-save prints it, by which Docker 28+ drops new traffic from
    outside to a nat-mode network's unpublished ports."""
    return f"-A {CHAIN_PREFIX} ! -i {bridge} -o {bridge} -j DROP"


def firewall_backend(ruleset: Ruleset | str | None) -> str:
    """Which firewall Docker's IPv6 rules are in, from what was read: ``"iptables"``,
    ``"nftables (table ip6 docker-bridges)"``, ``"none"`` (read, and no Docker rule for IPv6 in
    it) or ``"unknown"`` (not read)."""
    if not isinstance(ruleset, Ruleset) or (ruleset.ip6tables is None and ruleset.nft is None):
        return "unknown"
    nft_tables = ruleset.nft.tables if ruleset.nft is not None else ()
    native = [t.label for t in nft_tables if t.name == NFT_TABLE]
    if native:
        return f"nftables ({', '.join(f'table {label}' for label in native)})"
    xtables = [ruleset.ip6tables.filter, ruleset.ip6tables.nat] if ruleset.ip6tables else []
    # read from nft alone, iptables-nft's copies show the same DOCKER chains
    xtables += [t for t in nft_tables if t.name in ("filter", "nat")]
    if any(_has_docker_chain(t) for t in xtables if t is not None):
        return "iptables"
    return "none"


def site_chain(ruleset: Ruleset, docker_backend: str | None = None) -> str:
    """The ip6tables chain a site's own rule goes into to come before Docker's: DOCKER-USER
    where Docker made it (its iptables backend), else FORWARD: under its nftables backend
    Docker makes no DOCKER-USER (``docker_backend``: what the daemon says it uses)."""
    if docker_backend is not None and docker_backend.startswith("nftables"):
        return "FORWARD"
    table = ruleset.ip6tables.filter if ruleset.ip6tables is not None else None
    if table is not None and SITE_CHAIN not in table.chains:
        return "FORWARD"
    return SITE_CHAIN


def _has_docker_chain(table: Table) -> bool:
    return any(name.startswith(CHAIN_PREFIX) for name in table.chains)
