"""Parametrization: one item per nameserver, expected name and network, or one item that
skips with the reason there is none."""

from __future__ import annotations

import pytest

from suites.plugin.keys import TARGET
from suites.plugin.nameservers import configured_nameservers
from suites.plugin.networks import ipv6_networks, parametrize_networks, resolver_networks
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
