"""The Docker generations the lab runs: Debian 12's own docker.io, and those of newer releases.

Debian 12 (bookworm) ships docker.io 20.10; Debian 13 (trixie) 26.1; sid whatever is newest
(28.5 at the time of writing: sid moves on, so the lab reports the version it got). Their
binaries need their own release's libc, so a newer generation runs from a root made once with
``debootstrap --variant=minbase`` plus ``apt-get install docker.io iptables`` from Debian's own
archive, kept in a cache folder and reused. The lab's dockerd then runs chrooted into that root,
in the lab's host network namespace and a private mount namespace (see ``chroot_script``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("V6CONFORM_DOCKER_ROOTS", "/var/cache/v6conform/docker-roots"))
MIRROR = os.environ.get("V6CONFORM_DEBIAN_MIRROR", "http://deb.debian.org/debian")
READY = ".v6conform-ready"  # written last: a root without it is unfinished and made anew
# apt in a snapshot of a moving suite (sid) finds its Release file "expired": the archive is
# the one the machine is configured with, so its age is not ours to judge
APT = ("apt-get", "-o", "Acquire::Check-Valid-Until=false", "-o", "Dpkg::Use-Pty=0")


class RootError(Exception):
    """A Docker root could not be made; the message says what and what to do."""


@dataclass(frozen=True, slots=True)
class Generation:
    name: str  # what --docker takes: "20.10", "26", "28"
    suite: str | None  # the Debian suite whose docker.io it is; None: this machine's own
    release: str  # for people: "Debian 13 trixie"
    expected_major: int  # the major version the suite shipped when the lab was written

    @property
    def root(self) -> Path | None:
        return CACHE / self.suite if self.suite else None


GENERATIONS: dict[str, Generation] = {
    g.name: g
    for g in (
        Generation("20.10", None, "Debian 12 bookworm", 20),
        Generation("26", "trixie", "Debian 13 trixie", 26),
        Generation("28", "sid", "Debian sid", 28),
    )
}
DEFAULT = "20.10"  # no root to make: the fastest on a fresh machine


def generation(name: str) -> Generation:
    try:
        return GENERATIONS[name]
    except KeyError:
        known = ", ".join(GENERATIONS)
        raise RootError(f"unknown Docker generation {name!r}; the lab runs {known}") from None


def _say(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One maker per root at a time: two labs coming up at once wait for each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_root(gen: Generation) -> Path | None:
    """The root of ``gen``, made first if it is not in the cache yet; None: the machine's own."""
    root = gen.root
    if root is None:
        return None
    if (root / READY).exists():
        return root
    with locked(CACHE / f"{gen.suite}.lock"):
        if (root / READY).exists():  # made by another lab while we waited
            return root
        _make_root(gen, root)
    return root


def _make_root(gen: Generation, root: Path) -> None:
    make_root(
        gen.suite or "",
        root,
        ("docker.io", "iptables"),
        purpose=f"the {gen.release} root for Docker {gen.name}",
        version=("dockerd", "--version"),
    )


def make_root(
    suite: str, root: Path, packages: tuple[str, ...], *, purpose: str, version: tuple[str, ...]
) -> None:
    """Make ``root`` with debootstrap (minbase) and ``packages`` from Debian's archive; the
    output of ``version`` run inside it is written last, into its READY file."""
    if shutil.which("debootstrap") is None:
        raise RootError("debootstrap not found: install the lab's packages (make deps)")
    partial = root.with_name(root.name + ".partial")
    # an interrupted earlier attempt, or an unfinished root: start over
    for stale in (partial, root):
        if stale.exists():
            _say(f"removing the unfinished root {stale}")
            shutil.rmtree(stale)
    _say(f"making {purpose}, once (cached in {root.parent}; a few minutes and up to 700 MB)")
    step = "debootstrap"
    try:
        _stream(["debootstrap", "--variant=minbase", suite, str(partial), MIRROR], "debootstrap")
        # package scripts must not start a daemon in the root
        policy = partial / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        step = "apt-get update"
        _stream(["chroot", str(partial), *APT, "-q", "update"], "apt")
        step = f"apt-get install {' '.join(packages)}"
        _stream(
            ["chroot", str(partial), *APT, "-q", "-y", "--no-install-recommends", "install",
             *packages],
            "apt",
            env={"DEBIAN_FRONTEND": "noninteractive"},
        )  # fmt: skip
        step = f"running {' '.join(version)}"
        said = subprocess.run(
            ["chroot", str(partial), *version], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise RootError(
            f"making {purpose} failed at {step}: {exc}; check that Debian's archive ({MIRROR}, "
            "or V6CONFORM_DEBIAN_MIRROR) is reachable, then run again"
        ) from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / READY).write_text(said + "\n")
    partial.rename(root)
    _say(f"{purpose} is ready: {said}")


def _stream(cmd: list[str], tag: str, env: dict[str, str] | None = None) -> None:
    """Run a long command, showing its progress (stage lines only), raising on failure."""
    tail: list[str] = []
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-5:], line]
            if _is_stage(line):
                _say(f"  {tag}: {line.removeprefix('I: ')}")
    if proc.returncode != 0:
        last = next((t for t in reversed(tail) if t.strip()), "no output")
        raise subprocess.CalledProcessError(proc.returncode, cmd, output=last)


def _is_stage(line: str) -> bool:
    """debootstrap's and apt's milestones, not their per-package chatter."""
    if line.startswith("I: "):
        return not line.startswith(
            ("I: Retrieving", "I: Validating", "I: Unpacking", "I: Configuring", "I: Extracting")
        ) or line.startswith(("I: Unpacking the base", "I: Configuring the base"))
    return line.startswith(
        ("Setting up docker.io", "Setting up iptables", "Setting up openssh-server", "E: ")
    )


def chroot_script(root: Path, state: Path, resolv: Path) -> str:
    """A shell script, run in the lab's private mount namespace, that execs dockerd ("$@")
    chrooted into ``root`` with the lab's state directory at the same path inside.

    Every mount is made in that private namespace and vanishes with it: the cached root is
    shared by every lab and never changed by one. ``root`` is bind-mounted onto itself first
    because dockerd makes ``/`` rprivate when it unpacks images, which fails where ``/`` is no
    mount point.
    """
    r = str(root)
    inner = f"{r}{state}"
    lines = [
        "set -e",
        f'mount --bind "{r}" "{r}"',
        f'mount -t proc proc "{r}/proc"',
        f'mount --rbind /sys "{r}/sys"',
        f'mount --rbind /dev "{r}/dev"',
        f'mount -t tmpfs tmpfs "{r}/run"',
        f'mount -t tmpfs tmpfs "{r}/tmp"',
        f'mount --bind "{resolv}" "{r}/etc/resolv.conf"',
        # the state directory's parent becomes a tmpfs, so this lab's mount point exists
        # without being written into the shared root
        f'mkdir -p "{r}{state.parent}"',
        f'mount -t tmpfs tmpfs "{r}{state.parent}"',
        f'mkdir -p "{inner}"',
        f'mount --bind "{state}" "{inner}"',
        f'if [ -d /lib/modules ]; then mkdir -p "{r}/lib/modules" && '
        f'mount --bind /lib/modules "{r}/lib/modules"; fi',
        f'exec chroot "{r}" "$@"',
    ]
    return "\n".join(lines)
