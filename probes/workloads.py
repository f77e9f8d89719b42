"""The host's own containers ("workloads"), found and looked at strictly read-only.

A workload is never exec'd into, started, stopped or written: it is looked at from outside, from
its network namespace (entered through its PID, as the probes do) and its root file system (read
through ``/proc/PID/root``, resolving every symbolic link inside that root, never the host's).

Which containers: :func:`parse_selector` reads the ``--containers`` value; :func:`find_workloads`
asks the Docker API once for the running containers and once per match for its PID.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from probes import inroot
from probes.docker import LABEL, DockerEndpoint, NetworkInfo, ProbeContainer, proc_start
from probes.errors import HarnessError

SelectorKind = Literal["all", "none", "names", "label", "compose"]
COMPOSE_PROJECT = "com.docker.compose.project"
RESOLV_CONF = "/etc/resolv.conf"
MAX_RESOLV_BYTES = 2 * 1024 * 1024


class SelectorError(HarnessError):
    """A ``--containers`` value that says nothing this harness can act on."""

    def __init__(self, value: str, why: str) -> None:
        super().__init__(
            f"--containers {value!r}: {why} (use all, none, NAME[,NAME...], label=KEY[=VALUE] "
            "or compose=PROJECT)"
        )


class NothingSelected(HarnessError):
    """``--containers`` named what no running container is (a typo, a container that is not
    up): the run would pass without ever looking at it."""

    def __init__(self, selector: Selector, missing: Sequence[str], docker_host: str) -> None:
        what = {
            "names": "no running container is called " + ", ".join(missing),
            "label": f"no running container has the label {', '.join(missing)}",
        }.get(selector.kind, f"no running container is of compose project {', '.join(missing)}")
        ps = shlex.join(["docker", "-H", docker_host, "ps"])
        super().__init__(f"--containers {selector.text()}: {what} (`{ps}` lists them)")


@dataclass(frozen=True, slots=True)
class Selector:
    """Which running containers the workload checks look at."""

    kind: SelectorKind
    values: tuple[str, ...] = ()  # names or ID prefixes; or (KEY, VALUE?) of a label

    def describe(self) -> str:
        if self.kind == "names":
            return "containers " + ", ".join(self.values)
        if self.kind == "label":
            return "containers labelled " + "=".join(self.values)
        if self.kind == "compose":
            return f"compose project {self.values[0]}"
        return f"{self.kind} running containers on IPv6 networks"

    def text(self) -> str:
        """As ``--containers`` took it."""
        if self.kind in ("label", "compose"):
            return f"{self.kind}={'='.join(self.values)}"
        return ",".join(self.values) if self.kind == "names" else self.kind

    def label_filter(self) -> list[str]:
        """The Docker API's label filter for this selector (the daemon narrows the list)."""
        if self.kind == "label":
            return ["=".join(self.values)]
        if self.kind == "compose":
            return [f"{COMPOSE_PROJECT}={self.values[0]}"]
        return []

    def matches(self, name: str, container_id: str) -> bool:
        if self.kind != "names":
            return True
        return any(v == name or (len(v) >= 4 and container_id.startswith(v)) for v in self.values)


def parse_selector(value: str | None) -> Selector:
    """``all`` (the default), ``none``, ``NAME[,NAME...]``, ``label=KEY[=VALUE]``,
    ``compose=PROJECT``."""
    text = (value or "all").strip()
    if text in ("all", "none"):
        return Selector(text)  # type: ignore[arg-type]
    kind, sep, rest = text.partition("=")
    if sep and kind in ("label", "compose"):
        if not rest or rest.startswith("="):
            raise SelectorError(text, f"{kind}= needs a {'key' if kind == 'label' else 'project'}")
        if kind == "compose":
            return Selector("compose", (rest,))
        key, eq, val = rest.partition("=")
        return Selector("label", (key, val) if eq else (key,))
    names = tuple(n.strip().lstrip("/") for n in text.split(","))
    if not all(names) or any(c in n for n in names for c in " =\t"):
        raise SelectorError(text, "not a list of container names")
    return Selector("names", names)


@dataclass(frozen=True, slots=True)
class WorkloadLink:
    """A workload's attachment to one IPv6 network, as Docker reports it."""

    network: NetworkInfo
    mac: str | None
    global6: str | None
    gateway6: str | None


