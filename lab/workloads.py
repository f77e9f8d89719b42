"""The lab's workload containers: idle busybox containers standing for a host's own.

The harness looks at a host's running containers read-only (GW-02, GW-03, RT-02, RC-01); the
lab provides some, a few broken on purpose, so its tests can show that the checks find exactly
those. A workload looks like a user's container: labelled for the lab and with a compose
project, never with the harness's own labels (the harness removes what carries them). Its
name says what is wrong with it: ``work-3`` is healthy, ``work-0-noroute`` has no IPv6 default
route, ``work-1-badresolv`` a resolv.conf naming a nameserver nothing serves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lab.engine import engine_call, engine_request
from lab.errors import LabError
from probes.docker import probe_rootfs_tar
from probes.errors import HarnessError

LABEL = "v6conform.lab.workload"  # its value: the lab's name
COMPOSE_LABEL = "com.docker.compose.project"
COMPOSE_PROJECT = "labwork"  # so a compose-project selector has something to select
IMAGE_REPO = "v6conform-lab/workload"  # not the harness's probe image: the harness removes that
IMAGE_TAG = "latest"
IMAGE = f"{IMAGE_REPO}:{IMAGE_TAG}"
# documentation space that nothing in the lab serves: queries to it go unanswered
BAD_NAMESERVER = "2001:db8:dead::53"
LIFETIME = "86400"  # seconds: an idle workload's upper bound if the lab is never brought down
# dockerd creates and starts containers concurrently; past a handful of requests at once the
# 2-core lab machine only queues them
PARALLEL = 8
FIRST_NETWORKS = ("bridge", "v6net", "v6only")  # the lab's own, in this order; others by name

Broken = Literal["route", "resolv"]
SUFFIXES: dict[Broken, str] = {"route": "noroute", "resolv": "badresolv"}


def _say(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Planned:
    """One workload to start: its place in the row, its network, and what is wrong with it."""

    index: int
    network: str
    broken: Broken | None = None

    @property
    def name(self) -> str:
        base = f"work-{self.index}"
        return f"{base}-{SUFFIXES[self.broken]}" if self.broken else base

    @property
    def command(self) -> list[str]:
        sleep = ["/bin/busybox", "sleep", LIFETIME]
        if self.broken != "resolv":
            return sleep
        # the container breaks its own resolv.conf, as a user's image or entrypoint could
        script = f"echo nameserver {BAD_NAMESERVER} >/etc/resolv.conf; exec {' '.join(sleep)}"
        return ["/bin/busybox", "sh", "-c", script]

    def config(self, lab_name: str) -> dict[str, Any]:
        return {
            "Image": IMAGE,
            "Cmd": self.command,
            "Labels": {LABEL: lab_name, COMPOSE_LABEL: COMPOSE_PROJECT},
            # busybox sleep as PID 1 ignores SIGTERM: a stop (dockerd's own, at `down`) would
            # wait out the stop timeout for an idle container that has nothing to save
            "StopSignal": "SIGKILL",
            "HostConfig": {"NetworkMode": self.network},
        }


def plan(count: int, networks: list[str], broken_route: int, broken_resolv: int) -> list[Planned]:
    """``count`` workloads round-robin over ``networks``. The broken ones come first, so that
    consecutive ones (each kind, and the two kinds) land on different networks; those with a
    bad resolv.conf before those without a route, which so land off the default bridge
    (networks[0], where there are more): there a workload lists the host's IPv6 nameserver
    itself, which it cannot reach without a route (RC-01 finds that fault too), while on a
    user-defined network it asks Docker's embedded DNS, over loopback (from Docker 26 on
    only that: 20.10 lists the host's IPv6 nameservers beside it there too)."""
    if min(count, broken_route, broken_resolv) < 0:
        raise LabError("workload counts cannot be negative")
    if broken_route + broken_resolv > count:
        raise LabError(
            f"{broken_route} without a route and {broken_resolv} with a bad resolv.conf are "
            f"more than the {count} workloads asked for"
        )
    if count and not networks:
        raise LabError("the lab's dockerd has no IPv6 bridge network to put workloads on")

    def kind(i: int) -> Broken | None:
        if i < broken_resolv:
            return "resolv"
        return "route" if i < broken_resolv + broken_route else None

    return [Planned(i, networks[i % len(networks)], kind(i)) for i in range(count)]


