"""firewalld on the lab host: Debian's firewalld with a D-Bus system bus of its own, both in the
lab's host network namespace, and the lab's dockerd told where that bus is.

A real host's firewalld is found by dockerd on the system bus (moby's
``daemon/libnetwork/iptables/firewalld.go``: ``dbus.SystemBus()``, which honours
``DBUS_SYSTEM_BUS_ADDRESS``, then ``getDefaultZone``); it then puts its bridges into firewalld's
zone ``docker``, adds the policy ``docker-forwarding`` and (under its iptables backend) writes
its rules through firewalld's direct passthrough. The lab gives both a private bus: a
``dbus-daemon`` with its own configuration whose only listening socket is under the lab's state
directory, so nothing here reaches this machine's system bus, and firewalld, started in the
lab's host namespace, writes only that namespace's nftables (``table inet firewalld``).

Both run chrooted into a root of their own (a copy of Debian sid's with ``firewalld`` and
``dbus-daemon`` from Debian's archive, made once and cached as the Docker roots are), in a private
mount namespace where ``/etc/firewalld`` is the lab's own copy: what firewalld makes permanent
(Docker's zone, a fix's ``--permanent``) is written into the lab's state, never the shared root.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lab import dockers
from lab.dockers import CACHE, GENERATIONS, READY
from lab.shell import run, say

if TYPE_CHECKING:
    from lab.lab import Lab

PACKAGES = ("firewalld", "dbus-daemon")
SUITE = "sid"
ROOT = CACHE / f"{SUITE}+firewalld"
ENV = "DBUS_SYSTEM_BUS_ADDRESS"


def bus_socket(lab: Lab) -> Path:
    return lab.state / "dbus" / "system_bus_socket"


def bus_address(lab: Lab) -> str:
    return f"unix:path={bus_socket(lab)}"


def ensure_root() -> Path:
    """The firewalld root, made once: a copy of sid's Docker root with firewalld added."""
    if (ROOT / READY).exists():
        return ROOT
    base = dockers.ensure_root(next(g for g in GENERATIONS.values() if g.suite == SUITE))
    assert base is not None
    with dockers.locked(ROOT.with_name(ROOT.name + ".lock")):
        if (ROOT / READY).exists():
            return ROOT
        purpose = f"a root with firewalld (a copy of {base.name})"
        partial = dockers._fresh_copy(base, ROOT, purpose)
        with dockers._making(partial, purpose) as step:
            step.now = f"apt-get install {' '.join(PACKAGES)}"
            dockers._apt_install(partial, PACKAGES)
            step.now = "dpkg-query firewalld"
            said = dockers._chroot_output(partial, ("dpkg-query", "-W", "firewalld"))
        dockers._finish(partial, ROOT, purpose, said)
    return ROOT


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- only root on this machine reaches the socket (0755 state directory): all is allowed -->
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
</busconfig>
"""


def mount_script(root: Path, lab: Lab) -> str:
    """dockers.chroot_script for firewalld and its bus, with the lab's own /etc/firewalld."""
    base = dockers.chroot_script(root, lab.state, lab.state / "resolv.conf")
    head, _, tail = base.rpartition("\n")
    etc = lab.state / "firewalld-etc"
    return "\n".join([head, f'mount --bind "{etc}" "{root}/etc/firewalld"', tail])


def start(lab: Lab) -> str:
    """Start the lab's bus and firewalld in its host namespace; the bus's address, for dockerd."""
    root = ensure_root()
    say(f"starting firewalld of {root.name} on a private D-Bus bus in the host namespace")
    (lab.state / "dbus").mkdir()
    config = lab.state / "dbus" / "system.conf"
    config.write_text(BUS_CONFIG.format(socket=bus_socket(lab)))
    etc = lab.state / "firewalld-etc"
    run("cp", "-a", str(root / "etc/firewalld"), str(etc))
    conf = etc / "firewalld.conf"
    lines = [
        line
        for line in conf.read_text().splitlines()
        if not line.startswith(("FirewallBackend=", "LogDenied=", "CleanupOnExit="))
    ]
    lines += ["FirewallBackend=nftables", "LogDenied=off", "CleanupOnExit=yes"]
    conf.write_text("\n".join(lines) + "\n")
    if not (lab.state / "resolv.conf").exists():
        (lab.state / "resolv.conf").write_text("")
    env = f"{ENV}={bus_address(lab)}"
    in_host = ["nsenter", f"--net=/run/netns/{lab.ns('host')}",
               "unshare", "--mount", "--propagation", "private",
               "sh", "-c", mount_script(root, lab), "sh", "env", env]  # fmt: skip
    lab.spawn("dbus", [*in_host, "dbus-daemon", "--nofork", "--nopidfile",
                       f"--config-file={config}"])  # fmt: skip
    lab.wait_for(bus_socket(lab).exists, "the lab's D-Bus bus", timeout=15)
    # its log file names the lab's state directory: `down` knows the process as the lab's by it
    log = lab.state / "firewalld.file.log"
    lab.spawn("firewalld", [*in_host, "firewalld", "--nofork", "--nopid",
                            "--log-target", "mixed", "--log-file", str(log)])  # fmt: skip
    lab.wait_for(
        lambda: "running" in firewall_cmd(lab, "--state", check=False),
        "firewalld to answer on the lab's bus",
        timeout=60,
    )
    return bus_address(lab)


def firewall_cmd_argv(lab: Lab) -> list[str]:
    """firewall-cmd as a shell on the lab host runs it: in the host namespace, on the lab's bus
    (its root's firewall-cmd by path: a PATH that names a wrapper of this would find it again)."""
    return ["nsenter", f"--net=/run/netns/{lab.ns('host')}",
            "unshare", "--mount", "--propagation", "private",
            "sh", "-c", mount_script(ROOT, lab), "sh",
            "env", f"{ENV}={bus_address(lab)}",
            "/usr/bin/firewall-cmd"]  # fmt: skip


def firewall_cmd(lab: Lab, *args: str, check: bool = True) -> str:
    return run(*firewall_cmd_argv(lab), *args, check=check)
