"""The host's own containers in the checks: found once at collection (``--containers``), looked
at read-only in the survey, one item per container and network.

A *seat* is where a container check looks from: a network's probe container (its items keep the
network's name) or a workload on that network (``NETWORK/NAME``). Workloads are looked at from
outside only (their namespace, their root file system through /proc); one that exited during the
run is reported as gone, never as broken.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from probes import dns, ifaddr, resolver
from probes.docker import NetworkInfo, ProbeContainer
from probes.errors import HarnessError, ProbeError
from probes.inroot import NotRegular
from probes.netns import Netns
from probes.resolvconf import Problem, parse_resolv_conf
from probes.target import Target
from probes.workloads import Workload, read_in_root
from suites.plugin.keys import WORKLOAD_RESOLVERS, WORKLOAD_VIEWS, WORKLOADS, T
from suites.plugin.networks import (
    ipv6_networks,
    param_or_skip,
    parametrize_places,
    resolver_networks,
)
from suites.plugin.site import Site, caught, seen
from suites.plugin.survey import Survey, surveyed

GONE = "exited during the run: gone, not judged"


@dataclass(frozen=True, slots=True)
class Seat:
    """Where a container check looks from: the network's probe container, or a workload."""

    network: NetworkInfo
    workload: str | None = None  # the workload's name; None: the probe container

    @property
    def key(self) -> str:
        """Where its results are kept (:attr:`ProbeContainer.key`)."""
        return f"{self.workload}@{self.network.name}" if self.workload else self.network.name

    @property
    def item_id(self) -> str:
        """What its items are called: the network for a probe container, NETWORK/NAME for a
        workload (as the reports name it; ``-k`` takes it, where it refuses ``@``)."""
        return f"{self.network.name}/{self.workload}" if self.workload else self.network.name


def workloads(config: pytest.Config) -> list[Workload]:
    ipv6_networks(config)  # asks the daemon for both, once
    return config.stash.get(WORKLOADS, [])


def container_seats(config: pytest.Config) -> list[Seat] | str:
    """Every IPv6 network's probe container, and each workload on each IPv6 network."""
    found = ipv6_networks(config)
    if isinstance(found, str):
        return found
    return [
        *(Seat(n) for n in found),
        *(Seat(link.network, w.name) for w in workloads(config) for link in w.links),
    ]


def resolver_seats(config: pytest.Config) -> list[Seat] | str:
    """Where resolv.conf is judged: the probe containers (the default bridge's too), and each
    workload once (one resolv.conf per container), on its first IPv6 network."""
    found = resolver_networks(config)
    if isinstance(found, str):
        return found
    return [
        *(Seat(n) for n in found),
        *(Seat(w.links[0].network, w.name) for w in workloads(config)),
    ]


def parametrize_seats(metafunc: pytest.Metafunc, argname: str, found: list[Seat] | str) -> None:
    ids = [] if isinstance(found, str) else [s.item_id for s in found]
    parametrize_places(metafunc, argname, found, ids, "no-ipv6-network")


@dataclass(frozen=True, slots=True)
class WorkloadViews:
    """Each workload as the survey found it, by seat key."""

    containers: dict[str, ProbeContainer]
    snapshots: dict[str, ifaddr.Snapshot]
    workloads: dict[str, Workload]
    gone: dict[str, str]  # why a seat has no view: the container exited
    unreadable: dict[str, HarnessError]  # a live one whose namespace could not be read

    def looked_at(self) -> dict[str, tuple[ProbeContainer, ifaddr.Snapshot]]:
        return {k: (c, self.snapshots[k]) for k, c in self.containers.items()}


def _mac(raw: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in raw) if raw else ""