def ipv6_networks(sock: Path) -> dict[str, str]:
    """The daemon's bridge networks with IPv6 on, by name, the lab's own first (the default
    bridge only where the scenario gave it IPv6); each with its bridge interface."""
    bridges = {
        n["Name"]: (n.get("Options") or {}).get("com.docker.network.bridge.name")
        or f"br-{n['Id'][:12]}"
        for n in engine_request(sock, "GET", "/networks")
        if n.get("Driver") == "bridge" and n.get("EnableIPv6")
    }
    first = [n for n in FIRST_NETWORKS if n in bridges]
    return {n: bridges[n] for n in [*first, *sorted(set(bridges) - set(first))]}


def ensure_image(sock: Path) -> None:
    """The workload image in the daemon: the harness's busybox rootfs, imported (no registry)."""
    query = urllib.parse.urlencode({"filters": json.dumps({"reference": [IMAGE]})})
    if engine_request(sock, "GET", f"/images/json?{query}"):
        return
    try:
        rootfs = probe_rootfs_tar()
    except HarnessError as exc:
        raise LabError(str(exc)) from exc
    query = urllib.parse.urlencode({"fromSrc": "-", "repo": IMAGE_REPO, "tag": IMAGE_TAG})
    progress = engine_call(sock, "POST", f"/images/create?{query}", rootfs, "application/x-tar")
    # the import answers 200 and then streams its outcome: a failure is an "error" message
    for line in progress.splitlines():
        if line.strip() and "error" in (message := json.loads(line)):
            raise LabError(f"importing {IMAGE}: {message['error']}")


def replace(
    sock: Path, lab_name: str, host_netns: str, count: int, broken_route: int, broken_resolv: int
) -> None:
    """Remove the lab's workloads and start ``count`` new ones, settled (past DAD) as a host's
    long-running containers are; all or none: a workload that fails to start takes the others
    down with it."""
    bridges = ipv6_networks(sock) if count else {}
    planned = plan(count, list(bridges), broken_route, broken_resolv)
    remove(sock, lab_name)
    if not planned:
        return
    started = time.monotonic()
    ensure_image(sock)
    # a bridge with no port has no carrier, and its addresses stay tentative: only those used
    used = [bridges[n] for n in bridges if any(p.network == n for p in planned)]
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            pids = list(pool.map(lambda p: _start(sock, lab_name, p), planned))
            _wait_past_dad(host_netns, used, pids, pool)
    except BaseException:
        remove(sock, lab_name)
        raise
    networks = sorted({p.network for p in planned})
    _say(
        f"{count} workloads on {', '.join(networks)} ({broken_route} without a route, "
        f"{broken_resolv} with a bad resolv.conf) in {time.monotonic() - started:.1f} s"
    )


def remove(sock: Path, lab_name: str) -> None:
    query = urllib.parse.urlencode(
        {"all": "1", "filters": json.dumps({"label": [f"{LABEL}={lab_name}"]})}
    )
    found = engine_request(sock, "GET", f"/containers/json?{query}")
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(lambda c: _remove(sock, c["Id"]), found))


def _remove(sock: Path, container_id: str) -> None:
    try:
        engine_request(sock, "DELETE", f"/containers/{container_id}?force=1")
    except LabError as exc:
        if "HTTP 404" not in str(exc):  # gone already
            raise


def _start(sock: Path, lab_name: str, planned: Planned) -> int:
    """Create and start one workload, broken as planned; its PID."""
    query = urllib.parse.urlencode({"name": planned.name})
    created = engine_request(sock, "POST", f"/containers/create?{query}", planned.config(lab_name))
    engine_request(sock, "POST", f"/containers/{created['Id']}/start")
    pid = int(engine_request(sock, "GET", f"/containers/{created['Id']}/json")["State"]["Pid"])
    if planned.broken == "route":
        _drop_default_routes(pid, planned.name)
    elif planned.broken == "resolv":
        _wait_for_bad_resolv(pid, planned.name)
    return pid