@dataclass(frozen=True, slots=True)
class Workload:
    """A running container on the host's IPv6 networks, and how to find it again."""

    name: str
    id: str
    pid: int
    started: int | None  # /proc/PID/stat start time: the same process, not a reused PID
    links: tuple[WorkloadLink, ...]
    image: str = ""

    def alive(self) -> bool:
        """Still the same running process (a container that exited is gone, not broken)."""
        return self.started is not None and proc_start(self.pid) == self.started

    def seats(self, interfaces: Mapping[str, str]) -> list[ProbeContainer]:
        """One view per network, for the checks that look from a container; ``interfaces``
        maps a MAC address (lower case) to the interface carrying it in the namespace."""
        return [
            ProbeContainer(
                name=self.name,
                id=self.id,
                network=link.network,
                pid=self.pid,
                interface=interfaces.get((link.mac or "").lower(), "eth0"),
                mac=link.mac,
                global6=link.global6,
                gateway6=link.gateway6,
                workload=True,
            )
            for link in self.links
        ]


def is_harness_container(labels: Mapping[str, str]) -> bool:
    """Probe containers and build steps are this harness's own, not workloads."""
    return labels.get(LABEL) in ("probe", "build")


def workload_from_inspect(
    info: Mapping[str, Any], networks: Mapping[str, NetworkInfo]
) -> Workload | None:
    """A workload from ``docker inspect``'s answer, or None: not running, or on no IPv6
    network of ``networks`` (by name)."""
    state = info.get("State") or {}
    pid = int(state.get("Pid") or 0)
    if not state.get("Running") or pid <= 0:
        return None
    attached = ((info.get("NetworkSettings") or {}).get("Networks")) or {}
    links = tuple(
        WorkloadLink(
            networks[net],
            settings.get("MacAddress") or None,
            settings.get("GlobalIPv6Address") or None,
            settings.get("IPv6Gateway") or None,
        )
        for net, settings in sorted(attached.items())
        if net in networks and isinstance(settings, Mapping)
    )
    if not links:
        return None
    return Workload(
        name=str(info.get("Name") or info.get("Id", "?")[:12]).lstrip("/"),
        id=str(info.get("Id", "")),
        pid=pid,
        started=proc_start(pid),
        links=links,
        image=str((info.get("Config") or {}).get("Image") or ""),
    )


async def find_workloads(
    docker: DockerEndpoint, selector: Selector, networks: Iterable[NetworkInfo]
) -> list[Workload]:
    """The running containers the selector names, on the given (IPv6) networks; the harness's
    own left out. One list call, then one inspect per candidate, concurrently."""
    by_name = {n.name: n for n in networks}
    if selector.kind == "none" or (selector.kind == "all" and not by_name):
        return []
    filters: dict[str, list[str]] = {"status": ["running"]}
    if selector.label_filter():
        filters["label"] = selector.label_filter()
    listed = await docker.call(docker.client.containers.list(filters=json.dumps(filters)))
    candidates = []
    running: list[tuple[list[str], str]] = []  # every running one's names and ID
    for c in listed:
        data = c._container  # the list's own JSON: names, labels, networks, no PID
        labels = data.get("Labels") or {}
        names = [str(n).lstrip("/") for n in data.get("Names") or []]
        attached = set((data.get("NetworkSettings") or {}).get("Networks") or {})
        if is_harness_container(labels):
            continue
        running.append((names, str(data.get("Id", ""))))
        if not attached & set(by_name):
            continue
        if any(selector.matches(n, str(data.get("Id", ""))) for n in names or [""]):
            candidates.append(c)
    missing = unmatched(selector, running)
    if missing:
        raise NothingSelected(selector, missing, docker.url)
    async with asyncio.TaskGroup() as tg:
        shown = [tg.create_task(docker.call(c.show())) for c in candidates]
    found = (workload_from_inspect(t.result(), by_name) for t in shown)
    return sorted((w for w in found if w is not None), key=lambda w: w.name)


def unmatched(selector: Selector, running: Iterable[tuple[list[str], str]]) -> tuple[str, ...]:
    """What ``--containers`` named that matches no running container (by its names and ID):
    each name or ID prefix of a list; the label or project of the others; () for all."""
    running = list(running)
    if selector.kind == "names":
        return tuple(
            v
            for v in selector.values
            if not any(
                Selector("names", (v,)).matches(n, i) for ns, i in running for n in ns or [""]
            )
        )
    if selector.kind in ("label", "compose") and not running:
        return ("=".join(selector.values),)
    return ()


def read_in_root(
    pid: int, path: str = RESOLV_CONF, *, limit: int = MAX_RESOLV_BYTES, root: str | None = None
) -> bytes:
    """A file of a container's own file system, read through ``/proc/PID/root`` as container
    runtimes read one (probes.inroot): resolved inside that root, read only if it is a regular
    file, up to ``limit`` bytes. Raises OSError, which says what was found instead."""
    return inroot.read_in_root(root or f"/proc/{pid}/root", path, limit=limit)
