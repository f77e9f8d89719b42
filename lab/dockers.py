"""The Docker generations the lab runs: Debian 12's own docker.io, and those of newer releases.

Debian 12 (bookworm) ships docker.io 20.10; Debian 13 (trixie) 26.1; sid whatever is newest
(28.5 at the time of writing: sid moves on, so the lab reports the version it got). Their
binaries need their own release's libc, so a newer generation runs from a root made once with
``debootstrap --variant=minbase`` plus ``apt-get install docker.io iptables`` from Debian's own
archive, kept in a cache folder and reused. The lab's dockerd then runs chrooted into that root,
in the lab's host network namespace and a private mount namespace (see ``chroot_script``).

Docker 29 is in no Debian suite: the lab builds its dockerd and docker-proxy from moby's source
(named by ``V6CONFORM_MOBY_SOURCE``: a source tarball or tree of that release, with its vendored
modules) with Debian sid's Go, offline, once, and runs them from a copy of the sid root with sid's
containerd and runc and Debian's ``nftables`` added (dockerd runs ``nft`` under its nftables
backend). Every derived root is a copy named by what it holds; the shared sid root is never
changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("V6CONFORM_DOCKER_ROOTS", "/var/cache/v6conform/docker-roots"))
MIRROR = os.environ.get("V6CONFORM_DEBIAN_MIRROR", "http://deb.debian.org/debian")
READY = ".v6conform-ready"  # written last: a root without it is unfinished and made anew
# apt in a snapshot of a moving suite (sid) finds its Release file "expired": the archive is
# the one the machine is configured with, so its age is not ours to judge
APT = ("apt-get", "-o", "Acquire::Check-Valid-Until=false", "-o", "Dpkg::Use-Pty=0")
MOBY_SOURCE = "V6CONFORM_MOBY_SOURCE"  # a moby source tarball or tree, for the generations built
GO = "golang-1.26-go"  # sid's; moby 29.7's go.mod asks for 1.26
GOROOT = "/usr/lib/go-1.26"


class RootError(Exception):
    """A Docker root could not be made; the message says what and what to do."""


@dataclass(frozen=True, slots=True)
class Generation:
    name: str  # what --docker takes: "20.10", "26", "28"
    suite: str | None  # the Debian suite whose docker.io it is; None: this machine's own
    release: str  # for people: "Debian 13 trixie"
    expected_major: int  # the major version the suite shipped when the lab was written
    moby: str | None = None  # built from moby's source at this version, run from suite's root

    @property
    def root(self) -> Path | None:
        if not self.suite:
            return None
        if self.moby:  # a copy of the suite's root: named by what it holds
            return CACHE / f"{self.suite}+nftables+moby-{self.moby}"
        return CACHE / self.suite

    @property
    def needs(self) -> str:
        """What making this generation's root needs, for --help and errors."""
        if self.moby:
            return (
                f"dockerd {self.moby} built once from moby's source: set {MOBY_SOURCE} to a "
                f"moby docker-v{self.moby} source tarball or tree (with vendor/)"
            )
        if self.suite:
            return f"{self.release}'s docker.io, in a root made once with debootstrap"
        return "this machine's own docker.io"


GENERATIONS: dict[str, Generation] = {
    g.name: g
    for g in (
        Generation("20.10", None, "Debian 12 bookworm", 20),
        Generation("26", "trixie", "Debian 13 trixie", 26),
        Generation("28", "sid", "Debian sid", 28),
        Generation(
            "29", "sid", "moby 29.7.2 built from source, run in Debian sid", 29, moby="29.7.2"
        ),
    )
}
FIREWALL_BACKENDS = ("iptables", "nftables")  # dockerd --firewall-backend: Docker 29's words
FIRST_WITH_NFTABLES = 29


def unavailable(gen: Generation) -> str | None:
    """Why ``gen`` cannot run here without being asked for anything (None: it can): a
    generation built from source needs its source or a cached build."""
    if gen.moby is None or (gen.root is not None and (gen.root / READY).exists()):
        return None
    if _built(gen, None) is not None:
        return None
    try:
        moby_source(gen)
    except RootError as exc:
        return str(exc)
    return None


