"""`down` removes its own lab's daemons and nothing else: not those of a lab whose name extends
its own (v6cdx is a prefix of v6cdxy, and so is its state directory), not a process that now owns
a pid a stale pid file names."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.suite_run import lab_command
from lab import Lab
from lab.lab import DAEMONS
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cdx")
LONGER = NAME + "y"  # NAME followed by more letters: its state path starts with NAME's
STALE = lab_name("v6cdp")  # a lab that is no more but for its pid files


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat, or None when the process is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def processes_of(lab: Lab) -> dict[int, str]:
    """pid -> start time of every live process in the lab's namespaces or naming its state
    directory exactly (an argument that is the directory or a path under it)."""
    state = str(lab.state)
    inodes = set()
    for role in ("host", "upstream", "inet"):
        try:
            st = os.stat(f"/run/netns/{lab.ns(role)}")
        except FileNotFoundError:
            continue
        inodes.add((st.st_dev, st.st_ino))
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            st = os.stat(entry / "ns" / "net")
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        ours = (st.st_dev, st.st_ino) in inodes or any(
            a.endswith(state) or f"{state}/" in a for a in argv
        )
        started = start_time(int(entry.name))
        if ours and started is not None:
            found[int(entry.name)] = started
    return found


def alive(procs: dict[int, str]) -> dict[int, str]:
    return {pid: t for pid, t in procs.items() if start_time(pid) == t}


def assert_gone(lab: Lab) -> None:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not {f"{lab.name}-{r}" for r in ("host", "upstream", "inet")} & set(
        line.split()[0] for line in namespaces.splitlines() if line.strip()
    )
    assert processes_of(lab) == {}
    assert not lab.state.exists()


@pytest.fixture
def two_labs() -> Iterator[tuple[Lab, Lab]]:
    short, longer = Lab(NAME), Lab(LONGER)
    try:
        short.up("healthy")
        longer.up("healthy")
        yield short, longer
    finally:
        short.down(quiet=True)
        longer.down(quiet=True)


def test_down_spares_a_lab_whose_name_extends_its_own(two_labs: tuple[Lab, Lab]) -> None:
    short, longer = two_labs
    theirs = processes_of(longer)
    names = {Path(f"/proc/{p}/comm").read_text().strip() for p in theirs}
    # the daemons a healthy lab runs (its web servers are busybox httpd; tayga runs only where
    # a scenario has a NAT64), each of the longer lab
    assert {"dockerd", "radvd", "unbound", "busybox"} <= names, names
    down = lab_command(NAME, "down")
    assert down.returncode == 0, down.stderr
    assert_gone(short)
    # every process of the other lab still runs, the very same process (same start time)
    assert alive(theirs) == theirs, {p: theirs[p] for p in set(theirs) - set(alive(theirs))}
    version = subprocess.run(
        ["docker", "-H", f"unix://{longer.state}/docker.sock", "version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0, version.stderr
    down = lab_command(LONGER, "down")
    assert down.returncode == 0, down.stderr
    assert_gone(longer)


@pytest.mark.parametrize(
    "contents",
    [
        lambda pid, started: f"{pid}\n",  # as written before start times were recorded
        lambda pid, started: f"{pid} {int(started) - 1}\n",  # the daemon that had that pid
        lambda pid, started: f"{pid} {started}\n",  # the right process, but not the lab's daemon
    ],
    ids=["pid-only", "other-start-time", "same-start-time"],
)
def test_down_spares_the_process_a_stale_pid_file_names(
    contents: Callable[[int, str], str],
) -> None:
    lab = Lab(STALE)
    lab.down(quiet=True)
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        started = start_time(sleeper.pid)
        assert started is not None
        lab.state.mkdir(parents=True)
        for daemon in DAEMONS:
            (lab.state / f"{daemon}.lab-pid").write_text(contents(sleeper.pid, started))
        down = lab_command(STALE, "down")
        assert down.returncode == 0, down.stderr
        assert sleeper.poll() is None, "down killed a process that is no daemon of the lab"
        assert start_time(sleeper.pid) == started
        assert not lab.state.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
        lab.down(quiet=True)
