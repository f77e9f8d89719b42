"""Address-family checks AF-*: which family an application in a container really uses.

AF-01 asks each IPv6 network's probe container's own C library for the profile's dual-stack
names, as an application does (getaddrinfo, AF_UNSPEC), and holds the first answer to the
family the profile prefers. The judgement, and the RFC 6724 rule that explains it, are in
rules.af.
"""

from __future__ import annotations

import pytest

from probes import family
from probes.docker import ProbeContainer
from probes.errors import HarnessError
from probes.target import Target
from reports.diagnosis import Hold
from rules.af import judge_family
from rules.isolation import isolated
from suites.plugin.site import Site, seen

pytestmark = pytest.mark.family


@pytest.mark.check("AF-01")
async def test_application_family(
    hold: Hold,
    target: Target,
    site: Site,
    any_container: ProbeContainer,
    family_orders: dict[str, list[family.FamilyReport | HarnessError]],
    pytestconfig: pytest.Config,
) -> None:
    """An application in the container that connects to the first answer for a dual-stack
    name uses the family the profile prefers (IPv6 by default)."""
    container = any_container
    if (isolation := isolated(container.network, "reaching names beyond the host")) is not None:
        hold(isolation)
    if not target.profile.family_names():
        pytest.skip("the profile lists no dual-stack names ([family] names, or [[names]] with a)")
    if container.key not in family_orders:
        pytest.skip(
            f"{container.label} was not asked: its network's probe container could not be, "
            "or it exited during the run"
        )
    prefer = target.profile.family.prefer
    reports = [seen(pytestconfig, found) for found in family_orders[container.key]]
    hold(
        judge_family(
            reports,
            prefer=prefer,  # type: ignore[arg-type]
            network=container.network.name,
            daemon_major=site.daemon_major,
        )
    )