def nft_of(root: Path | None) -> tuple[str, ...]:
    """The nft that writes as the lab's dockerd does: its root's, chrooted, where it has one."""
    if root is not None and (root / "usr/sbin/nft").exists():
        return ("chroot", str(root), "nft")
    return ("nft",)


def check_backend(gen: Generation, backend: str) -> None:
    """RootError unless ``gen``'s dockerd takes ``--firewall-backend backend``."""
    if backend not in FIREWALL_BACKENDS:
        raise RootError(
            f"unknown firewall backend {backend!r}: dockerd knows {', '.join(FIREWALL_BACKENDS)}"
        )
    if gen.expected_major < FIRST_WITH_NFTABLES:
        raise RootError(
            f"--firewall-backend {backend}: Docker {gen.name} has no such option (it came "
            f"with Docker {FIRST_WITH_NFTABLES}, whose nftables backend it chooses); "
            f"add --docker {FIRST_WITH_NFTABLES}"
        )


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
    if gen.moby:
        # before any waiting: a missing source is said at once
        source = None if _built(gen, None) else moby_source(gen)
        base = ensure_root(next(g for g in GENERATIONS.values() if g.suite == gen.suite))
        assert base is not None
        with locked(root.with_name(root.name + ".lock")):
            if not (root / READY).exists():
                _make_moby_root(gen, base, source, root)
        return root
    with locked(CACHE / f"{gen.suite}.lock"):
        if (root / READY).exists():  # made by another lab while we waited
            return root
        _make_root(gen, root)
    return root


def moby_source(gen: Generation) -> Path:
    """The moby source ``gen`` is built from, as the environment names it; RootError (one line
    saying what is needed) when it names none."""
    named = os.environ.get(MOBY_SOURCE, "").strip()
    if not named:
        raise RootError(
            f"Docker {gen.name} needs {gen.needs} (it is not set, and no build is cached)"
        )
    path = Path(named)
    if not (path.is_file() or (path / "cmd" / "dockerd").is_dir()):
        raise RootError(
            f"{MOBY_SOURCE}={named} is neither a moby source tarball nor a moby tree "
            f"(with cmd/dockerd): Docker {gen.name} needs {gen.needs}"
        )
    return path


def source_key(source: Path) -> str:
    """Which source a build came from: a tarball's sha256, a tree's resolved path."""
    if source.is_file():
        digest = hashlib.sha256()
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return f"sha256:{digest.hexdigest()}"
    return f"tree:{source.resolve()}"


def _built(gen: Generation, source: Path | None) -> Path | None:
    """The cached build of ``gen``, if there is one (from ``source``, when one is named)."""
    out = CACHE / f"moby-{gen.moby}"
    ready = out / READY
    if not ready.exists():
        return None
    return out if source is None or source_key(source) in ready.read_text() else None


def _make_moby_root(gen: Generation, base: Path, source: Path | None, root: Path) -> None:
    """``root``: a copy of ``base`` with nftables, its dockerd and docker-proxy replaced by
    those built from ``source`` (in a build root of their own, cached beside it)."""
    assert gen.moby is not None
    built = _moby_build(gen, base, source)
    purpose = f"the root for Docker {gen.moby} (Debian {gen.suite}'s, with nftables)"
    partial = _fresh_copy(base, root, purpose)
    with _making(partial, purpose) as step:
        step.now = "apt-get install nftables"
        _apt_install(partial, ("nftables",))
        step.now = "installing the built dockerd and docker-proxy"
        for tool in ("dockerd", "docker-proxy"):
            shutil.copy2(built / tool, partial / "usr/sbin" / tool)
        step.now = "running dockerd --version"
        said = _chroot_output(partial, ("dockerd", "--version"))
        if gen.moby not in said:
            raise RootError(f"the dockerd built from {source} says {said!r}, not {gen.moby}")
    _finish(partial, root, purpose, f"{said}\n{(built / READY).read_text().strip()}")


