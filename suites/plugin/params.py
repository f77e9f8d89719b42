"""Parametrization: one item per nameserver, expected name, endpoint, network, container seat
and builder, or one item that skips with the reason there is none."""

from __future__ import annotations

import pytest

from probes import build
from probes.docker import NetworkInfo
from suites.plugin.keys import TARGET
from suites.plugin.nameservers import configured_nameservers
from suites.plugin.networks import (
    ipv6_networks,
    parametrize_networks,
    parametrize_places,
    resolver_networks,
)
from suites.plugin.workloads import container_seats, parametrize_seats, resolver_seats


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if TARGET not in metafunc.config.stash:
        return
    if "nameserver" in metafunc.fixturenames:
        six = [
            i for i in configured_nameservers(metafunc.config) if not i.address or ":" in i.address
        ]
        if six:
            metafunc.parametrize("nameserver", six, ids=[i.id for i in six])
        else:
            metafunc.parametrize("nameserver", [pytest.param(None, id="no-ipv6-nameserver")])
    if "expected_name" in metafunc.fixturenames:
        names = list(metafunc.config.stash[TARGET].profile.names)
        if names:
            metafunc.parametrize("expected_name", names, ids=[n.name for n in names])
        else:
            metafunc.parametrize("expected_name", [pytest.param(None, id="no-names")])
    if "endpoint" in metafunc.fixturenames:
        endpoints = list(metafunc.config.stash[TARGET].profile.endpoints)
        ids = [f"{e.name}-{e.scheme}{e.port}" for e in endpoints]
        if endpoints:
            metafunc.parametrize("endpoint", endpoints, ids=ids)
        else:
            metafunc.parametrize("endpoint", [pytest.param(None, id="no-endpoints")])
    if "any_network" in metafunc.fixturenames:
        parametrize_networks(metafunc, "any_network", resolver_networks(metafunc.config))
    if "any_container" in metafunc.fixturenames:
        parametrize_seats(metafunc, "any_container", container_seats(metafunc.config))
    if "resolv_seat" in metafunc.fixturenames:
        parametrize_seats(metafunc, "resolv_seat", resolver_seats(metafunc.config))
    if "network" in metafunc.fixturenames:
        parametrize_networks(metafunc, "network", ipv6_networks(metafunc.config))
    if "v6only_network" in metafunc.fixturenames:  # DNS-05: Docker 28's --ipv4=false networks
        found = ipv6_networks(metafunc.config)
        nets: list[NetworkInfo] | str = (
            found if isinstance(found, str) else [n for n in found if not n.enable_ipv4]
        )
        if isinstance(nets, list) and not nets:
            nets = "no IPv6-only network on this host (Docker 28 makes them: --ipv4=false)"
        ids = [] if isinstance(nets, str) else [n.name for n in nets]
        parametrize_places(metafunc, "v6only_network", nets, ids, "no-ipv6-only-network")
    if "builder" in metafunc.fixturenames:
        metafunc.parametrize("builder", build.BUILDERS)
    if "place" in metafunc.fixturenames:  # RC-03: every network, and each builder's step
        found = resolver_networks(metafunc.config)
        places = [] if isinstance(found, str) else [n.name for n in found]
        metafunc.parametrize("place", [*places, *(f"build-{b}" for b in build.BUILDERS)])
