"""AF-02's survey part: each published TCP port, found at collection, reached over IPv6 from the
far end (or, with none named, from this host's own namespace as a stand-in) while the
container's own TCP table is read."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import pytest

from probes import ifaddr
from probes.client_addr import ClientAddressSeen, PublishedPort, connect_and_look, find_published
from probes.docker import DockerEndpoint
from probes.errors import HarnessError
from probes.firewall import Ruleset
from probes.netns import Netns
from suites.plugin.keys import (
    DOCKER_ENDPOINT,
    NO_DOCKER,
    RULESET,
    SELECTOR,
    TARGET,
    UPLINK,
    PartKey,
)
from suites.plugin.networks import ipv6_networks
from suites.plugin.survey import Survey, surveyed

PUBLISHED = pytest.StashKey[list[PublishedPort] | str]()


def published_ports(config: pytest.Config) -> list[PublishedPort] | str:
    """The published TCP ports of the selected containers, asked once at collection; or why
    there are none to look at."""
    if PUBLISHED not in config.stash:
        ipv6_networks(config)  # notes the Docker version, or why there is no Docker
        if NO_DOCKER in config.stash:
            config.stash[PUBLISHED] = config.stash[NO_DOCKER]
            return config.stash[PUBLISHED]
        target = config.stash[TARGET]

        async def ask() -> list[PublishedPort]:
            async with DockerEndpoint(target.docker_host) as docker:
                return await find_published(docker, config.stash[SELECTOR])

        try:
            found: list[PublishedPort] | str = [p for p in asyncio.run(ask()) if p.ipv6_hosts]
        except HarnessError as exc:
            found = f"no Docker: {exc}"
        if isinstance(found, list) and not found:
            selector = config.stash[SELECTOR]
            which = "every running container" if selector.kind == "all" else selector.describe()
            found = f"no container publishes a TCP port over IPv6 on this host ({which})"
        config.stash[PUBLISHED] = found
    return config.stash[PUBLISHED]


@dataclass(frozen=True, slots=True)
class ClientAddresses:
    """Each published port's connection and what its container saw, by item id; the daemon's
    major version and whether ip6tables DNATs each host port (None: not known)."""

    seen: dict[str, ClientAddressSeen | str]  # a string: why there is nothing to judge
    docker_major: int
    docker_version: str
    dnat: dict[int, bool | None]


CLIENT_ADDRESSES: PartKey[ClientAddresses] = PartKey("client_addresses")


def _dnat(ruleset: Ruleset | str, host_port: int, backend: str | None) -> bool | None:
    """Whether the firewall DNATs the host port (Docker's rule for a published port): its
    ip6tables nat rules; under Docker's nftables backend a DNAT in the nft ruleset, or not
    known (its shape there is not read into a verdict)."""
    if isinstance(ruleset, str):
        return None
    nftables = (backend or "").startswith("nftables")
    text = ruleset.nft_text if nftables else ruleset.ip6tables_text
    if not text:
        return None
    found = any(
        "dnat" in line.lower() and re.search(rf"dport {host_port}\b", line)
        for line in text.splitlines()
    )
    return True if found else (None if nftables else False)


@surveyed(CLIENT_ADDRESSES)
async def client_addresses(survey: Survey) -> ClientAddresses:
    """Every published port reached at once, each with its own deadline."""
    ports = published_ports(survey.config)
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    if isinstance(ports, str):
        pytest.skip(ports)
    target = survey.target
    profile = target.profile
    uplink: str | None = await survey.get(UPLINK)
    ruleset: Ruleset | str = await survey.maybe(RULESET)
    snap = await ifaddr.snapshot(target.netns)
    host_addresses = tuple(a.address for a in snap.addresses)
    on_uplink = [
        a.address
        for a in (snap.on(uplink) if uplink else ())
        if ":" in a.address and not a.link_local and a.usable
    ]
    if profile.far_end_namespace:
        client = Netns.named(profile.far_end_namespace)
        where, stand_in = f"the far end (namespace {profile.far_end_namespace})", False
    else:
        client = target.netns
        where, stand_in = f"this host's own namespace, to its uplink {uplink}", True

    async def one(port: PublishedPort) -> ClientAddressSeen | str:
        if not port.alive():
            return f"container {port.container} exited during the run: gone, not judged"
        bound = port.ipv6_hosts[0]
        dest = bound if bound != "::" else (on_uplink[0] if on_uplink else None)
        if port.direct:
            own = [a for a in port.addresses if ":" in a]
            if not own:
                return f"{port.container} has no IPv6 address of its own to reach it at"
            dest = own[0]
        elif dest is None:
            return (
                f"this host has no global IPv6 address on its uplink ({uplink or 'none found'}) "
                f"to reach {port.container}'s published port {port.host_port} at"
            )
        return await connect_and_look(
            port, client=client, client_where=where, stand_in=stand_in, target=dest,
            host_addresses=host_addresses, timeout=profile.timeout,
        )  # fmt: skip

    async with asyncio.TaskGroup() as tg:
        tasks = {p.item_id: tg.create_task(one(p)) for p in ports}
    daemon = docker.daemon
    return ClientAddresses(
        {k: t.result() for k, t in tasks.items()},
        daemon.major if daemon else 0,
        daemon.version if daemon else "",
        {
            p.host_port: _dnat(ruleset, p.host_port, daemon.firewall_backend if daemon else None)
            for p in ports
            if not p.direct
        },
    )