def _moby_build(gen: Generation, base: Path, source: Path | None) -> Path:
    """dockerd and docker-proxy of ``gen.moby`` built from ``source``, once: a folder in the
    cache (its READY names the source); the Go toolchain is in a root of its own (a copy of
    ``base`` with Debian's Go), also kept, so a new source builds without it being made again."""
    assert gen.moby is not None
    cached = _built(gen, source)
    if cached is not None:
        return cached
    source = source or moby_source(gen)
    out = CACHE / f"moby-{gen.moby}"
    key = source_key(source)
    go_root = _go_root(base)
    with locked(out.with_name(out.name + ".lock")):
        if (cached := _built(gen, source)) is not None:
            return cached
        if out.exists():
            shutil.rmtree(out)
        _say(f"building dockerd and docker-proxy {gen.moby} from {source}, once, offline "
             f"(cached in {out}; about 5 minutes on two cores)")  # fmt: skip
        work = go_root / "build"
        shutil.rmtree(work, ignore_errors=True)
        src = work / "src"
        src.mkdir(parents=True)
        started = time.monotonic()
        try:
            if source.is_file():
                subprocess.run(
                    ["tar", "-xf", str(source), "-C", str(src), "--strip-components=1"],
                    check=True, capture_output=True,
                )  # fmt: skip
            else:
                shutil.copytree(source, src, symlinks=True, dirs_exist_ok=True)
            if not (src / "vendor").is_dir():
                raise RootError(f"{source} has no vendor/ folder: the lab builds offline")
            _stream(_offline_chroot(go_root, _build_script(gen.moby)), "go build")
            partial = out.with_name(out.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            for tool in ("dockerd", "docker-proxy"):
                shutil.copy2(work / "out" / tool, partial / tool)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RootError(f"building Docker {gen.moby} from {source} failed: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        took = time.monotonic() - started
        (partial / READY).write_text(f"built from {source} ({key}) in {took:.0f} s\n")
        partial.rename(out)
        _say(f"built Docker {gen.moby} in {took:.0f} s")
    return out


def _build_script(version: str) -> str:
    """moby's build as its own hack/make.sh does it for a static dockerd, reduced to go build."""
    v = "github.com/moby/moby/v2/dockerversion"
    return "\n".join([
        "set -e",
        f"export GOROOT={GOROOT} PATH={GOROOT}/bin:/usr/bin:/bin GOFLAGS=-mod=vendor",
        "export GOTOOLCHAIN=local GOTELEMETRY=off CGO_ENABLED=0 GOPROXY=off",
        "export HOME=/build GOCACHE=/build/cache GOPATH=/build/go",
        "cd /build/src",
        'go build -trimpath -tags "netgo osusergo static_build exclude_graphdriver_btrfs '
        'exclude_disk_quota" '
        f'-ldflags "-s -w -X {v}.Version={version} -X {v}.GitCommit=v6conform" '
        "-o /build/out/dockerd ./cmd/dockerd",
        "go build -trimpath -ldflags '-s -w' -o /build/out/docker-proxy ./cmd/docker-proxy",
        "echo built",
    ])  # fmt: skip


def _offline_chroot(root: Path, script: str) -> list[str]:
    """Run ``script`` chrooted into ``root`` in a mount and network namespace of its own (no
    network at all: the build is offline by construction), with /proc and /dev."""
    r = str(root)
    outer = "; ".join([
        "set -e",
        f'mount -t proc proc "{r}/proc"',
        f'mount --rbind /dev "{r}/dev"',
        f'mount -t tmpfs tmpfs "{r}/tmp"',
        f'exec chroot "{r}" sh -c "$0"',
    ])  # fmt: skip
    return ["unshare", "--mount", "--net", "--propagation", "private",
            "sh", "-c", outer, script]  # fmt: skip


def _go_root(base: Path) -> Path:
    """A copy of ``base`` with Debian's Go, made once and kept (as the other roots)."""
    root = base.with_name(f"{base.name}+{GO}")
    if (root / READY).exists():
        return root
    with locked(root.with_name(root.name + ".lock")):
        if (root / READY).exists():
            return root
        purpose = f"a build root with {GO} (a copy of {base.name})"
        partial = _fresh_copy(base, root, purpose)
        with _making(partial, purpose) as step:
            step.now = f"apt-get install {GO}"
            _apt_install(partial, (GO, "gcc", "libc6-dev"))
            step.now = "go version"
            go_version = (
                f"export HOME=/tmp GOTOOLCHAIN=local GOTELEMETRY=off; {GOROOT}/bin/go version"
            )
            said = subprocess.run(
                _offline_chroot(partial, go_version), capture_output=True, text=True, check=True
            ).stdout.strip()
        _finish(partial, root, purpose, said)
    return root


def _fresh_copy(base: Path, root: Path, purpose: str) -> Path:
    """``root``'s unfinished copy of ``base``, started over if an earlier attempt left one."""
    partial = _start_over(root)
    _say(f"making {purpose}, once (cached in {root.parent})")
    subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(partial)], check=True)
    (partial / READY).unlink(missing_ok=True)
    return partial


