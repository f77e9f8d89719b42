"""Docker's own chains and tables, recognised in one place.

With ip6tables Docker writes chains named DOCKER… (DOCKER, DOCKER-FORWARD, DOCKER-CT,
DOCKER-BRIDGE, DOCKER-ISOLATION-STAGE-1 and -2, by version) in the filter and nat tables, and
puts them back whenever it starts or a network changes; DOCKER-USER it makes but leaves to the
site. Docker 29's native nftables backend keeps its rules in its own table, ``ip6 docker-bridges``.
"""

from __future__ import annotations

from probes.firewall._model import Table
from probes.firewall._ruleset import Ruleset

CHAIN_PREFIX = "DOCKER"
SITE_CHAIN = "DOCKER-USER"  # Docker makes it and jumps to it first; its rules are the site's
NFT_TABLE = "docker-bridges"  # Docker 29's own nftables table (family ip6 for IPv6)


def written_by_docker(table: str, chain: str) -> bool:
    """Whether Docker writes the rules of ``chain`` in ``table`` (a table's label: "filter",
    "ip6 docker-bridges"), so that it puts back a rule deleted there."""
    name = chain.upper()
    own_chain = name.startswith(CHAIN_PREFIX) and name != SITE_CHAIN
    return own_chain or table.endswith(NFT_TABLE)


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