@surveyed(WORKLOAD_VIEWS)
async def workload_views(survey: Survey) -> WorkloadViews:
    """Each workload's namespace read once its addresses are past DAD: its addresses and
    routes, and which interface carries each of its networks (by MAC address)."""
    found = workloads(survey.config)
    dad = survey.target.profile.dad_timeout
    containers: dict[str, ProbeContainer] = {}
    snapshots: dict[str, ifaddr.Snapshot] = {}
    by_key: dict[str, Workload] = {}
    gone: dict[str, str] = {}
    unreadable: dict[str, HarnessError] = {}

    # two namespaces read at a time: the reads hold the interpreter, and a hundred at once
    # starved the event loop that starts the probe containers, the run's longer path (100
    # workloads: probe containers ready 0.6 s later); two at a time read them as fast
    reading = asyncio.Semaphore(2)

    async def one(w: Workload) -> None:
        # one workload the harness could not look at is a harness error for its items, not
        # for the probe containers' or the other workloads'
        try:
            async with reading:
                await look(w)
        except HarnessError as exc:
            for link in w.links:
                key = Seat(link.network, w.name).key
                by_key[key], unreadable[key] = w, exc

    async def look(w: Workload) -> None:
        netns = Netns.of_pid(w.pid, f"container {w.name}")
        snap = await while_alive(w, lambda: ifaddr.snapshot(netns))
        if not isinstance(snap, str):
            # a container started a moment ago may still be in DAD: wait for it as for a probe
            # container, up to dad_timeout; one that has run for a while returns at once
            macs = {(link.mac or "").lower() for link in w.links}
            ifaces = [i.name for i in snap.interfaces if _mac(i.mac) in macs]
            for iface in ifaces:
                if ifaddr.past_dad(snap, iface):  # the usual case: read once, not twice
                    continue
                snap = await while_alive(
                    w, functools.partial(ifaddr.settled, netns, iface, timeout=dad)
                )
                if isinstance(snap, str):
                    break
        for link in w.links:
            key = Seat(link.network, w.name).key
            by_key[key] = w
            if isinstance(snap, str):
                gone[key] = snap
                continue
            interfaces = {_mac(i.mac): i.name for i in snap.interfaces if i.mac}
            for seat in w.seats(interfaces):
                if seat.network.name == link.network.name:
                    containers[key], snapshots[key] = seat, snap

    with survey.timed("workload namespaces"):
        async with asyncio.TaskGroup() as tg:
            for w in found:
                tg.create_task(one(w))
    return WorkloadViews(containers, snapshots, by_key, gone, unreadable)


async def while_alive(w: Workload, probe: Callable[[], Awaitable[T]]) -> T | str:
    """What a probe of a workload saw; or, the container having exited meanwhile, why there is
    nothing to judge. A harness error while it still runs stays one."""
    if not w.alive():
        return f"container {w.name} {GONE}"
    try:
        return await probe()
    except HarnessError:
        if not w.alive():
            return f"container {w.name} {GONE}"
        raise


def probe_name(target: Target) -> tuple[str, str]:
    """What a nameserver is asked: the profile's first name, else the root's NS."""
    names = target.profile.names
    return (names[0].name, "AAAA") if names else (".", "NS")


