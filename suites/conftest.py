"""Fixtures of the conformance suites: the target, its Docker daemon, the probe containers.

Target selection (``--target``, ``--lab``) happens at configure time, before collection, because
the checks are parametrized over the target's Docker networks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn, TypeVar

import pytest

from lab import Lab, LabError
from probes import ifaddr
from probes.docker import (
    NEWEST_KNOWN_MAJOR,
    DockerEndpoint,
    NetworkInfo,
    ProbeContainer,
    probe_fleet,
)
from probes.errors import HarnessError, one_line
from probes.profile import load_profile
from probes.resolvconf import Problem, ResolvConf, parse_resolv_conf
from probes.target import Target, privileged
from reports.plugin import TARGET_LABEL, WARNING, abort
from reports.results import (
    CATALOG,
    HOST,
    LOCATE,
    PATHS,
    SUITE_PROPERTIES,
    Place,
    harness_problem,
)
from suites.catalog import CHECKS

T = TypeVar("T")
TARGET = pytest.StashKey[Target]()
SITE = pytest.StashKey["Site"]()
LAB = pytest.StashKey[Lab]()
NETWORKS = pytest.StashKey["list[NetworkInfo] | str"]()  # the networks, or why there are none
# the default bridge, where it has no IPv6: `docker run` and builds land there all the same
PLAIN_BRIDGE = pytest.StashKey["NetworkInfo | None"]()
HOST_RESOLV = pytest.StashKey[ResolvConf]()  # the host's resolv.conf, parsed at collection
NO_DOCKER = pytest.StashKey[str]()  # why the Docker daemon could not be asked, if it could not


def pytest_configure(config: pytest.Config) -> None:
    scenario = config.getoption("lab")
    mode = config.getoption("target") or config.getini("v6conform_target")
    name = config.getoption("lab_name") or config.getini("v6conform_lab_name")
    profile_path = config.getoption("profile") or config.getini("v6conform_profile") or None
    properties = config.stash.setdefault(SUITE_PROPERTIES, {})
    properties["profile"] = profile_path or (
        "the lab's own" if scenario or mode == "lab" else "built-in defaults"
    )
    generation = config.getoption("docker")
    try:
        if generation and not scenario:
            raise LabError(
                f"--docker {generation} picks the Docker the lab brings up: use it with --lab "
                "SCENARIO (a lab already up, or a real host, runs the Docker it has)"
            )
        profile = load_profile(profile_path) if profile_path else None
        if scenario or mode == "lab":
            lab = Lab(name)
            if scenario:
                lab.up(scenario, generation or config.getini("v6conform_lab_docker"))
                config.stash[LAB] = lab
            target = Target.from_lab(lab.description(), profile)
        else:
            target = Target.local(
                docker_host=config.getoption("docker_host"),
                profile=profile,
                uplink=config.getoption("uplink"),
            )
    except (LabError, HarnessError) as exc:
        abort(config, str(exc))
    config.stash[TARGET] = target
    config.stash[TARGET_LABEL] = target.label
    config.stash[CATALOG] = CHECKS
    config.stash[LOCATE] = locate
    properties["profile"] = target.profile.source
    properties["docker_host"] = target.docker_host
    # SIGTERM (a CI runner timing out, `kill`) tears down like Ctrl-C: containers, lab
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_unconfigure(config: pytest.Config) -> None:
    lab = config.stash.get(LAB, None)
    if lab is not None:
        lab.down()


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.stash.get(TARGET, None)
    if target is None:
        return []
    return [
        f"v6conform target: {target.label} (docker {target.docker_host}, "
        f"profile {target.profile.source})"
    ]


def _networks(config: pytest.Config) -> list[NetworkInfo] | str:
    """The target's IPv6 Docker networks, asked once at collection; or why there are none."""
    if NETWORKS not in config.stash:
        target = config.stash[TARGET]

        async def ask() -> list[NetworkInfo]:
            async with DockerEndpoint(target.docker_host) as docker:
                if docker.daemon is not None:
                    newer = docker.daemon.major > NEWEST_KNOWN_MAJOR
                    config.stash[SUITE_PROPERTIES]["docker"] = (
                        f"{docker.daemon.version} (API {docker.daemon.api_version})"
                        + (
                            f"; newer than the checks know (up to {NEWEST_KNOWN_MAJOR}): "
                            f"judged by Docker {NEWEST_KNOWN_MAJOR}'s rules"
                            if newer
                            else ""
                        )
                    )
                return await docker.networks()

        plain: NetworkInfo | None = None
        try:
            every = asyncio.run(ask())
            found: list[NetworkInfo] | str = [
                n for n in every if n.enable_ipv6 and n.driver == "bridge"
            ]
            plain = next((n for n in every if n.name == "bridge" and not n.enable_ipv6), None)
        except HarnessError as exc:
            found = config.stash[NO_DOCKER] = f"no Docker: {exc}"
            config.stash[SUITE_PROPERTIES]["docker"] = found
        if isinstance(found, list) and not found:
            found = "the Docker daemon has no bridge network with IPv6 enabled"
        config.stash[NETWORKS] = found
        config.stash[PLAIN_BRIDGE] = plain
    return config.stash[NETWORKS]


