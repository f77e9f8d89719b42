"""A fleet lab: several Docker hosts, each a lab of its own, reachable by real SSH only.

```
 [NAME-ctl]        the controller: Ansible runs here (`ip netns exec NAME-ctl ansible-playbook`)
   │ veth ctlI ── mgmt0   2001:db8:c0:I::1 ── 2001:db8:c0:I::2 (documentation space)
 [NAMEI-host]      host I: a whole lab (its upstream, far end, dockerd of its generation, its
                   scenario), and Debian's sshd, in a mount and UTS namespace of its own,
                   chrooted into a Debian 12 root (an overlay on a root made once and cached):
                   its own /, /root, /opt, hostname NAMEI, /etc/resolv.conf the lab's,
                   /run/docker.sock its lab's dockerd
```

Each host is a fresh Debian 12 machine as far as the controller can tell: python3 and venv,
iproute2, ip6tables, nft, busybox-static, sshd; no v6conform, no internet. ``up`` writes an
inventory (with host_vars: each host's profile, the one its lab wrote), an SSH key for the
controller and the hosts' keys in a known_hosts file, so host keys are checked. ``down`` takes
each host's lab down (which ends its sshd and every session with it), then the controller's
namespace and the fleet's directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import dockers
from lab.dockers import RootError
from lab.errors import LabError
from lab.hints import fleet_command, require_root
from lab.lab import STATE_ROOT, Lab, run
from lab.scenarios import SCENARIOS

DEFAULT_FLEET = "v6fl"
DEFAULT_HOSTS = ("healthy", "healthy", "forward-drop")
HOST_SUITE = "bookworm"
HOST_ROOT = dockers.CACHE / "fleet-host-bookworm"
HOST_PACKAGES = (
    "openssh-server",
    "python3",
    "python3-venv",
    "iproute2",
    "iptables",
    "nftables",
    "busybox-static",
    "procps",
)
MGMT = "mgmt0"  # the host's management interface, toward the controller
MGMT_NET = "2001:db8:c0:{i}::/64"
SSH_PORT = 22


def _say(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Member:
    """One host of the fleet: its lab's name and scenario, its Docker generation."""

    name: str
    scenario: str
    docker: str
    index: int

    @property
    def controller_address(self) -> str:
        return MGMT_NET.format(i=self.index).replace("::/64", "::1")

    @property
    def address(self) -> str:
        return MGMT_NET.format(i=self.index).replace("::/64", "::2")


def parse_hosts(spec: str, default_docker: str) -> list[tuple[str, str]]:
    """``SCENARIO[@GENERATION],…`` → [(scenario, generation)], each checked."""
    out = []
    for word in (w.strip() for w in spec.split(",")):
        scenario, _, gen = word.partition("@")
        gen = gen or default_docker
        if scenario not in SCENARIOS:
            raise LabError(f"--hosts: unknown scenario {scenario!r}; `python -m lab scenarios`")
        if gen not in dockers.GENERATIONS:
            raise LabError(f"--hosts: unknown Docker {gen!r}; the lab runs "
                           f"{', '.join(dockers.GENERATIONS)}")  # fmt: skip
        if gen not in SCENARIOS[scenario].generations:
            raise LabError(
                f"--hosts: scenario {scenario} does not run on Docker {gen} "
                f"(it runs on {', '.join(sorted(SCENARIOS[scenario].generations))})"
            )
        out.append((scenario, gen))
    if not 1 <= len(out) <= 9:
        raise LabError("--hosts: from 1 to 9 hosts")
    return out


