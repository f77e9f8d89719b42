"""The gateway checks' rules (GW-01..GW-03): what gateway a Docker network should present, by
daemon version and profile, and the judgement of what the bridge, the container and the gateway's
answers showed (pure functions over frozen probe results)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from probes import icmp6, ndp
from probes.docker import DaemonInfo, NetworkInfo, ProbeContainer
from probes.ifaddr import IfAddr, Snapshot
from probes.profile import Profile
from rules.judgement import Judgement, failed, not_observed, passed

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


# GW-01 ------------------------------------------------------------------------------------------
def judge_bridge(
    network: NetworkInfo,
    snapshot: Snapshot | None,
    *,
    daemon: DaemonInfo | None,
    profile: Profile,
) -> Judgement:
    """GW-01: the network's bridge carries the expected gateway address, past DAD.

    ``snapshot``: the host's namespace, read with a probe container attached to the network
    (without carrier a bridge's addresses stay tentative); None when there was none to attach.
    """
    if network.bridge is None:
        return not_observed(f"{network.name} has no host-side bridge interface")
    if snapshot is None:
        return not_observed(f"no probe container on {network.name}, so its bridge was not read")
    expect = bridge_expectation(daemon.major if daemon else 0, network, profile)
    version = daemon.version if daemon else "unknown"
    addresses = snapshot.on(network.bridge)
    evidence = [
        f"Docker daemon {version}; expected {expect.address}"
        f"{'/' + str(expect.prefixlen) if expect.prefixlen else ''} because {expect.why}",
        f"{network.bridge} in {snapshot.netns}:",
    ]
    evidence += [f"  {a}" for a in addresses] or ["  (no IPv6 address)"]
    if expect.note:
        evidence.append(f"note: {expect.note}")
    found = find_address(addresses, expect.address, expect.prefixlen)
    if found is None:
        return failed(
            f"bridge {network.bridge} of network {network.name} lacks the gateway {expect.address}",
            evidence,
            hop="bridge",
            fix=f"restore it (`ip addr add {expect.address}/{expect.prefixlen or 64} dev "
            f"{network.bridge}`) or restart dockerd so it sets the bridge up again",
        )
    if not found.usable:
        return failed(
            f"gateway {found} on {network.bridge} is not usable: "
            f"{' '.join(f for f in found.flag_names() if f in ('tentative', 'dadfailed'))}",
            evidence,
            hop="bridge",
            fix="dadfailed: another node on the bridge claims the address; remove the duplicate. "
            "tentative: the bridge has no carrier (no container attached) or DAD is still running",
        )
    return passed(
        f"bridge {network.bridge} of network {network.name} carries the gateway {found}, past DAD",
        evidence,
    )


# GW-02 ------------------------------------------------------------------------------------------
def judge_container_address(
    container: ProbeContainer, snapshot: Snapshot, *, profile: Profile
) -> Judgement:
    """GW-02: the container has a global address in its subnet and a link-local, both past DAD
    (``profile.dad_timeout``), and a default route via the network's gateway.

    ``snapshot``: the container's namespace once DAD was done (or its deadline passed)."""
    network = container.network
    mine = snapshot.on(container.interface)
    gateway = container_gateway(network, profile)
    evidence = [f"{container.interface} in {snapshot.netns}:"]
    evidence += [f"  {a}" for a in mine] or ["  (no IPv6 address)"]
    evidence.append("IPv6 routes:")
    evidence += [f"  {r}" for r in snapshot.routes] or ["  (none)"]
    problems = []
    globals_ = [a for a in mine if not a.link_local and in_subnets(a.address, network.subnets6)]
    if not globals_:
        problems.append(f"no global address inside {', '.join(network.subnets6) or 'its subnet'}")
    elif not any(a.usable for a in globals_):
        problems.append(f"global address {globals_[0]} has not passed DAD")
    link_locals = [a for a in mine if a.link_local]
    if not link_locals:
        problems.append("no link-local address")
    elif not any(a.usable for a in link_locals):
        problems.append(
            f"link-local {link_locals[0]} has not passed DAD within {profile.dad_timeout} s"
        )
    defaults = snapshot.default_routes()
    good = [r for r in defaults if r.gateway == gateway and r.interface == container.interface]
    # an internal network is isolated on purpose: Docker 28 and later give its containers no
    # default route at all, and none is needed
    if not good and not network.internal:
        seen = "; ".join(str(r) for r in defaults) or "none"
        problems.append(
            f"no IPv6 default route via {gateway} dev {container.interface} "
            f"(default routes: {seen})"
        )
    if problems:
        return failed(
            f"container {container.name} on {network.name}: {'; '.join(problems)}",
            evidence,
            hop="container",
            fix=(
                f"this container's own IPv6 settings (its image or entrypoint, `docker inspect "
                f"{container.name}`, sysctls it was started with such as "
                "net.ipv6.conf.all.disable_ipv6 or accept_ra): GW-02 of the network's own probe "
                "container says whether the network itself hands out what it needs"
                if container.workload
                else "check the network's IPv6 settings (`docker network inspect "
                f"{network.name}`: EnableIPv6, IPv6 subnet) and the bridge's gateway (GW-01)"
            ),
        )
    global_ = next(a for a in globals_ if a.usable)
    link_local = next(a for a in link_locals if a.usable)
    route = (
        f"a default route via {gateway} dev {container.interface}"
        if good
        else "no default route (the network is internal: isolation is intended)"
    )
    return passed(
        f"container {container.name} on {network.name} has {global_.address} and "
        f"{link_local.address}, past DAD, and {route}",
        evidence,
    )


# GW-03 ------------------------------------------------------------------------------------------
NO_SOLICIT_SOURCE = "the container has no usable link-local address to solicit from (GW-02)"


@dataclass(frozen=True, slots=True)
class GatewayExchange:
    """A Neighbor Solicitation and an echo from a container to one of its gateways."""

    gateway: str
    solicit: ndp.SolicitResult
    echo: icmp6.EchoResult


def solicit_source(addresses: Sequence[IfAddr]) -> IfAddr | None:
    """GW-03: the address a container solicits its gateways from: a usable link-local one
    (RFC 4861 7.2.2: the NS source for a link-local target); None: it has none
    (:data:`NO_SOLICIT_SOURCE`)."""
    return next((a for a in addresses if a.link_local and a.usable), None)


def gateways_to_probe(daemon_major: int, network: NetworkInfo, profile: Profile) -> tuple[str, ...]:
    """GW-03: the gateways a container on ``network`` must reach: its default route's (GW-02),
    and fe80::1 too where GW-01 expects the bridge to carry it."""
    gateways = [container_gateway(network, profile)]
    expect = bridge_expectation(daemon_major, network, profile)
    if expect.address == LINK_LOCAL_GATEWAY and LINK_LOCAL_GATEWAY not in gateways:
        gateways.append(LINK_LOCAL_GATEWAY)
    return tuple(gateways)


def judge_gateway_answers(
    exchanges: Sequence[GatewayExchange], *, container: ProbeContainer
) -> Judgement:
    """GW-03: from inside the container, every gateway answers Neighbor Solicitation and echo."""
    if not exchanges:
        return not_observed(f"no gateway of {container.network.name} was probed")
    evidence: list[str] = []
    silent = []
    for x in exchanges:
        evidence += [f"[{x.gateway}] {line}" for line in (*x.solicit.evidence, *x.echo.evidence)]
        if not x.solicit.answered:
            silent.append(f"{x.gateway} did not answer Neighbor Solicitation")
        if not x.echo.answered:
            why = f" ({x.echo.error})" if x.echo.error else ""
            silent.append(f"{x.gateway} did not answer echo{why}")
    if silent:
        return failed(
            f"from container {container.name} on {container.network.name}: {'; '.join(silent)}",
            evidence,
            hop="bridge",
            fix=f"check the gateway addresses on {container.network.bridge} (GW-01) and the "
            "container's route (GW-02); an ip6tables INPUT rule on the host can also drop ICMPv6",
        )
    return passed(
        f"from container {container.name} on {container.network.name}, "
        f"{', '.join(x.gateway for x in exchanges)} answered Neighbor Solicitation and echo",
        evidence,
    )