def resolver_networks(config: pytest.Config) -> list[NetworkInfo] | str:
    """Where resolv.conf checks look: every IPv6 network, and the default bridge even without
    IPv6 (where `docker run` without --network lands), or why there is nowhere to look."""
    found = _networks(config)
    plain = config.stash[PLAIN_BRIDGE]
    if isinstance(found, str):
        return [plain] if plain is not None else found
    return [*found, plain] if plain is not None else found


@dataclass(frozen=True, slots=True)
class NameserverItem:
    """A nameserver the host is configured with, or a resolv.conf line that fails to be one."""

    address: str | None  # None: the item stands for a broken line
    origin: str  # "/etc/resolv.conf line 2", "profile"
    line: int = 0
    problem: str | None = None

    @property
    def id(self) -> str:
        return self.address or f"resolv.conf-line-{self.line}"


def host_resolv(config: pytest.Config) -> ResolvConf:
    """The target host's resolv.conf, read once; an unreadable one parses as a problem."""
    if HOST_RESOLV not in config.stash:
        path = config.stash[TARGET].resolv_conf
        try:
            with open(path, "rb") as f:
                conf = parse_resolv_conf(f.read(2 * 1024 * 1024), source=path)
        except OSError as exc:
            unread = Problem(0, path, f"cannot read the file: {exc.strerror}")
            conf = parse_resolv_conf(b"", source=path)
            conf = dataclasses.replace(conf, problems=(unread, *conf.problems))
        config.stash[HOST_RESOLV] = conf
    return config.stash[HOST_RESOLV]


def warn_about(request: pytest.FixtureRequest, conf: ResolvConf) -> None:
    """Put a resolv.conf's warnings (what the C library ignores or copes with) on the item:
    JUnit carries them as properties, the HTML shows them; the verdict does not change."""
    for problem in conf.warnings:
        request.node.user_properties.append((WARNING, f"{conf.source} {problem}"))


def configured_nameservers(config: pytest.Config) -> list[NameserverItem]:
    """The host's resolv.conf nameservers (those resolvers use), then the profile's; once each,
    and an item for the file's first problem, if it has any."""
    conf = host_resolv(config)
    items = [
        NameserverItem(str(ns), f"{conf.source} line {ns.line}", ns.line)
        for ns in conf.used_nameservers
    ]
    items += [NameserverItem(a, "profile") for a in config.stash[TARGET].profile.nameservers]
    unique: list[NameserverItem] = []
    for item in items:  # the first mention wins: it says where the host got the server
        if all(u.id != item.id for u in unique):
            unique.append(item)
    breaking = conf.breaking  # what the C library ignores harmlessly is a warning, no item
    if breaking:
        first = breaking[0]
        more = f" (and {len(breaking) - 1} more problems)" if len(breaking) > 1 else ""
        unique.append(
            NameserverItem(
                None,
                conf.source,
                first.line,
                first.reason + (f": {first.text!r}" if first.line else "") + more,
            )
        )
    return unique


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
    if "any_network" in metafunc.fixturenames:
        _parametrize_networks(metafunc, "any_network", resolver_networks(metafunc.config))
    if "network" in metafunc.fixturenames:
        _parametrize_networks(metafunc, "network", _networks(metafunc.config))


def _parametrize_networks(
    metafunc: pytest.Metafunc, argname: str, found: list[NetworkInfo] | str
) -> None:
    """One item per network; or one item that skips with the reason there is none."""
    if isinstance(found, str):
        none = "no-ipv6-network" if argname == "network" else "no-network"
        metafunc.parametrize(argname, [pytest.param(found, id=none)], indirect=True)
    else:
        metafunc.parametrize(argname, found, ids=[n.name for n in found], indirect=True)


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
    def every_container(self) -> dict[str, ProbeContainer]:
        return {**self.containers, **self.plain}


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET]