def _in_netns(pid: int, *cmd: str) -> str:
    """A command in the network namespace of process ``pid`` (a container's: dockerd may run
    chrooted, but in this PID namespace, so its containers' PIDs are ours too), with this
    machine's own tools."""
    proc = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise LabError(f"in the netns of pid {pid}: {' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def _wait_past_dad(
    host_netns: str,
    bridges: list[str],
    pids: list[int],
    pool: ThreadPoolExecutor,
    timeout: float = 15.0,
) -> None:
    """Until no address is tentative on the workloads' bridges (their neighbours) nor in any
    workload's namespace. The harness looks at a host's containers as they are, without
    waiting: a user's have been up for long, and so must the lab's seem."""
    deadline = time.monotonic() + timeout
    for bridge in bridges:
        _settle(["ip", "-n", host_netns], ["dev", bridge], f"{bridge} in {host_netns}", deadline)

    def in_workload(pid: int) -> None:
        _settle(["nsenter", "-t", str(pid), "-n", "ip"], [], f"the netns of pid {pid}", deadline)

    list(pool.map(in_workload, pids))


def _settle(ip: list[str], which: list[str], where: str, deadline: float) -> None:
    """Until ``ip … addr show …`` lists no tentative address."""
    while True:
        proc = subprocess.run(
            [*ip, "-6", "-o", "addr", "show", *which], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise LabError(f"reading the addresses of {where}: {proc.stderr.strip()}")
        if "dadfailed" in proc.stdout:
            raise LabError(f"duplicate address detection failed in {where}: {proc.stdout}")
        if "tentative" not in proc.stdout:
            return
        if time.monotonic() > deadline:
            raise LabError(f"addresses of {where} still tentative (DAD): {proc.stdout}")
        time.sleep(0.1)


def _drop_default_routes(pid: int, name: str) -> None:
    # one default route per gateway: delete until none is shown
    for _ in range(8):
        if not _in_netns(pid, "ip", "-6", "route", "show", "default").strip():
            return
        _in_netns(pid, "ip", "-6", "route", "del", "default")
    raise LabError(f"{name}: its IPv6 default route keeps coming back")


def _wait_for_bad_resolv(pid: int, name: str, timeout: float = 10.0) -> None:
    """Until the container's own command has written its resolv.conf: a check that read it
    before would see Docker's."""
    path = Path(f"/proc/{pid}/root/etc/resolv.conf")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if f"nameserver {BAD_NAMESERVER}" in path.read_text():
                return
        except OSError:
            pass  # not there yet, or the process is gone (then the deadline says so)
        time.sleep(0.02)
    raise LabError(f"{name} did not write its resolv.conf within {timeout:.0f} s")


def listing(sock: Path, lab_name: str) -> list[dict[str, Any]]:
    """The lab's running workloads as `python -m lab describe` shows them, in their order."""
    query = urllib.parse.urlencode({"filters": json.dumps({"label": [f"{LABEL}={lab_name}"]})})
    found = [_entry(c) for c in engine_request(sock, "GET", f"/containers/json?{query}")]
    return sorted(found, key=lambda w: _index(w["name"]))


def _entry(container: dict[str, Any]) -> dict[str, Any]:
    name = (container.get("Names") or ["/?"])[0].lstrip("/")
    networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
    network = min(networks, default=None)  # a workload is on one network
    broken = next((kind for kind, suffix in SUFFIXES.items() if name.endswith(f"-{suffix}")), None)
    return {
        "name": name,
        "id": container["Id"],
        "network": network,
        "broken": broken,
        "global6": (networks.get(network) or {}).get("GlobalIPv6Address") or None,
    }


def _index(name: str) -> tuple[int, str]:
    head = name.split("-")[1] if name.count("-") >= 1 else ""
    return (int(head) if head.isdigit() else sys.maxsize, name)
