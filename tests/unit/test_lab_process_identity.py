"""How `python -m lab down` tells its lab's processes from every other one, without a lab."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import lab as labmod
from lab.lab import Lab
from lab.processes import HeldProcess, PidRecord, names_path, proc_start, stat_start

STATE = b"/var/lib/v6conform-lab/v6c"


@pytest.mark.parametrize(
    "argv",
    [
        [b"dockerd", b"--data-root", b"/var/lib/v6conform-lab/v6c/data"],
        [b"dockerd", b"--data-root=/var/lib/v6conform-lab/v6c/data"],
        [b"docker", b"-H", b"unix:///var/lib/v6conform-lab/v6c/docker.sock"],
        [b"tail", b"/var/lib/v6conform-lab/v6c"],
        # the chrooted dockerd's start: a script naming the state path among others
        [b"sh", b"-c", b'mount --bind "/var/lib/v6conform-lab/v6c/resolv.conf" /etc/resolv.conf'],
        [b"ls", b"/var/cache/v6conform/docker-roots/sid/var/lib/v6conform-lab/v6c/"],
        # a later occurrence counts when an earlier one is another lab's
        [b"cp", b"/var/lib/v6conform-lab/v6cmx/a:/var/lib/v6conform-lab/v6c/a"],
    ],
)
def test_an_argument_names_the_state_directory(argv: list[bytes]) -> None:
    assert names_path(argv, STATE)


@pytest.mark.parametrize(
    "argv",
    [
        [b"dockerd", b"--data-root", b"/var/lib/v6conform-lab/v6cmx/data"],
        [b"docker", b"-H", b"unix:///var/lib/v6conform-lab/v6cmx/docker.sock"],
        [b"unbound", b"-c", b"/var/lib/v6conform-lab/v6cmx/unbound.conf"],
        [b"tail", b"/var/lib/v6conform-lab/v6c.log"],
        [b"sh", b"-c", b'mount --bind "/var/lib/v6conform-lab/v6cgen/resolv.conf" /etc/x'],
        # the path split across two arguments is in neither
        [b"ls", b"/var/lib/v6conform-lab/", b"v6c"],
        [],
        [b""],
    ],
)
def test_another_labs_path_does_not_name_it(argv: list[bytes]) -> None:
    assert not names_path(argv, STATE)


def test_pid_records_round_trip_and_old_files_read() -> None:
    assert PidRecord.parse(PidRecord(1234, 98765).dump()) == PidRecord(1234, 98765)
    assert PidRecord.parse("1234\n") == PidRecord(1234, None)  # written before start times
    for junk in ("", "\n", "x", "12 ab", "1 2 3", "-5", "0", "0 12"):
        assert PidRecord.parse(junk) is None, junk


def test_start_time_is_field_22_even_when_the_name_has_parentheses() -> None:
    rest = " ".join(str(n) for n in range(4, 53))  # fields 4.. hold their own numbers
    assert stat_start(f"77 (a) b) c) S {rest}") == 22
    assert stat_start(f"77 (sleep) Z {rest}") is None  # a zombie has ended
    assert stat_start("77 (short) S 1 2") is None


@pytest.fixture
def sleepers(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Processes whose arguments name a path under one lab's state directory or another's."""
    procs = {}
    for name in ("v6cu", "v6cux"):
        arg = str(tmp_path / name / "unbound.conf")
        procs[name] = subprocess.Popen(["sh", "-c", "sleep 300; exit 0", arg])
    yield procs
    for proc in procs.values():
        proc.kill()
        proc.wait()


def test_stragglers_are_exactly_the_labs_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleepers: dict[str, subprocess.Popen[bytes]]
) -> None:
    monkeypatch.setattr(labmod, "STATE_ROOT", tmp_path)
    found = Lab("v6cu")._stragglers()
    try:
        pids = {p.pid for p in found}
    finally:
        for proc in found:
            proc.close()
    assert sleepers["v6cu"].pid in pids
    assert sleepers["v6cux"].pid not in pids
    assert os.getpid() not in pids


def test_a_pid_file_counts_only_for_the_same_process_running_the_labs_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleepers: dict[str, subprocess.Popen[bytes]]
) -> None:
    monkeypatch.setattr(labmod, "STATE_ROOT", tmp_path)
    lab = Lab("v6cu")
    lab.state.mkdir()
    ours, theirs = sleepers["v6cu"].pid, sleepers["v6cux"].pid
    ours_start, theirs_start = proc_start(ours), proc_start(theirs)
    assert ours_start is not None
    assert theirs_start is not None

    def recorded(**files: str) -> set[int]:
        for daemon, text in files.items():
            (lab.state / f"{daemon}.lab-pid").write_text(text)
        found = lab._recorded_daemons()
        for proc in found:
            proc.close()
        return {p.pid for p in found}

    assert recorded(unbound=f"{ours} {ours_start}\n") == {ours}
    assert recorded(unbound=f"{ours}\n") == {ours}  # an old pid file: the arguments decide
    assert recorded(unbound=f"{ours} {ours_start + 1}\n") == set()  # another process, same pid
    # the very process the file was written for, but it names another lab's directory
    assert recorded(unbound=f"{theirs} {theirs_start}\n") == set()
    assert recorded(unbound=f"{os.getpid()}\n", radvd=f"{ours} {ours_start}\n") == {ours}


def test_a_held_process_is_signalled_only_while_it_is_the_one_checked() -> None:
    proc = subprocess.Popen(["sleep", "300"])
    try:
        held = HeldProcess.open(proc.pid)
        assert held is not None
        assert not held.gone()
        held.signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert held.gone()
        held.signal(signal.SIGTERM)  # ended: nothing to signal, no error
        held.close()
    finally:
        proc.kill()
        proc.wait()
