"""What it takes to create a Docker network again as it is (RT-06's fix on Docker 27+, whose
gateway mode is fixed when a network is created): its IPAM (every subnet with its gateway, range
and auxiliary addresses), driver options, labels and flags, and the host's containers on it with
their addresses and aliases, read from the daemon's API. The harness's own containers are left
out (they go when the run ends).

What cannot be said again by ``docker network create`` / ``connect`` is named in ``unscriptable``
(a plugin's IPAM, a config-only network, a swarm network, a network Compose owns): the rule then
gives its fix in words only. Frozen, no verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from probes.docker import DEFAULT_SOCKET, LABEL, DockerEndpoint
from probes.errors import DockerUnavailable

COMPOSE_PROJECT = "com.docker.compose.project"


@dataclass(frozen=True, slots=True)
class Pool:
    """One IPAM config: a subnet with what was set on it."""

    subnet: str
    gateway: str = ""
    ip_range: str = ""
    aux: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Member:
    """A container of the host's on the network: its addresses there and its own aliases."""

    name: str
    ipv4: str = ""  # without the prefix length
    ipv6: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    network: str
    driver: str
    pools: tuple[Pool, ...]
    options: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    ipam_options: tuple[tuple[str, str], ...] = ()
    internal: bool = False
    attachable: bool = False
    enable_ipv4: bool = True
    members: tuple[Member, ...] = ()
    # the Docker endpoint to name in commands (``docker -H …``); None: the CLI's default
    docker_host: str | None = None
    unscriptable: tuple[str, ...] = ()  # why it cannot be created again by a command


def _pairs(data: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (data or {}).items()))


def _own_aliases(aliases: list[str] | None, name: str, cid: str, hostname: str) -> tuple[str, ...]:
    """The aliases given by hand: Docker adds the name, short ID and host name itself."""
    implied = {name, cid[:12], hostname}
    return tuple(a for a in aliases or () if a not in implied)


def spec_from_api(
    data: Mapping[str, Any],
    containers: Mapping[str, Mapping[str, Any]],
    *,
    docker_host: str | None,
) -> NetworkSpec:
    """``data``: ``GET /networks/NAME``; ``containers``: ``GET /containers/ID/json`` for each of
    its containers (by ID), the harness's own left out here."""
    name = str(data.get("Name"))
    ipam = data.get("IPAM") or {}
    pools = tuple(
        Pool(
            str(c.get("Subnet") or ""),
            str(c.get("Gateway") or ""),
            str(c.get("IPRange") or ""),
            _pairs(c.get("AuxiliaryAddresses")),
        )
        for c in ipam.get("Config") or []
    )
    labels = _pairs(data.get("Labels"))
    why: list[str] = []
    if (ipam.get("Driver") or "default") != "default":
        why.append(f"its IPAM driver is {ipam.get('Driver')}, a plugin's")
    if data.get("ConfigOnly") or (data.get("ConfigFrom") or {}).get("Network"):
        why.append("it is a config-only network or made from one")
    if data.get("Scope") not in (None, "local"):
        why.append(f"its scope is {data.get('Scope')}")
    if dict(labels).get(COMPOSE_PROJECT):
        why.append(
            f"Compose project {dict(labels)[COMPOSE_PROJECT]} owns it: set the option in the "
            "compose file's networks: driver_opts, and let Compose create it again"
        )
    if any(":" not in p.subnet and "." not in p.subnet for p in pools):
        why.append("an IPAM config without a subnet")
    members = []
    for cid, entry in sorted((data.get("Containers") or {}).items()):
        inspect = containers.get(cid)
        if inspect is None:
            continue  # the harness's own
        cname = str(inspect.get("Name") or entry.get("Name") or cid).lstrip("/")
        hostname = str((inspect.get("Config") or {}).get("Hostname") or "")
        endpoint = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(name) or {}
        if endpoint.get("Links") or endpoint.get("DriverOpts"):
            why.append(f"container {cname}'s links or driver options on it")
        members.append(
            Member(
                cname,
                str(entry.get("IPv4Address") or "").split("/")[0],
                str(entry.get("IPv6Address") or "").split("/")[0],
                _own_aliases(endpoint.get("Aliases"), cname, cid, hostname),
            )
        )
    return NetworkSpec(
        name,
        str(data.get("Driver")),
        pools,
        _pairs(data.get("Options")),
        labels,
        _pairs(ipam.get("Options")),
        bool(data.get("Internal")),
        bool(data.get("Attachable")),
        data.get("EnableIPv4") is not False,
        tuple(members),
        None if docker_host in (None, DEFAULT_SOCKET) else docker_host,
        tuple(why),
    )


async def network_spec(endpoint: DockerEndpoint, name: str) -> NetworkSpec:
    """The network ``name`` as it would have to be created again, read now: its containers
    but the harness's own (labelled io.v6conform)."""
    client = endpoint.client
    data = await endpoint.call(client._query_json(f"networks/{name}", method="GET"))
    containers: dict[str, Mapping[str, Any]] = {}
    for cid in data.get("Containers") or {}:
        try:
            inspect = await endpoint.call(
                client._query_json(f"containers/{cid}/json", method="GET")
            )
        except DockerUnavailable as exc:
            if exc.reason.endswith("(HTTP 404)"):
                continue  # gone since (one of the run's own, done): nothing to connect again
            raise
        if LABEL not in ((inspect.get("Config") or {}).get("Labels") or {}):
            containers[cid] = inspect
    return spec_from_api(data, containers, docker_host=endpoint.url)
