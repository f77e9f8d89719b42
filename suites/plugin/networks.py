"""The target's Docker networks, asked once at collection: what the checks are parametrized
over, and the fixtures that hand one to a check."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TypeVar

import pytest

from probes.docker import (
    NEWEST_KNOWN_MAJOR,
    DockerEndpoint,
    NetworkInfo,
)
from probes.errors import HarnessError
from probes.workloads import NothingSelected, find_workloads
from reports.plugin import abort
from reports.results import (
    SUITE_PROPERTIES,
)
from suites.plugin.keys import NETWORKS, NO_DOCKER, PLAIN_BRIDGE, SELECTOR, TARGET, WORKLOADS

P = TypeVar("P")  # a place items are parametrized over: a network, a seat


def ipv6_networks(config: pytest.Config) -> list[NetworkInfo] | str:
    """The target's IPv6 Docker networks, asked once at collection; or why there are none."""
    if NETWORKS not in config.stash:
        target = config.stash[TARGET]

        async def ask() -> list[NetworkInfo]:
            async with DockerEndpoint(target.docker_host) as docker:
                if docker.daemon is not None:
                    newer = docker.daemon.major > NEWEST_KNOWN_MAJOR
                    config.stash[SUITE_PROPERTIES]["docker"] = (
                        f"{docker.daemon.version} (API {docker.daemon.api_version})"
                        + (
                            f"; newer than the checks know (up to {NEWEST_KNOWN_MAJOR}): "
                            f"judged by Docker {NEWEST_KNOWN_MAJOR}'s rules"
                            if newer
                            else ""
                        )
                    )
                every = await docker.networks()
                selector = config.stash[SELECTOR]
                ipv6 = [n for n in every if n.enable_ipv6 and n.driver == "bridge"]
                config.stash[WORKLOADS] = await find_workloads(docker, selector, ipv6)
                config.stash[SUITE_PROPERTIES]["workloads"] = (
                    f"{len(config.stash[WORKLOADS])} ({selector.describe()})"
                )
                return every

        plain: NetworkInfo | None = None
        try:
            every = asyncio.run(ask())
            found: list[NetworkInfo] | str = [
                n for n in every if n.enable_ipv6 and n.driver == "bridge"
            ]
            plain = next((n for n in every if n.name == "bridge" and not n.enable_ipv6), None)
        except NothingSelected as exc:  # the user's mistake, before anything is probed
            abort(config, str(exc))
        except HarnessError as exc:
            found = config.stash[NO_DOCKER] = f"no Docker: {exc}"
            config.stash[SUITE_PROPERTIES]["docker"] = found
        if isinstance(found, list) and not found:
            found = "the Docker daemon has no bridge network with IPv6 enabled"
        config.stash[NETWORKS] = found
        config.stash[PLAIN_BRIDGE] = plain
    return config.stash[NETWORKS]


def resolver_networks(config: pytest.Config) -> list[NetworkInfo] | str:
    """Where resolv.conf checks look: every IPv6 network, and the default bridge even without
    IPv6 (where `docker run` without --network lands), or why there is nowhere to look."""
    found = ipv6_networks(config)
    plain = config.stash[PLAIN_BRIDGE]
    if isinstance(found, str):
        return [plain] if plain is not None else found
    return [*found, plain] if plain is not None else found


def parametrize_places(
    metafunc: pytest.Metafunc, argname: str, found: Sequence[P] | str, ids: list[str], none: str
) -> None:
    """One item per place (network, seat), called by ``ids``; or one item, called ``none``,
    that skips with the reason there is no place."""
    if isinstance(found, str):
        metafunc.parametrize(argname, [pytest.param(found, id=none)], indirect=True)
    else:
        metafunc.parametrize(argname, found, ids=ids, indirect=True)


def param_or_skip(request: pytest.FixtureRequest, kind: type[P]) -> P:
    """The place an item was parametrized with; or it skips with why there is none."""
    if isinstance(request.param, str):
        pytest.skip(request.param)
    assert isinstance(request.param, kind)
    return request.param


def parametrize_networks(
    metafunc: pytest.Metafunc, argname: str, found: list[NetworkInfo] | str
) -> None:
    """One item per network; or one item that skips with the reason there is none."""
    none = "no-ipv6-network" if argname == "network" else "no-network"
    ids = [] if isinstance(found, str) else [n.name for n in found]
    parametrize_places(metafunc, argname, found, ids, none)


def _network_param(request: pytest.FixtureRequest) -> NetworkInfo:
    return param_or_skip(request, NetworkInfo)


@pytest.fixture
def network(request: pytest.FixtureRequest) -> NetworkInfo:
    """One of the target's IPv6 bridge networks."""
    return _network_param(request)


@pytest.fixture
def any_network(request: pytest.FixtureRequest) -> NetworkInfo:
    """One of the IPv6 networks, or the default bridge where it has no IPv6."""
    return _network_param(request)


@pytest.fixture
def v6only_network(request: pytest.FixtureRequest) -> NetworkInfo:
    """An IPv6-only network (DNS-05), or skip with the reason there is none."""
    return param_or_skip(request, NetworkInfo)
