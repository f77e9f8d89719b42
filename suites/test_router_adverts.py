"""Router Advertisement checks RA-*: does a router answer, and are its RDNSS, DNSSL and prefix
options sound (RFC 4861 as updated by RFC 8319, RFC 4862, RFC 8106)?

One Router Solicitation per session (suites.plugin.routers); every check judges what answered
it, router by router. The rules are in rules.ra.
"""

from __future__ import annotations

import pytest

from probes.target import Target
from reports.diagnosis import Hold
from rules.ra import (
    judge_dnssl,
    judge_prefix_information,
    judge_rdnss,
    judge_rdnss_answers,
    judge_router_answers,
)
from suites.plugin.routers import RouterRound

pytestmark = pytest.mark.rdnss


@pytest.mark.check("RA-01")
async def test_router_answers_solicitation(
    hold: Hold, target: Target, routers: RouterRound
) -> None:
    """A router answers a Router Solicitation on the uplink with an RA hosts keep (RFC 4861
    6.1.2); its router lifetime is 0 or from MaxRtrAdvInterval to 65535 s (RFC 8319), non-zero
    for the host's default router; its source link-layer address and advertisement interval
    options are sound."""
    hold(
        judge_router_answers(
            routers.solicitation, default_gateways=routers.default_gateways, profile=target.profile
        )
    )


@pytest.mark.check("RA-02")
async def test_rdnss_well_formed(hold: Hold, target: Target, routers: RouterRound) -> None:
    """The RA carries an RDNSS option (RFC 8106): length odd and at least 3, unicast addresses,
    lifetime non-zero and at least 3 × MaxRtrAdvInterval."""
    hold(judge_rdnss(routers.solicitation, routers.kept, profile=target.profile))


@pytest.mark.check("RA-03")
async def test_rdnss_servers_answer(hold: Hold, target: Target, routers: RouterRound) -> None:
    """Each RDNSS server answers a DNS query over IPv6."""
    hold(judge_rdnss_answers(routers.solicitation, routers.kept, routers.rdnss_answers))


@pytest.mark.check("RA-04")
async def test_dnssl_and_profile(hold: Hold, target: Target, routers: RouterRound) -> None:
    """DNSSL, where present or expected, is well formed; RDNSS and DNSSL match the profile."""
    hold(judge_dnssl(routers.solicitation, routers.kept, profile=target.profile))


@pytest.mark.check("RA-05")
async def test_prefix_information(hold: Hold, target: Target, routers: RouterRound) -> None:
    """Prefix information is consistent (A and L flags, preferred ≤ valid) and its options
    sized right; the MTU option sized right and usable (1280 up to the link's MTU); M and O
    flags as the profile expects."""
    hold(judge_prefix_information(routers.solicitation, routers.kept, profile=target.profile))
