"""AF-02: a client reaching a published port over IPv6 keeps its own address in the container,
or the container sees the proxy's (docker-proxy) or its network's gateway's: rate limits and
access lists then see one client. One item per published port (``CONTAINER/HOSTPORT``).

The judgement is in rules.af_client."""

from __future__ import annotations

import pytest

from probes.client_addr import PublishedPort
from reports.diagnosis import Hold
from rules.af_client import judge_client_address
from suites.plugin.keys import NO_DOCKER, TARGET
from suites.plugin.parts.client_addr import ClientAddresses, published_ports
from suites.plugin.site import cannot_run

pytestmark = pytest.mark.published


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "published" not in metafunc.fixturenames or TARGET not in metafunc.config.stash:
        return
    found = published_ports(metafunc.config)
    if isinstance(found, str):
        metafunc.parametrize("published", [pytest.param(found, id="no-published-port")])
    else:
        metafunc.parametrize("published", found, ids=[p.item_id for p in found])


@pytest.mark.check("AF-02")
async def test_client_address_survives(
    hold: Hold,
    published: PublishedPort | str,
    client_addresses: ClientAddresses,
    pytestconfig: pytest.Config,
) -> None:
    """The container's own TCP table shows the IPv6 client's address for a connection to its
    published port, not this host's or its gateway's."""
    if isinstance(published, str):
        if NO_DOCKER in pytestconfig.stash:
            cannot_run(pytestconfig, published)
        pytest.skip(published)
    seen = client_addresses.seen[published.item_id]
    if isinstance(seen, str):
        pytest.skip(seen)
    hold(
        judge_client_address(
            seen,
            docker_major=client_addresses.docker_major,
            docker_version=client_addresses.docker_version,
            ip6tables_dnat=client_addresses.dnat.get(published.host_port),
        )
    )