@surveyed(WORKLOAD_RESOLVERS)
async def workload_resolvers(
    survey: Survey,
) -> dict[str, resolver.ResolverReport | str | HarnessError]:
    """RC-01 for each workload, from outside: its resolv.conf read through /proc/PID/root, each
    nameserver it uses asked from its namespace; or why there is nothing to judge."""
    views: WorkloadViews = await survey.get(WORKLOAD_VIEWS)
    target = survey.target
    qname, qtype = probe_name(target)
    deadline = target.profile.timeout
    out: dict[str, resolver.ResolverReport | str | HarnessError] = {}

    async def one(key: str, w: Workload) -> None:
        if key in views.gone or key in views.unreadable:
            out[key] = views.gone.get(key) or views.unreadable[key]
            return
        container, snap = views.containers[key], views.snapshots[key]
        unread: Problem | None = None
        try:
            raw = await asyncio.to_thread(read_in_root, w.pid)
        except NotRegular as exc:  # a device, a FIFO…: never opened, and the resolver's loss
            raw, unread = b"", Problem(0, "", exc.strerror or str(exc))
        except OSError as exc:  # unread is unjudged: a harness error while it still runs
            out[key] = (
                f"container {w.name} {GONE}"
                if not w.alive()
                else ProbeError(
                    f"container {w.name}", f"cannot read /etc/resolv.conf: {exc.strerror or exc}"
                )
            )
            return
        conf = parse_resolv_conf(raw, source=f"{w.name}:/etc/resolv.conf")
        if unread is not None:
            conf = dataclasses.replace(conf, problems=(unread, *conf.problems))
        if conf.unread is not None:  # the parser's bug, not the workload's file
            out[key] = ProbeError(conf.source, conf.unread)
            return
        servers = [ns.address for ns in conf.used_nameservers][: resolver.MAX_SERVERS]
        async with asyncio.TaskGroup() as tg:
            asks = [
                tg.create_task(caught(_ask(w, container, s, qname, qtype, deadline)))
                for s in servers
            ]
        answers = [t.result() for t in asks]
        if any(isinstance(a, str) for a in answers):
            out[key] = f"container {w.name} {GONE}"
            return
        if errors := [a for a in answers if isinstance(a, HarnessError)]:
            out[key] = errors[0]
            return
        out[key] = resolver.ResolverReport(
            where=f"container {w.name} (read from outside)",
            resolv_conf=conf,
            routes6=tuple(str(r) for r in snap.routes if r.interface == container.interface),
            lookups=(),
            servers=tuple(a for a in answers if isinstance(a, resolver.ServerAnswer)),
            deadline=deadline,
            complete=True,
        )

    with survey.timed("workload resolvers"):
        async with asyncio.TaskGroup() as tg:
            for key, w in views.workloads.items():
                if key == Seat(w.links[0].network, w.name).key:
                    tg.create_task(one(key, w))
    return out


async def _ask(
    w: Workload, container: ProbeContainer, server: str, qname: str, qtype: str, deadline: float
) -> resolver.ServerAnswer | str:
    started = time.monotonic()
    got = await while_alive(
        w, lambda: dns.query(container.netns, server, qname, qtype, timeout=deadline)
    )
    if isinstance(got, str):
        return got
    return _server_answer(got, time.monotonic() - started)


def _server_answer(got: dns.DnsResult, elapsed: float) -> resolver.ServerAnswer:
    reason = "answered" if got.answered else (got.error or "no answer before the deadline")
    return resolver.ServerAnswer(got.server, elapsed, got.rcode, reason, got.describe())


@pytest.fixture
def any_container(
    request: pytest.FixtureRequest, site: Site, workload_views: WorkloadViews
) -> ProbeContainer:
    """The container a check looks from: a network's probe container, or a workload (gone
    ones skipped: they exited during the run)."""
    seat = param_or_skip(request, Seat)
    if seat.workload is None:
        try:
            return site.containers[seat.network.name]
        except KeyError:
            pytest.skip(f"no probe container on {seat.network.name}")
    if seat.key in workload_views.gone:
        pytest.skip(workload_views.gone[seat.key])
    if seat.key in workload_views.unreadable:
        seen(request.config, workload_views.unreadable[seat.key])
    if not workload_views.workloads[seat.key].alive():
        pytest.skip(f"container {seat.workload} {GONE}")
    return workload_views.containers[seat.key]


@pytest.fixture
def resolv_seat(request: pytest.FixtureRequest) -> Seat:
    """Where RC-01 judges a resolv.conf: a probe container's network, or a workload."""
    return param_or_skip(request, Seat)


def looked_at(
    site: Site, views: WorkloadViews
) -> dict[str, tuple[ProbeContainer, ifaddr.Snapshot]]:
    """Every container the checks look from, by seat key, with its namespace as first read:
    the probe containers (past DAD) and the workloads still there."""
    probes = {n: (c, site.settled[n]) for n, c in site.containers.items()}
    return {**probes, **views.looked_at()}


def snapshot_of(site: Site, views: WorkloadViews, container: ProbeContainer) -> ifaddr.Snapshot:
    return views.snapshots[container.key] if container.workload else site.settled[container.key]


async def guarded(
    views: WorkloadViews, container: ProbeContainer, probe: Callable[[], Awaitable[T]]
) -> T | str:
    """A probe from a container: a probe container's as it came; a workload's, or why it has
    none (it exited meanwhile)."""
    if not container.workload:
        return await probe()
    return await while_alive(views.workloads[container.key], probe)
