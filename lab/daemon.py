"""The Docker daemon under test: a dedicated dockerd of the chosen generation in the host
namespace, with its own data-root, exec-root, socket and the lab's resolv.conf."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lab import dockers, firewalld
from lab import topology as T
from lab.dockers import Generation
from lab.engine import engine_request
from lab.shell import say
from lab.site import Addressing, Host
from probes.docker import NEWEST_KNOWN_MAJOR

if TYPE_CHECKING:
    from lab.lab import Lab


@dataclass(frozen=True, slots=True)
class Daemon:
    """The dockerd a lab runs: which generation was asked for and what it turned out to be."""

    generation: str  # "20.10", "26", "28"
    release: str  # "Debian 13 trixie"
    version: str  # as the daemon says: "28.5.2+dfsg4"
    api_version: str
    root: str | None  # the root it runs from; None: this machine's own
    note: str | None = None  # the version is not the one the generation stands for
    # as the daemon says (GET /info → FirewallBackend.Driver, Docker 28.1+): "iptables",
    # "nftables", "…+firewalld"; None where it says nothing
    firewall_backend: str | None = None

    @property
    def major(self) -> int:
        head = self.version.split(".")[0]
        return int(head) if head.isdigit() else 0

    @classmethod
    def asked(cls, lab: Lab, gen: Generation, root: Path | None) -> Daemon:
        fmt = "{{.Server.Version}} {{.Server.APIVersion}}"
        version, _, api = lab.docker("version", "--format", fmt).strip().partition(" ")
        info = engine_request(lab.docker_socket, "GET", "/info") or {}
        backend = (info.get("FirewallBackend") or {}).get("Driver") or None
        root_name = str(root) if root else None
        daemon = cls(gen.name, gen.release, version, api, root_name, firewall_backend=backend)
        note = None
        if daemon.major > NEWEST_KNOWN_MAJOR:
            note = (
                f"note: {gen.release} now ships Docker {version}, newer than the checks know "
                f"(up to {NEWEST_KNOWN_MAJOR}): they judge it by Docker {NEWEST_KNOWN_MAJOR}'s "
                "rules, and a scenario's expectations may no longer hold"
            )
        elif daemon.major != gen.expected_major:
            note = (
                f"note: {gen.release} ships Docker {version} (the lab's Docker {gen.name} "
                f"stood for {gen.expected_major}); the checks know this version"
            )
        return dataclasses.replace(daemon, note=note)


def dockerd_args(
    lab: Lab,
    gen: Generation,
    host: Host,
    addressing: Addressing,
    firewall_backend: str | None = None,
) -> list[str]:
    args = [
        "dockerd",
        "--data-root", str(lab.state / "data"),
        "--exec-root", str(lab.state / "exec"),
        "--pidfile", str(lab.state / "dockerd.pid"),
        "-H", lab.docker_host,
        "--bip", T.BRIDGE4_GATEWAY,
        f"--userland-proxy={str(host.userland_proxy).lower()}",
        "--log-level", "warn",
    ]  # fmt: skip
    if host.default_bridge_ipv6:
        # Docker 28 needs no fixed-cidr-v6: without it docker0 gets a /64 of its ULA pool
        bridge6 = addressing.bridge6
        args += ["--ipv6"] if bridge6 is None else ["--ipv6", "--fixed-cidr-v6", bridge6]
    if host.ip6tables and gen.name == "26":
        args += ["--experimental", "--ip6tables"]  # 26 refuses ip6tables without experimental
    if firewall_backend is not None:
        args += ["--firewall-backend", firewall_backend]
    return args


def start(
    lab: Lab,
    gen: Generation,
    root: Path | None,
    host: Host,
    addressing: Addressing,
    firewall_backend: str | None = None,
    bus: str | None = None,
) -> Daemon:
    where = f"from {root}" if root else "(this machine's own)"
    say(f"starting a dedicated dockerd of {gen.release} {where} in the host namespace")
    for sub in ("data", "exec"):
        (lab.state / sub).mkdir()
    resolv = lab.state / "resolv.conf"
    lines = [*(f"nameserver {ns}" for ns in host.nameservers), *host.resolv_extra]
    resolv.write_text("".join(f"{line}\n" for line in lines))
    resolv.chmod(0o644)
    if root is None:
        # a private mount namespace: dockerd reads the lab's resolv.conf, and its mounts
        # vanish with it. nsenter, not `ip netns exec`, keeps the cgroup mounts dockerd needs.
        script = f'mount --bind "{resolv}" /etc/resolv.conf && exec "$@"'
    else:
        script = dockers.chroot_script(root, lab.state, resolv)
    lab.spawn(
        "dockerd",
        ["nsenter", f"--net=/run/netns/{lab.ns('host')}",
         "unshare", "--mount", "--propagation", "private",
         "sh", "-c", script, "sh",
         # the lab's firewalld's private bus, where it has one (lab.firewalld)
         *(["env", f"{firewalld.ENV}={bus}"] if bus else []),
         *dockerd_args(lab, gen, host, addressing, firewall_backend)],
    )  # fmt: skip
    lab.wait_for(
        lambda: lab.docker("version", "--format", "{{.Server.Version}}", check=False).strip() != "",
        "dockerd to answer",
        timeout=60,
    )
    return Daemon.asked(lab, gen, root)