@pytest.fixture(scope="session")
async def site(target: Target, pytestconfig: pytest.Config) -> AsyncIterator[Site]:
    """Probe containers on every IPv6 network, each past DAD; removed at the end, always."""
    if not privileged():
        cannot_run(
            pytestconfig,
            "not root: the probes enter container network namespaces and use raw sockets",
        )
    networks = resolver_networks(pytestconfig)
    if NO_DOCKER in pytestconfig.stash:  # Docker checks were asked for: the harness cannot run
        cannot_run(pytestconfig, pytestconfig.stash[NO_DOCKER])
    if isinstance(networks, str):
        pytest.skip(networks)
    run_id = uuid.uuid4().hex[:8]
    try:
        async with contextlib.AsyncExitStack() as stack:
            docker = await stack.enter_async_context(DockerEndpoint(target.docker_host))
            await docker.remove_stale()
            every = await stack.enter_async_context(probe_fleet(docker, networks, run_id=run_id))
            fleet = [c for c in every if c.network.enable_ipv6]
            # probe only once both ends of every link are past DAD: a bridge gets carrier (and
            # starts DAD) when the first container attaches, and while its addresses are
            # tentative the host neither answers nor sends Neighbor Solicitations there
            dad = target.profile.dad_timeout
            bridges = {c.network.bridge for c in fleet if c.network.bridge}
            async with asyncio.TaskGroup() as tg:
                waits = {
                    c.network.name: tg.create_task(
                        ifaddr.settled(c.netns, c.interface, timeout=dad)
                    )
                    for c in fleet
                }
                bridge_waits = {
                    b: tg.create_task(ifaddr.settled(target.netns, b, timeout=dad)) for b in bridges
                }
            site = Site(
                target,
                docker,
                {c.network.name: c for c in fleet},
                {n: t.result() for n, t in waits.items()},
                {b: t.result() for b, t in bridge_waits.items()},
                {c.network.name: c for c in every if not c.network.enable_ipv6},
                run_id,
            )
            pytestconfig.stash[SITE] = site
            pytestconfig.stash[PATHS] = await path_labels(site, host_resolv(pytestconfig))
            yield site
    except* HarnessError as group:  # raised alone, or by a task group (with others, maybe)
        pytest.fail(f"harness error: {one_line(group)}", pytrace=False)


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


BUILD_COLUMNS = {"classic": "build (classic)", "buildkit": "build (BuildKit)"}


def locate(item: pytest.Item) -> Place:
    """Where an item ran, for the reports: a network (and its probe container), a builder, or
    the host itself (nameservers, names and the uplink's routers are looked at from there)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    site = item.config.stash.get(SITE, None)
    for key in ("network", "any_network"):
        net = params.get(key)
        if isinstance(net, NetworkInfo):
            return _network_place(site, net.name)
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


@pytest.fixture(scope="session")
def site_if_any(request: pytest.FixtureRequest) -> Site | str:
    """The site where there is one, else why not: for fixtures that ask the host first and the
    containers too, at once (so their timeouts overlap) but must not be skipped without Docker."""
    try:
        found = request.getfixturevalue("site")
    except pytest.skip.Exception as exc:
        return str(exc.msg)
    assert isinstance(found, Site)
    return found


async def find_uplink(target: Target) -> tuple[str | None, ifaddr.Snapshot]:
    """The uplink: as configured, else the interface of the host's IPv6 default route."""
    snap = await ifaddr.snapshot(target.netns)
    if target.uplink:
        return target.uplink, snap
    devs = [r.interface for r in snap.default_routes() if r.interface]
    return (devs[0] if devs else None), snap


@pytest.fixture(scope="session")
async def uplink(target: Target) -> str | None:
    """The uplink, found once for the checks that watch or model it."""
    return (await find_uplink(target))[0]


def _network_param(request: pytest.FixtureRequest) -> NetworkInfo:
    if isinstance(request.param, str):
        pytest.skip(request.param)
    assert isinstance(request.param, NetworkInfo)
    return request.param


@pytest.fixture
def network(request: pytest.FixtureRequest) -> NetworkInfo:
    """One of the target's IPv6 bridge networks."""
    return _network_param(request)


@pytest.fixture
def any_network(request: pytest.FixtureRequest) -> NetworkInfo:
    """One of the IPv6 networks, or the default bridge where it has no IPv6."""
    return _network_param(request)


@pytest.fixture
def container(site: Site, network: NetworkInfo) -> ProbeContainer:
    try:
        return site.containers[network.name]
    except KeyError:
        pytest.skip(f"no probe container on {network.name}")