def _start_over(root: Path) -> Path:
    """Where ``root`` is made (``root``.partial): an interrupted earlier attempt, or an
    unfinished root, is removed first."""
    partial = root.with_name(root.name + ".partial")
    for stale in (partial, root):
        if stale.exists():
            _say(f"removing the unfinished root {stale}")
            shutil.rmtree(stale)
    return partial


def _apt_install(root: Path, packages: tuple[str, ...]) -> None:
    _stream(["chroot", str(root), *APT, "-q", "update"], "apt")
    _stream(
        ["chroot", str(root), *APT, "-q", "-y", "--no-install-recommends", "install", *packages],
        "apt",
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


def _chroot_output(root: Path, argv: tuple[str, ...]) -> str:
    return subprocess.run(
        ["chroot", str(root), *argv], capture_output=True, text=True, check=True
    ).stdout.strip()


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
    partial = _start_over(root)
    _say(f"making {purpose}, once (cached in {root.parent}; a few minutes and up to 700 MB)")
    with _making(partial, purpose) as step:
        step.now = "debootstrap"
        _stream(["debootstrap", "--variant=minbase", suite, str(partial), MIRROR], "debootstrap")
        # package scripts must not start a daemon in the root
        policy = partial / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        step.now = f"apt-get install {' '.join(packages)}"
        _apt_install(partial, packages)
        step.now = f"running {' '.join(version)}"
        said = _chroot_output(partial, version)
    _finish(partial, root, purpose, said)


class _Step:
    """Where making a root has got to, for the error that stops it."""

    now = "starting"


@contextlib.contextmanager
def _making(partial: Path, purpose: str) -> Iterator[_Step]:
    """An unfinished root: removed if making it fails, the failure a RootError saying where."""
    step = _Step()
    try:
        yield step
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        said = str(getattr(exc, "stderr", None) or getattr(exc, "output", None) or "").strip()
        raise RootError(
            f"making {purpose} failed at {step.now}: {exc} {said[-300:]}; if apt failed, check "
            f"that Debian's archive ({MIRROR}, or V6CONFORM_DEBIAN_MIRROR) is reachable, then "
            "run again"
        ) from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _finish(partial: Path, root: Path, purpose: str, said: str) -> None:
    """``partial`` is made: it becomes ``root``, its READY file saying what it holds."""
    (partial / READY).write_text(said + "\n")
    partial.rename(root)
    _say(f"{purpose} is ready: {said.splitlines()[0]}")


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
        (
            "Setting up docker.io",
            "Setting up iptables",
            "Setting up openssh-server",
            "Setting up nftables",
            f"Setting up {GO}",
            "E: ",
            "built",
        )
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