@dataclass(frozen=True, slots=True)
class Fleet:
    name: str = DEFAULT_FLEET

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").isalnum() or len(self.name) > 7:
            raise LabError(f"fleet name {self.name!r}: use up to 7 letters, digits or dashes")

    @property
    def state(self) -> Path:
        return STATE_ROOT / f"fleet-{self.name}"

    @property
    def controller(self) -> str:
        return f"{self.name}-ctl"

    @property
    def inventory(self) -> Path:
        return self.state / "inventory" / "hosts.ini"

    def member_lab(self, index: int) -> Lab:
        return Lab(f"{self.name}{index}")

    # up ----------------------------------------------------------------------------------
    def up(self, hosts: list[tuple[str, str]]) -> dict[str, Any]:
        require_root(f"bringing fleet {self.name!r} up")
        for tool in ("ssh-keygen", "ssh", "unshare", "chroot", "mount"):
            if shutil.which(tool) is None:
                raise LabError(f"{tool} not found: install the lab's packages (make deps)")
        try:
            ensure_host_root()
        except RootError as exc:
            raise LabError(str(exc)) from None
        if self.exists():
            _say(f"removing a stale fleet {self.name!r} first")
        self.down(quiet=True)
        members = [
            Member(self.member_lab(i).name, sc, gen, i) for i, (sc, gen) in enumerate(hosts, 1)
        ]
        try:
            self.state.mkdir(parents=True)
            (self.state / "fleet.json").write_text(
                json.dumps({"members": [m.name for m in members]}) + "\n"
            )
            run("ip", "netns", "add", self.controller)
            run("ip", "netns", "exec", self.controller, "ip", "link", "set", "lo", "up")
            self._keys()
            for m in members:
                _say(f"fleet host {m.name}: lab in scenario {m.scenario}, Docker {m.docker}")
                lab = Lab(m.name)
                lab.up(m.scenario, m.docker)
                self._link(m, lab)
                self._sshd(m, lab)
            description = self._describe(members)
            self._write_inventory(description)
            (self.state / "describe.json").write_text(json.dumps(description, indent=2) + "\n")
            for m in members:
                self._wait_for_ssh(m)
        except BaseException:
            _say("bringing the fleet up failed; removing what was built")
            self.down(quiet=True)
            raise
        _say(
            f"fleet {self.name} is up: {len(members)} hosts; inventory {self.inventory}; "
            f"run Ansible in the controller namespace: ip netns exec {self.controller} …"
        )
        return description

    def _keys(self) -> None:
        keys = self.state / "keys"
        keys.mkdir(mode=0o700)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"v6conform fleet {self.name}",
            "-f", str(keys / "controller"))  # fmt: skip

    def _link(self, m: Member, lab: Lab) -> None:
        ctl_if = f"ctl{m.index}"
        run("ip", "link", "add", ctl_if, "netns", self.controller, "type", "veth",
            "peer", "name", MGMT, "netns", lab.ns("host"))  # fmt: skip
        plen = "/64"
        run("ip", "netns", "exec", self.controller, "ip", "-6", "addr", "add",
            m.controller_address + plen, "dev", ctl_if, "nodad")  # fmt: skip
        run("ip", "netns", "exec", self.controller, "ip", "link", "set", ctl_if, "up")
        lab.in_ns("host", "ip", "-6", "addr", "add", m.address + plen, "dev", MGMT, "nodad")
        lab.in_ns("host", "ip", "link", "set", MGMT, "up")

    def _sshd(self, m: Member, lab: Lab) -> None:
        """Debian's sshd as host ``m``'s: chrooted into an overlay of the host root, in a mount
        and UTS namespace of its own (they end with its last process: `down` kills them all)."""
        base = lab.state / "host-root"
        upper, work, merged = base / "upper", base / "work", base / "root"
        for d in (upper, work, merged):
            d.mkdir(parents=True)
        etc_ssh = upper / "etc" / "ssh"
        etc_ssh.mkdir(parents=True)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", m.name,
            "-f", str(etc_ssh / "ssh_host_ed25519_key"))  # fmt: skip
        (etc_ssh / "sshd_config").write_text(
            "\n".join(
                [
                    "# the fleet lab's host: key login for root from the controller only",
                    f"ListenAddress [{m.address}]:{SSH_PORT}",
                    "HostKey /etc/ssh/ssh_host_ed25519_key",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "AuthorizedKeysFile .ssh/authorized_keys",
                    "Subsystem sftp /usr/lib/openssh/sftp-server",
                    "PidFile none",
                    "",
                ]
            )
        )
        dot_ssh = upper / "root" / ".ssh"
        dot_ssh.mkdir(parents=True, mode=0o700)
        (upper / "root").chmod(0o700)
        auth = dot_ssh / "authorized_keys"
        auth.write_text((self.state / "keys" / "controller.pub").read_text())
        auth.chmod(0o600)
        (upper / "etc" / "hostname").write_text(m.name + "\n")
        for path in (HOST_ROOT, upper, work):
            if set(",:") & set(str(path)):
                raise LabError(f"{path}: an overlay cannot use a path with ',' or ':' in it")
        q = shlex.quote
        r = str(merged)
        own = [lab.ns(r) for r in lab.roles() if Path(f"/run/netns/{lab.ns(r)}").exists()]
        layers = f"lowerdir={HOST_ROOT},upperdir={upper},workdir={work}"
        script = "\n".join(
            [
                "set -e",
                f"mount -t overlay overlay -o {q(layers)} {q(r)}",
                f"mount -t proc proc {q(r + '/proc')}",
                f"mount --rbind /sys {q(r + '/sys')}",  # this network namespace's sysfs
                f"mount --rbind /dev {q(r + '/dev')}",
                f"mount -t tmpfs tmpfs {q(r + '/run')}",
                f"mount -t tmpfs tmpfs {q(r + '/tmp')}",
                f"mkdir -p {q(r + '/run/sshd')} {q(r + '/run/netns')}",
                # its own lab's namespaces only (the profile names the far end: RT-05 asks
                # from there), not every namespace of the machine
                *(
                    f"touch {q(f'{r}/run/netns/{ns}')} && "
                    f"mount --bind {q(f'/run/netns/{ns}')} {q(f'{r}/run/netns/{ns}')}"
                    for ns in own
                ),
                f"touch {q(r + '/run/docker.sock')}",
                f"mount --bind {q(str(lab.docker_socket))} {q(r + '/run/docker.sock')}",
                f"mount --bind {q(str(lab.state / 'resolv.conf'))} {q(r + '/etc/resolv.conf')}",
                f"hostname {q(m.name)}",
                f"exec chroot {q(r)} /usr/sbin/sshd -D -e",
            ]
        )
        lab.spawn(
            "sshd",
            ["ip", "netns", "exec", lab.ns("host"), "unshare", "--mount", "--uts",
             "--propagation", "private", "sh", "-c", script],
        )  # fmt: skip

    def _wait_for_ssh(self, m: Member) -> None:
        lab = Lab(m.name)
        cmd = [
            "ip", "netns", "exec", self.controller, "ssh", *self.ssh_options(),
            f"root@{m.address}", "hostname",
        ]  # fmt: skip
        last = ""
        for _ in range(50):
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode == 0 and proc.stdout.strip() == m.name:
                return
            last = proc.stderr.strip() or proc.stdout.strip()
            log = lab.state / "sshd.log"
            if log.exists() and "fatal" in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        tail = (lab.state / "sshd.log").read_text(errors="replace")[-400:].strip()
        raise LabError(f"fleet host {m.name} does not answer SSH ({last}); sshd: {tail}")

    def play(
        self, *args: str, results: Path, home: Path, bin_dir: Path
    ) -> subprocess.CompletedProcess[str]:
        """``ansible/v6conform-fleet`` (the playbook, exit status 0/1/3) in the controller's
        namespace with this fleet's inventory, ``args`` given to ansible-playbook; Ansible's
        and v6conform's commands from ``bin_dir``, Ansible's own files under ``home``."""
        env = ansible_env(results=results, home=home, bin_dir=bin_dir)
        script = Path(__file__).resolve().parents[1] / "ansible" / "v6conform-fleet"
        if not script.exists():
            raise LabError(f"{script} not found: the fleet's playbook is in a checkout only")
        cmd = ["ip", "netns", "exec", self.controller, str(script)]
        if not any(a in ("-i", "--inventory") for a in args):
            cmd += ["-i", str(self.inventory)]
        cmd += list(args)
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)

    def ssh_options(self) -> list[str]:
        keys = self.state / "keys"
        return [
            "-i", str(keys / "controller"),
            "-o", f"UserKnownHostsFile={keys / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=5",
        ]  # fmt: skip

    def _describe(self, members: list[Member]) -> dict[str, Any]:
        hosts = []
        lines = []
        for m in members:
            lab = Lab(m.name)
            d = lab.description()
            pub = (lab.state / "host-root/upper/etc/ssh/ssh_host_ed25519_key.pub").read_text()
            lines.append(f"{m.address} {' '.join(pub.split()[:2])}\n")
            hosts.append(
                {
                    "name": m.name,
                    "address": m.address,
                    "scenario": m.scenario,
                    "docker": d["docker"],
                    "expected_failures": sorted(SCENARIOS[m.scenario].expected_on(m.docker)),
                    "root_causes": sorted(SCENARIOS[m.scenario].causes_on(m.docker)),
                    "profile": (lab.state / "profile.toml").read_text(),
                }
            )
        (self.state / "keys" / "known_hosts").write_text("".join(lines))
        return {
            "name": self.name,
            "controller": self.controller,
            "inventory": str(self.inventory),
            "private_key": str(self.state / "keys" / "controller"),
            "known_hosts": str(self.state / "keys" / "known_hosts"),
            "hosts": hosts,
        }

    def _write_inventory(self, d: dict[str, Any]) -> None:
        inv = self.inventory
        (inv.parent / "host_vars").mkdir(parents=True)
        ssh_args = (
            f"-o UserKnownHostsFile={d['known_hosts']} -o StrictHostKeyChecking=yes "
            "-o ConnectTimeout=5"
        )
        lines = [
            f"# written by `{fleet_command(self.name, 'up')}`: the fleet's hosts, reached",
            f"# from the controller namespace {self.controller} only",
            "[v6conform]",
            *(f"{h['name']} ansible_host={h['address']}" for h in d["hosts"]),
            "",
            "[v6conform:vars]",
            "ansible_user=root",
            f"ansible_ssh_private_key_file={d['private_key']}",
            f"ansible_ssh_common_args='{ssh_args}'",
            "ansible_python_interpreter=/usr/bin/python3",
            "# logged in as root: nothing to become (and no sudo on the hosts)",
            "v6conform_become=false",
            "",
        ]
        inv.write_text("\n".join(lines))
        for h in d["hosts"]:
            # a host's own expectations, as a real fleet keeps them: its profile in host_vars
            (inv.parent / "host_vars" / f"{h['name']}.yml").write_text(
                "v6conform_profile: " + json.dumps(h["profile"]) + "\n"
            )

    # describe / down ---------------------------------------------------------------------
    def description(self) -> dict[str, Any]:
        require_root(f"fleet {self.name!r}")
        try:
            data: dict[str, Any] = json.loads((self.state / "describe.json").read_text())
        except FileNotFoundError:
            raise LabError(
                f"no fleet {self.name!r} is up: run `{fleet_command(self.name, 'up')}` first"
            ) from None
        return data

    def exists(self) -> bool:
        return self.state.exists() or Path(f"/run/netns/{self.controller}").exists()

    def _members(self) -> list[Lab]:
        try:
            names = json.loads((self.state / "fleet.json").read_text())["members"]
            return [Lab(str(n)) for n in names]
        except (OSError, ValueError, KeyError, TypeError):
            # no record: the labs this fleet could have named that carry a fleet host's root
            # (a lab of that name that is no fleet's is left alone)
            labs = [self.member_lab(i) for i in range(1, 10)]
            return [lab for lab in labs if (lab.state / "host-root").exists()]

    def down(self, *, quiet: bool = False) -> None:
        """Every member's lab (its sshd and sessions with it), whatever runs in the controller's
        namespace (an interrupted ansible-playbook, ssh control masters), the namespace, the
        fleet's directory; one member that will not go does not keep the others up."""
        require_root(f"bringing fleet {self.name!r} down")
        if not quiet:
            _say(f"bringing fleet {self.name!r} down")
        errors = []
        for lab in self._members():
            if lab.exists():
                try:
                    lab.down(quiet=quiet)
                except LabError as exc:
                    errors.append(str(exc))
        if Path(f"/run/netns/{self.controller}").exists():
            _end_processes_in(self.controller)
            run("ip", "netns", "del", self.controller, check=False)
        shutil.rmtree(self.state, ignore_errors=True)
        if self.state.exists():
            errors.append(f"could not remove {self.state}")
        if errors:
            raise LabError("; ".join(errors))


