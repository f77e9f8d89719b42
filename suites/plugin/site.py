"""The site: probe containers on every IPv6 network, past DAD, removed at the end; what a
check does when the harness could not look; where each item ran, for the reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import NoReturn

import pytest

from lab.hints import as_root
from probes import ifaddr
from probes.docker import (
    DockerEndpoint,
    NetworkInfo,
    ProbeContainer,
    probe_fleet,
    probe_image,
)
from probes.errors import HarnessError, harness_errors, one_line
from probes.resolvconf import ResolvConf
from probes.stale import remove_stale
from probes.target import Target, privileged
from reports.results import (
    HOST,
    PATHS,
    Place,
    harness_problem,
)
from suites.plugin.keys import (
    BRIDGES_SETTLED,
    DOCKER_ENDPOINT,
    NO_DOCKER,
    PROBE_CONTAINERS,
    SITE_PART,
    UPLINK,
    T,
)
from suites.plugin.nameservers import host_resolv
from suites.plugin.networks import resolver_networks
from suites.plugin.survey import Survey, surveyed


def resolver_deadline(target: Target) -> float:
    """How long a lookup through a container's resolver may run: the threshold itself. A lookup
    still running then has failed already; stopping it there makes a stalled resolver cost one
    threshold, not glibc's timeout × attempts × servers (which the evidence states instead)."""
    return target.profile.resolve_threshold


@dataclass(frozen=True, slots=True)
class Site:
    """What the session found and started on the target."""

    target: Target
    docker: DockerEndpoint
    containers: dict[str, ProbeContainer]  # by network name: the IPv6 networks
    settled: dict[str, ifaddr.Snapshot]  # each container's namespace once DAD was done
    bridges: dict[str, ifaddr.Snapshot]  # the host, once each bridge's DAD was done
    plain: dict[str, ProbeContainer]  # on the default bridge where it has no IPv6
    run_id: str

    @property
    def daemon_major(self) -> int:
        return self.docker.daemon.major if self.docker.daemon else 0

    @property
    def docker_version(self) -> str:
        return self.docker.daemon.version if self.docker.daemon else ""

    @property
    def firewall_backend(self) -> str | None:
        """The firewall backend the daemon says it uses (Docker 28.1+), or None."""
        return self.docker.daemon.firewall_backend if self.docker.daemon else None

    @property
    def every_container(self) -> dict[str, ProbeContainer]:
        return {**self.containers, **self.plain}


SITE = pytest.StashKey[Site]()


@surveyed(DOCKER_ENDPOINT)
async def docker_endpoint(survey: Survey) -> DockerEndpoint:
    """The target's Docker daemon, held for the run: a stale run's leftovers removed, the probe
    image in place (builds need no more; the probe containers need it too)."""
    config = survey.config
    if not privileged():
        needs_root(config, "the probes enter container network namespaces and use raw sockets")
    if NO_DOCKER in config.stash:  # Docker checks were asked for: the harness cannot run
        cannot_run(config, config.stash[NO_DOCKER])
    with _harness_failure():
        with survey.timed("daemon"):
            docker = await survey.stack.enter_async_context(
                DockerEndpoint(survey.target.docker_host)
            )
        with survey.timed("stale removal"):
            await remove_stale(docker)
        with survey.timed("probe image"):
            await survey.stack.enter_async_context(probe_image(docker, survey.run_id))
    return docker


@surveyed(PROBE_CONTAINERS)
async def probe_containers(survey: Survey) -> list[ProbeContainer]:
    """A probe container on every IPv6 network and on the default bridge, started (not yet
    past DAD); removed at the end, always."""
    networks = resolver_networks(survey.config)
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    if isinstance(networks, str):
        pytest.skip(networks)
    with _harness_failure(), survey.timed("container start"):
        fleet = probe_fleet(docker, networks, run_id=survey.run_id, with_image=False)
        return await survey.stack.enter_async_context(fleet)


@surveyed(BRIDGES_SETTLED)
async def bridges_settled(survey: Survey) -> dict[str, ifaddr.Snapshot]:
    """The host's view of each IPv6 bridge once its DAD is done: a bridge gets carrier (and
    starts DAD) when the first container attaches, and while its addresses are tentative the
    host neither answers nor sends Neighbor Solicitations there, for probes and builds alike."""
    every: list[ProbeContainer] = await survey.get(PROBE_CONTAINERS)
    bridges = {c.network.bridge for c in every if c.network.enable_ipv6 and c.network.bridge}
    netns, dad = survey.target.netns, survey.target.profile.dad_timeout
    with _harness_failure(), survey.timed("bridge DAD"):
        async with asyncio.TaskGroup() as tg:
            waits = {b: tg.create_task(ifaddr.settled(netns, b, timeout=dad)) for b in bridges}
    return {b: t.result() for b, t in waits.items()}


@surveyed(SITE_PART)
async def site(survey: Survey) -> Site:
    """Probe containers on every IPv6 network, each past DAD, both ends of its link."""
    config, target = survey.config, survey.target
    docker: DockerEndpoint = await survey.get(DOCKER_ENDPOINT)
    every: list[ProbeContainer] = await survey.get(PROBE_CONTAINERS)
    fleet = [c for c in every if c.network.enable_ipv6]
    dad = target.profile.dad_timeout
    with _harness_failure(), survey.timed("container DAD"):
        async with asyncio.TaskGroup() as tg:
            waits = {
                c.network.name: tg.create_task(
                    ifaddr.settled_soon(c.netns, c.interface, timeout=dad)
                )
                for c in fleet
            }
    found = Site(
        target,
        docker,
        {c.network.name: c for c in fleet},
        {n: t.result() for n, t in waits.items()},
        await survey.get(BRIDGES_SETTLED),
        {c.network.name: c for c in every if not c.network.enable_ipv6},
        survey.run_id,
    )
    config.stash[SITE] = found
    with _harness_failure():
        config.stash[PATHS] = await path_labels(found, host_resolv(config))
    return found


