"""Bring the lab up and down: three namespaces, a dedicated dockerd, radvd and unbound.

Everything a lab creates carries its name: namespaces ``NAME-host``, ``NAME-upstream`` and
``NAME-inet``, and the directory ``/var/lib/v6conform-lab/NAME`` (configs, pid files, logs, the
Docker socket, data-root and exec-root). ``down`` removes exactly that, whatever state it is in.

``up`` builds the scenario's site (lab.site: the healthy settings, changed by its faults) one
component at a time, each from its own module: the wiring (lab.links), the DNS server (lab.dns),
the far end's other services (lab.far_end), the upstream router (lab.upstream), the Docker
daemon (lab.daemon) and its networks (lab.networks), the host's last settings (lab.host).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import daemon as docker_daemon
from lab import dns, dockers, far_end, firewalld, glibc_image, host, links, published, upstream
from lab import networks as docker_networks
from lab import workloads as workload_containers
from lab.describe import describe, profile_toml
from lab.dockers import RootError
from lab.errors import LabError
from lab.hints import require_root, up_command
from lab.processes import (
    HeldProcess,
    PidRecord,
    ancestry,
    argv_of,
    finishing,
    mounts_under,
    names_path,
    net_ns_of,
    reap,
    signal_all,
    spawn,
)
from lab.scenarios import SCENARIOS
from lab.shell import run, say
from lab.site import Site

__all__ = ["DAEMONS", "DEFAULT_NAME", "STATE_ROOT", "Lab", "run"]

STATE_ROOT = Path(os.environ.get("V6CONFORM_LAB_ROOT", "/var/lib/v6conform-lab"))
DEFAULT_NAME = "v6c"
ROLES = ("host", "upstream", "inet")  # every lab's namespaces; two hops add transit, a second
# router router2
DAEMONS = (
    "dockerd",
    "firewalld",
    "dbus",
    "radvd",
    "radvd-r2",
    "unbound",
    "tayga",
    *(f"httpd-{i}" for i in range(4)),
)


@dataclass(frozen=True, slots=True)
class Lab:
    name: str = DEFAULT_NAME

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").isalnum() or len(self.name) > 8:
            raise LabError(f"lab name {self.name!r}: use up to 8 letters, digits or dashes")

    # names and paths ---------------------------------------------------------------------
    def ns(self, role: str) -> str:
        return f"{self.name}-{role}"

    @property
    def state(self) -> Path:
        return STATE_ROOT / self.name

    @property
    def docker_socket(self) -> Path:
        return self.state / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    @staticmethod
    def roles(site: Site | None = None) -> tuple[str, ...]:
        """The lab's namespaces' roles: the site's (a transit router and a second router each
        have one of their own), or every one a lab may have (for ``down``)."""
        if site is None:
            return (*ROLES, "transit", "router2")
        two_hops = ("transit",) if len(site.core.hops) == 2 else ()
        second = ("router2",) if site.second_router is not None else ()
        return (*ROLES, *two_hops, *second)

    def in_ns(self, role: str, *cmd: str, check: bool = True) -> str:
        return run("ip", "netns", "exec", self.ns(role), *cmd, check=check)

    def sysctl(self, role: str, key: str, value: str | int) -> None:
        self.in_ns(role, "sysctl", "-qw", f"{key}={value}")

    def docker(self, *args: str, check: bool = True) -> str:
        return run("docker", "-H", self.docker_host, *args, check=check)

    def spawn(self, daemon: str, cmd: list[str]) -> None:
        """Start ``cmd`` as this lab's ``daemon``, logging to STATE/DAEMON.log, its pid recorded."""
        spawn(self.state, daemon, cmd)

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.1)
        logs = {d: (self.state / f"{d}.log") for d in DAEMONS}
        tails = "; ".join(
            f"{d}: {p.read_text(errors='replace')[-300:].strip()}"
            for d, p in logs.items()
            if p.exists()
        )
        raise LabError(f"timed out after {timeout:.0f} s waiting for {what} ({tails})")

    # up ----------------------------------------------------------------------------------
    def up(
        self,
        scenario_name: str = "healthy",
        docker: str = dockers.DEFAULT,
        firewall_backend: str | None = None,
    ) -> dict[str, Any]:
        require_root(f"bringing lab {self.name!r} up")
        try:
            scenario = SCENARIOS[scenario_name]
        except KeyError:
            known = ", ".join(SCENARIOS)
            raise LabError(f"unknown scenario {scenario_name!r}; known: {known}") from None
        try:
            gen = dockers.generation(docker)
        except RootError as exc:
            raise LabError(str(exc)) from None
        if firewall_backend is not None:
            try:
                dockers.check_backend(gen, firewall_backend)
            except RootError as exc:
                raise LabError(str(exc)) from None
        if gen.name not in scenario.generations:
            wants = " or ".join(sorted(scenario.generations))
            # the newest Debian ships, where one will do: a built one needs moby's source
            shipped = [g for g in sorted(scenario.generations) if not dockers.GENERATIONS[g].moby]
            raise LabError(
                f"scenario {scenario.name} needs Docker {wants} ({scenario.summary}); "
                f"add --docker {(shipped or sorted(scenario.generations))[-1]}"
            )
        site = scenario.site()
        tools = ["ip", "docker", "radvd", "unbound", "nsenter", "ip6tables"]
        tools.append("dockerd" if gen.root is None else "debootstrap")
        if site.far_end.translator:
            tools.append("tayga")
        for tool in tools:
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found: install the lab's packages (make deps)")
        try:
            root = dockers.ensure_root(gen)
        except RootError as exc:
            raise LabError(str(exc)) from None
        if self.exists():
            say(f"removing a stale lab {self.name!r} first")
        self.down(quiet=True)
        started = time.monotonic()
        try:
            self.state.mkdir(parents=True)
            links.create(self, site)
            dns.start(self, site.dns)
            far_end.start_web(self, site.far_end)
            if site.far_end.translator:
                far_end.start_nat64(self)
            upstream.start(self, site.router)
            bus = firewalld.start(self) if site.host.firewalld else None
            daemon = docker_daemon.start(
                self, gen, root, site.host, site.addressing, firewall_backend, bus
            )
            docker_networks.create(self, scenario.networks(site, daemon.major))
            dns.wait_until_answered(self, site.dns)
            if site.second_router is not None:
                # after the host's first answers: a rogue one would keep them from it
                upstream.start_second(self, site.router, site.second_router)
            writes_ip6tables = site.host.docker_writes_ip6tables(daemon.major)
            nft = dockers.nft_of(root)
            fw_cmd = tuple(firewalld.firewall_cmd_argv(self)) if bus else ("firewall-cmd",)
            changes = scenario.host_changes(
                site, writes_ip6tables, daemon.firewall_backend, nft, fw_cmd
            )
            host.finish(self, site, changes)
            # AF-01's glibc container beside the busybox one: an image of this machine's glibc
            glibc_image.ensure_image(self.docker_socket)
            description = describe(self, scenario, site, daemon)
            (self.state / "describe.json").write_text(json.dumps(description, indent=2) + "\n")
            (self.state / "profile.toml").write_text(profile_toml(description))
            published.start(self.docker_socket, self.name, self.ns("host"), site.published)
            if site.workloads.count:
                self.replace_workloads(
                    site.workloads.count,
                    broken_route=site.workloads.without_route,
                    broken_resolv=site.workloads.bad_resolv,
                )
            description["workloads"] = self.workloads()
        except BaseException:
            say("bringing the lab up failed; removing what was built")
            self.down(quiet=True)
            raise
        say(
            f"{self.name} is up in scenario {scenario.name} with Docker {daemon.version} "
            f"(firewall backend {daemon.firewall_backend or 'unknown'}; "
            f"{time.monotonic() - started:.1f} s)"
        )
        if daemon.note:
            say(daemon.note)
        return description

    # describe ----------------------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        require_root(f"lab {self.name!r}")  # not root: nothing of it can be read, none broken
        path = self.state / "describe.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(
                f"no lab {self.name!r} is up: run `{up_command(self.name)}` first"
            ) from None
        missing = [
            ns for ns in data["namespaces"].values() if not Path(f"/run/netns/{ns}").exists()
        ]
        if missing:
            raise LabError(
                f"lab {self.name!r} is broken (namespaces gone: {', '.join(missing)}): "
                f"run `{self.up_again(data)}`"
            )
        # what runs now, not what `up` started: `python -m lab workloads` changes it
        data["workloads"] = self.workloads(data)
        return data

    def up_again(self, data: dict[str, Any] | None = None) -> str:
        """The command that brings this lab up again as it was (its describe.json's scenario,
        Docker generation and firewall backend), or with the defaults where none is known."""
        data = data or {}
        daemon = data.get("docker") or {}
        backend = daemon.get("firewall_backend")
        return up_command(
            self.name,
            data.get("scenario"),
            daemon.get("generation"),
            backend if backend in dockers.FIREWALL_BACKENDS[1:] else None,  # not the default
        )

    # workloads ---------------------------------------------------------------------------
    def replace_workloads(
        self, count: int, *, broken_route: int = 0, broken_resolv: int = 0
    ) -> None:
        """Replace the lab's workload containers by ``count`` new ones (0: remove them)."""
        workload_containers.replace(
            self.docker_socket, self.name, self.ns("host"), count, broken_route, broken_resolv
        )

    def workloads(self, data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The lab's running workload containers, as its dockerd says now."""
        require_root(f"lab {self.name!r}")
        try:
            return workload_containers.listing(self.docker_socket, self.name)
        except LabError as exc:
            raise LabError(
                f"lab {self.name!r} is broken (its dockerd cannot list its containers: {exc}): "
                f"run `{self.up_again(data)}`"
            ) from None

    def exists(self) -> bool:
        return self.state.exists() or any(
            Path(f"/run/netns/{self.ns(r)}").exists() for r in self.roles()
        )

    # down --------------------------------------------------------------------------------
    def down(self, *, quiet: bool = False) -> None:
        """Remove every trace of this lab: containers, processes, namespaces, directories. The
        first Ctrl-C or SIGTERM meanwhile lets it finish; a second one stops it."""
        require_root(f"bringing lab {self.name!r} down")
        if not quiet:
            say(f"bringing lab {self.name!r} down")
        with finishing(f"bringing lab {self.name!r} down"):
            self._down()

    def _down(self) -> None:
        if self.docker_socket.exists():
            ids = self.docker("ps", "-aq", check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        # the daemons the pid files name, each only if it still is that daemon of this lab
        signal_all(self._recorded_daemons(), signal.SIGTERM, grace=10.0)
        # whatever is left: processes inside our namespaces or running from our directory
        # (containerd and its shims carry the exec-root in their command line)
        signal_all(self._stragglers(), signal.SIGKILL, grace=5.0)
        for role in self.roles():
            if Path(f"/run/netns/{self.ns(role)}").exists():
                run("ip", "netns", "del", self.ns(role), check=False)
        for mount in mounts_under(self.state):
            run("umount", "-l", mount, check=False)
        shutil.rmtree(self.state, ignore_errors=True)
        if self.state.exists():
            raise LabError(f"could not remove {self.state}")

    def _recorded_daemons(self) -> list[HeldProcess]:
        """The processes the ``*.lab-pid`` files name that still are this lab's daemons: the
        same process (pid and start time) with this lab's state directory in its arguments.
        A pid file outlives its daemon (a lab left after a crash or a reboot), and by then its
        pid may be any other process's."""
        found = []
        marker = os.fsencode(self.state)
        for daemon in DAEMONS:
            path = self.state / f"{daemon}.lab-pid"
            try:
                record = PidRecord.parse(path.read_text())
            except (FileNotFoundError, UnicodeDecodeError):
                continue
            if record is None:
                continue
            proc = HeldProcess.open(record.pid)
            if proc is None:  # gone, or a zombie: collected if this process started it
                reap(record.pid)
                continue
            same = record.start is None or record.start == proc.start
            if same and names_path(argv_of(record.pid), marker):
                found.append(proc)
                continue
            proc.close()
            say(
                f"{path.name} names pid {record.pid}, which is no longer {daemon} of lab "
                f"{self.name}: left alone"
            )
        return found

    def _stragglers(self) -> list[HeldProcess]:
        """Every process inside this lab's namespaces, or with an argument naming this lab's
        state directory or a path under it (exactly: lab v6c's directory is a prefix of lab
        v6cmx's, whose processes are not ours). Each is held (a pidfd) before it is checked,
        so what is signalled later is what was checked. Never this process or its parents."""
        namespaces = set()
        for role in self.roles():
            with contextlib.suppress(OSError):
                st = os.stat(f"/run/netns/{self.ns(role)}")
                namespaces.add((st.st_dev, st.st_ino))
        marker = os.fsencode(self.state)
        spare = ancestry(os.getpid())
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in spare:
                continue
            proc = HeldProcess.open(int(entry.name))
            if proc is None:
                continue
            if net_ns_of(proc.pid) in namespaces or names_path(argv_of(proc.pid), marker):
                found.append(proc)
            else:
                proc.close()
        return found