def ansible_env(*, results: Path, home: Path, bin_dir: Path) -> dict[str, str]:
    """The environment the fleet's wrapper runs in: Ansible's and v6conform's commands from
    ``bin_dir``, Ansible's own files under ``home``, the results in ``results``."""
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LC_ALL": "C.UTF-8",  # ansible refuses any other locale encoding
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "V6CONFORM_RESULTS": str(results),
    }


def _end_processes_in(namespace: str) -> None:
    """SIGTERM what runs in a named network namespace, SIGKILL what is left 5 s later; never
    this process or its parents."""
    spare = {os.getpid(), os.getppid()}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [
            int(p) for p in run("ip", "netns", "pids", namespace, check=False).split()
            if p.isdigit() and int(p) not in spare
        ]  # fmt: skip
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5.0
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if Path(f"/proc/{p}").exists()]
            time.sleep(0.05)
        if not pids:
            return


def ensure_host_root() -> Path:
    """The Debian 12 root the fleet's hosts run sshd (and, later, v6conform) from."""
    if (HOST_ROOT / dockers.READY).exists():
        return HOST_ROOT
    with dockers.locked(dockers.CACHE / "fleet-host.lock"):
        if not (HOST_ROOT / dockers.READY).exists():
            dockers.make_root(
                HOST_SUITE,
                HOST_ROOT,
                HOST_PACKAGES,
                purpose="the Debian 12 root for the fleet lab's hosts",
                version=("dpkg-query", "-W", "-f", "openssh-server ${Version}", "openssh-server"),
            )
    return HOST_ROOT
