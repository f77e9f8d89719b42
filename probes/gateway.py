"""What gateway a Docker network should present, by daemon version and profile (pure rules)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from probes.docker import NetworkInfo
from probes.ifaddr import IfAddr
from probes.profile import Profile

LINK_LOCAL_GATEWAY = "fe80::1"


@dataclass(frozen=True, slots=True)
class BridgeExpectation:
    address: str
    prefixlen: int | None
    why: str
    note: str | None = None


def bridge_expectation(
    daemon_major: int, network: NetworkInfo, profile: Profile
) -> BridgeExpectation:
    """GW-01: which gateway address the network's bridge must carry.

    Docker up to 26.x assigns fe80::1/64 to every IPv6 bridge; 27.0 stopped doing so (the
    kernel's own link-local stays), so there the network's gateway is what must be present.
    """
    if profile.link_local_gateway:
        return BridgeExpectation(
            profile.link_local_gateway, 64, f"the profile ({profile.source}) demands it"
        )
    if daemon_major and daemon_major < 27:
        return BridgeExpectation(
            LINK_LOCAL_GATEWAY, 64, f"Docker {daemon_major}.x assigns fe80::1/64 to IPv6 bridges"
        )
    if network.gateways6:
        plen = ipaddress.IPv6Network(network.subnets6[0], strict=False).prefixlen
        return BridgeExpectation(
            network.gateways6[0],
            plen,
            f"Docker {daemon_major or '27+'}: the network's IPv6 gateway",
            note="Docker 27 and later no longer assign fe80::1: anything still pointing at "
            "fe80::1 will break",
        )
    return BridgeExpectation(LINK_LOCAL_GATEWAY, 64, "the network has no IPv6 subnet")


def container_gateway(network: NetworkInfo, profile: Profile) -> str:
    """GW-02: the IPv6 default gateway a container on ``network`` should use.

    The daemon's ``default-gateway-v6`` (profile) overrides, on the default bridge only: Docker
    applies it to docker0 and nowhere else, so user-defined networks keep their own gateway.
    Else, on Docker 20.10+, the first address of the network's IPv6 subnet (or its configured
    gateway); fe80::1 only where no subnet is configured.
    """
    if profile.default_gateway_v6 and network.is_default_bridge:
        return profile.default_gateway_v6
    if network.gateways6:
        return network.gateways6[0]
    return LINK_LOCAL_GATEWAY


def find_address(
    addresses: tuple[IfAddr, ...], address: str, prefixlen: int | None = None
) -> IfAddr | None:
    wanted = ipaddress.IPv6Address(address)
    for a in addresses:
        if ipaddress.IPv6Address(a.address) == wanted and prefixlen in (None, a.prefixlen):
            return a
    return None


def in_subnets(address: str, subnets: tuple[str, ...]) -> bool:
    addr = ipaddress.IPv6Address(address)
    return any(addr in ipaddress.IPv6Network(s, strict=False) for s in subnets)
