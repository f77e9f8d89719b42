"""RT-01's accept_ra rule on sysctl states (no namespace needed)."""

from __future__ import annotations

import pytest

from probes.sysctl import ForwardingState, accept_ra_trap


def state(forwarding: str, accept_ra: str) -> ForwardingState:
    return ForwardingState(forwarding, "eth0", accept_ra, forwarding)


@pytest.mark.parametrize(
    ("forwarding", "accept_ra", "protocols", "trapped"),
    [
        ("1", "2", ["ra"], None),
        ("1", "1", ["ra"], "will expire"),
        # accept_ra 0: the kernel takes no RAs; a route from RAs is a user-space daemon's
        # (systemd-networkd as Ubuntu runs it, NetworkManager), which forwarding does not stop
        ("1", "0", ["ra"], None),
        ("1", "1", [], "no IPv6 default route"),
        ("1", "1", ["static"], None),  # a configured route does not need RAs
        ("1", "1", ["static", "ra"], "will expire"),
        ("0", "1", ["ra"], None),  # a plain host accepts RAs with 1
    ],
)
def test_accept_ra_trap(
    forwarding: str, accept_ra: str, protocols: list[str], trapped: str | None
) -> None:
    verdict = accept_ra_trap(state(forwarding, accept_ra), protocols)
    if trapped is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert trapped in verdict
        assert f"accept_ra = {accept_ra} on eth0" in verdict


def test_evidence_lines_name_the_sysctls() -> None:
    lines = state("1", "2").lines()
    assert lines == (
        "net.ipv6.conf.all.forwarding = 1",
        "net.ipv6.conf.eth0.forwarding = 1",
        "net.ipv6.conf.eth0.accept_ra = 2",
    )


@pytest.mark.parametrize(
    ("all_forwarding", "uplink_forwarding", "trapped"),
    [
        ("0", "1", True),  # the kernel's rule is the uplink's own forwarding
        ("1", "0", False),  # forwarding on elsewhere, off on the uplink: it takes RAs with 1
    ],
)
def test_the_uplinks_own_forwarding_decides(
    all_forwarding: str, uplink_forwarding: str, trapped: bool
) -> None:
    found = ForwardingState(all_forwarding, "eth0", "1", uplink_forwarding)
    assert (accept_ra_trap(found, ["ra"]) is not None) == trapped