@contextlib.contextmanager
def _harness_failure() -> Iterator[None]:
    """A harness error, alone or among a task group's, fails what needed it with one line."""
    try:
        yield
    except (HarnessError, BaseExceptionGroup) as exc:  # alone, or from a task group
        # not `except*`: Python 3.11 before 3.11.4 (Debian 12 has 3.11.2) wraps what an except*
        # block raises in a new group, and a bug among the errors must keep its traceback
        if harness_errors(exc) is None:
            raise
        pytest.fail(f"harness error: {one_line(exc)}", pytrace=False)


async def caught(aw: Awaitable[T]) -> T | HarnessError:
    """A probe's result, or the harness error that stopped it: in a fixture that asks many
    places at once, one place's broken probe must not take the others' verdicts with it."""
    try:
        return await aw
    except HarnessError as exc:
        return exc


def seen(config: pytest.Config, found: T | HarnessError) -> T:
    """What the probe saw, or (it saw nothing) the run cannot vouch for this item: exit 3."""
    if isinstance(found, HarnessError):
        cannot_run(config, f"harness error: {found}")
    return found


def cannot_run(config: pytest.Config, reason: str) -> NoReturn:
    """Skip a check the harness cannot run here, and make the run's exit status say so."""
    harness_problem(config, reason)
    pytest.skip(reason)


def needs_root(config: pytest.Config, why: str) -> NoReturn:
    """Skip a check only root can run (``not root: WHY``); the run's problems say, once, to run
    this same command again with sudo."""
    harness_problem(config, f"not root: {why}")
    harness_problem(config, f"not root: run it with sudo: {as_root()}")
    pytest.skip(f"not root: {why}")


BUILD_COLUMNS = {"classic": "build (classic)", "buildkit": "build (BuildKit)"}


def locate(item: pytest.Item) -> Place:
    """Where an item ran, for the reports: a network (and its probe container), a builder, or
    the host itself (nameservers, names and the uplink's routers are looked at from there)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    site = item.config.stash.get(SITE, None)
    for key in ("network", "any_network", "v6only_network"):
        net = params.get(key)
        if isinstance(net, NetworkInfo):
            return _network_place(site, net.name)
    for key in ("any_container", "resolv_seat"):
        seat = params.get(key)
        net = getattr(seat, "network", None)
        if isinstance(net, NetworkInfo):
            if isinstance(seat, ProbeContainer):  # its workload is a flag, its label the name
                return (
                    Place(net.name, seat.label) if seat.workload else _network_place(site, net.name)
                )
            name = getattr(seat, "workload", None)
            return Place(net.name, f"{net.name}/{name}") if name else _network_place(site, net.name)
    builder, place = params.get("builder"), params.get("place")
    if isinstance(place, str):
        if not place.startswith("build-"):
            return _network_place(site, place)
        builder = place.removeprefix("build-")
    if isinstance(builder, str):
        column = BUILD_COLUMNS.get(builder, f"build ({builder})")
        return Place(column, column)
    return Place(HOST, callspec.id if callspec is not None else HOST)


def _network_place(site: Site | None, network: str) -> Place:
    container = site.every_container.get(network) if site is not None else None
    return Place(network, container.label if container is not None else network)


async def path_labels(site: Site, resolv: ResolvConf) -> dict[str, dict[str, str]]:
    """What each hop of each place's path is on this target, for the report's path pictures."""
    uplink, snap = await find_uplink(site.target)
    routers = [r.gateway for r in snap.default_routes() if r.gateway]
    profile = site.target.profile
    dns = [*(str(ns) for ns in resolv.used_nameservers), *profile.nameservers]
    far = " ".join([*profile.anchors[:1], *(f"DNS {ns}" for ns in dns[:1])])
    common = {
        "host": site.target.label,
        "uplink": uplink or "no IPv6 default route",
        "upstream": routers[0] if routers else "no default router",
        "far end": far or "no anchor, no nameserver",
    }
    paths = {HOST: common}
    for name, c in site.every_container.items():
        gateway = c.gateway6 or "no IPv6"
        paths[name] = {
            "container": f"{c.name} {c.global6 or ''}".strip(),
            "bridge": f"{c.network.bridge or '?'} {gateway}",
            **common,
        }
    default = site.every_container.get("bridge")
    for column in BUILD_COLUMNS.values():
        paths[column] = {
            "container": "build step",
            "bridge": (default.network.bridge or "docker0") if default else "docker0",
            **common,
        }
    return paths


async def find_uplink(target: Target) -> tuple[str | None, ifaddr.Snapshot]:
    """The uplink: as configured, else the interface of the host's IPv6 default route."""
    snap = await ifaddr.snapshot(target.netns)
    if target.uplink:
        return target.uplink, snap
    devs = [r.interface for r in snap.default_routes() if r.interface]
    return (devs[0] if devs else None), snap


@surveyed(UPLINK)
async def uplink(survey: Survey) -> str | None:
    """The uplink, found once for the checks that watch or model it."""
    return (await find_uplink(survey.target))[0]


def probe_source(site: Site, network: str) -> str | None:
    """The network's probe container's usable global address (past DAD), the source its
    probes toward the far end send from; None: it has none (GW-02's finding)."""
    container = site.containers[network]
    on = site.settled[network].on(container.interface)
    return next((a.address for a in on if a.usable and not a.link_local), None)


@pytest.fixture
def container(site: Site, network: NetworkInfo) -> ProbeContainer:
    try:
        return site.containers[network.name]
    except KeyError:
        pytest.skip(f"no probe container on {network.name}")
