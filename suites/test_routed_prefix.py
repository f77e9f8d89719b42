"""Routed-prefix checks RT-*: is the container prefix really reachable, and if not, why."""

from __future__ import annotations

import pytest

from probes import ifaddr
from probes.sysctl import accept_ra_trap, forwarding_state
from probes.target import Target, privileged
from reports.diagnosis import explain

pytestmark = pytest.mark.routing


async def _uplink(target: Target) -> tuple[str | None, ifaddr.Snapshot]:
    """The uplink: as configured, else the interface of the host's IPv6 default route."""
    snap = await ifaddr.snapshot(target.netns)
    if target.uplink:
        return target.uplink, snap
    devs = [r.interface for r in snap.default_routes() if r.interface]
    return (devs[0] if devs else None), snap


@pytest.mark.check("RT-01")
async def test_forwarding_and_accept_ra(target: Target) -> None:
    """IPv6 forwarding is on; an uplink that learns its default route from RAs has accept_ra=2."""
    if target.netns.path is not None and not privileged():
        pytest.skip("not root: reading another namespace's sysctls needs setns")
    uplink, snap = await _uplink(target)
    state = await forwarding_state(target.netns, uplink)
    defaults = [r for r in snap.default_routes() if uplink is None or r.interface == uplink]
    evidence = [*state.lines(), "IPv6 default routes:"]
    evidence += [f"  {r}" for r in snap.default_routes()] or ["  (none)"]
    assert state.forwarding == "1", explain(
        f"IPv6 forwarding is off on this host (net.ipv6.conf.all.forwarding = "
        f"{state.forwarding}): containers' packets are not routed beyond the bridge",
        evidence,
        fix="sysctl -w net.ipv6.conf.all.forwarding=1 and persist it in /etc/sysctl.d/; "
        f"then set accept_ra=2 on {uplink or 'the uplink'} if it learns its route from RAs",
    )
    if uplink is None or state.uplink_accept_ra is None:
        return  # no uplink to judge: forwarding alone is the requirement
    trap = accept_ra_trap(state, [r.protocol for r in defaults])
    assert trap is None, explain(
        trap or "",
        evidence,
        fix=f"sysctl -w net.ipv6.conf.{uplink}.accept_ra=2 (with forwarding on, 1 drops RAs) "
        "and persist it, or configure a static default route",
    )
