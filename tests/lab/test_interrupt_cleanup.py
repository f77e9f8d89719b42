"""Probe containers go away when a run is interrupted (SIGTERM, Ctrl-C), not only when it ends."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.suite_run import ROOT, lab_up, run_suites, suites_command
from lab import Lab
from probes import build
from probes.docker import DockerEndpoint, probe_image, probe_rootfs_tar
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cint")
# a plugin that holds the first check with probe containers long enough to interrupt it, and
# says when it does (its path in V6C_STALLED): the signal then comes at a known point, once the
# survey is done (a run that took its time to start was signalled mid-survey, one that did not,
# between checks)
STALL = (
    "import os, pathlib, time\n\n"
    "def pytest_runtest_call(item):\n"
    "    if 'site' in item.fixturenames:\n"
    "        pathlib.Path(os.environ['V6C_STALLED']).touch()\n"
    "        time.sleep(60)\n"
)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def probe_containers(lab: Lab) -> list[str]:
    out = lab.docker("ps", "-aq", "--filter", "label=io.v6conform=probe")
    return out.split()


@contextlib.contextmanager
def running(cmd: list[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """A process the test signals, its output on one pipe: killed if it is still running at the
    end, its pipe closed (else a failed wait leaks it into a later test's warnings)."""
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# how the run was started: as from a terminal, or as a shell script's background job
# (`v6conform &`), which starts with SIGINT ignored (a SIGTERM relayed as SIGINT was lost then)
STARTED = {"foreground": signal.SIG_DFL, "background": signal.SIG_IGN}


@pytest.mark.parametrize("started", STARTED)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_run_removes_its_containers(
    lab: Lab, tmp_path: Path, sig: signal.Signals, started: str
) -> None:
    (tmp_path / "v6c_stall.py").write_text(STALL)
    stalled = tmp_path / "stalled"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "V6C_STALLED": str(stalled)}
    cmd = suites_command(tmp_path / "out", "--target", "lab", "--lab-name", NAME, "-p", "v6c_stall")
    signal_as_started = functools.partial(signal.signal, signal.SIGINT, STARTED[started])
    with running(cmd, env=env, preexec_fn=signal_as_started) as proc:
        deadline = time.monotonic() + 60
        while not stalled.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "no check with probe containers ever ran"
            time.sleep(0.05)
        assert probe_containers(lab), "the check runs without its probe containers"
        proc.send_signal(sig)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            pytest.fail(f"the run went on for 60 s after {sig.name}:\n{output}")
    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert probe_containers(lab) == [], output
    assert leftovers(lab) == ([], []), output  # nor the builds' containers and images
    assert "v6conform-probe" not in lab.docker("images", "--format", "{{.Repository}}")


@pytest.mark.parametrize("after", [0.2, 1.5])
def test_a_run_interrupted_while_its_lab_comes_up_takes_it_down(
    tmp_path: Path, after: float
) -> None:
    """SIGTERM while `--lab` brings the lab up (namespaces made, daemons starting): the run
    ends as interrupted and leaves no lab behind."""
    name = lab_name("v6cint2")
    cmd = suites_command(tmp_path / "out", "--lab", "healthy", "--lab-name", name, "-m", "gateway")
    try:
        with running(cmd) as proc:
            deadline = time.monotonic() + 60
            while not Lab(name).exists():
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the lab never started to come up"
                time.sleep(0.02)
            time.sleep(after)
            assert proc.poll() is None, "the run ended before the signal: nothing was interrupted"
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
    finally:
        left = Lab(name).exists()
        Lab(name).down(quiet=True)
    assert proc.returncode == 2, output
    assert not left, output
    assert name not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


@pytest.mark.parametrize("via", ["run", "cli"])
def test_a_signal_while_the_lab_comes_down_lets_it_finish(tmp_path: Path, via: str) -> None:
    """SIGTERM while a lab comes down (a run's `--lab`, `python -m lab down`): the down goes on
    to its end (cut short, it left the lab behind) and a run keeps its verdict."""
    name = lab_name("v6cint3")
    if via == "run":
        cmd = suites_command(
            tmp_path / "out", "--lab", "healthy", "--lab-name", name, "-m", "gateway"
        )
    else:
        Lab(name).up()
        cmd = [sys.executable, "-m", "lab", "--name", name, "down"]
    lines: list[str] = []
    try:
        with running(cmd) as proc:
            read = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
            read.start()
            deadline = time.monotonic() + 120
            while not any(f"bringing lab {name!r} down" in line for line in lines):
                assert proc.poll() is None or read.is_alive(), "".join(lines)
                assert time.monotonic() < deadline, "the run never took its lab down"
                time.sleep(0.02)
            time.sleep(0.2)  # into the down: its daemons are given their time to stop
            assert proc.poll() is None, "the down was over before the signal"
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            read.join(timeout=10)
    finally:
        left = Lab(name).exists()
        Lab(name).down(quiet=True)
    output = "".join(lines)
    assert proc.returncode == 0, output  # the healthy lab's verdict, or down's success
    assert f"SIGTERM: bringing lab {name!r} down first" in output
    assert not left, output


def leftovers(lab: Lab, run: str | None = None) -> tuple[list[str], list[str]]:
    """What carries the harness's label (of one run): containers, and images (intermediate
    ones too)."""
    label = f"label=io.v6conform.run={run}" if run else "label=io.v6conform"
    containers = lab.docker("ps", "-aq", "--filter", label).split()
    images = lab.docker("images", "-aq", "--filter", label).split()
    return containers, images


@pytest.mark.parametrize("after", [0.05, 0.3, 0.6])
@pytest.mark.parametrize("builder", build.BUILDERS)
def test_a_build_cancelled_mid_way_leaves_nothing(
    lab: Lab, after: float, builder: build.Builder
) -> None:
    """A daemon goes on with a build whose client is gone, and tags its image after the client
    cleaned up: a cancelled run waits for the build's end, then removes what it made."""

    async def cancelled_build() -> None:
        names = ("www.lab.example",)
        async with DockerEndpoint(lab.docker_host) as endpoint, probe_image(endpoint, "cancel01"):
            run = build.build_and_report(endpoint, builder, names, run_id="cancel01")
            task = asyncio.create_task(run)
            await asyncio.sleep(after)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(cancelled_build())
    time.sleep(1.0)  # what a daemon finishing the build on its own would tag meanwhile
    assert leftovers(lab, "cancel01") == ([], [])


def test_run_removes_stale_probe_containers_and_build_images_of_dead_runs(
    lab: Lab, tmp_path: Path
) -> None:
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(probe_rootfs_tar())
    lab.docker("import", str(rootfs), "v6conform-probe:busybox")
    try:
        # a container left by a run whose process is gone (pid 0 is never a live run)
        stale = lab.docker(
            "run",
            "-d",
            "--label",
            "io.v6conform=probe",
            "--label",
            "io.v6conform.pid=0",
            "v6conform-probe:busybox",
            "/bin/busybox",
            "sleep",
            "300",
        ).strip()
        # a build image of a dead run, too
        lab.docker(
            "import",
            "--change",
            "LABEL io.v6conform=build io.v6conform.pid=0",
            str(rootfs),
            "v6conform-build:stale",
        )
        # and one that is not ours: never touched
        other = lab.docker(
            "run", "-d", "v6conform-probe:busybox", "/bin/busybox", "sleep", "300"
        ).strip()
        run = run_suites(tmp_path / "out", "--target", "lab", "--lab-name", NAME, "-m", "gateway")
        assert run.returncode == 0, run.output
        remaining = lab.docker("ps", "-aq", "--no-trunc").split()
        assert stale not in remaining
        assert other in remaining
        assert "v6conform-build" not in lab.docker("images", "--format", "{{.Repository}}")
        # the run did not import the image, so it leaves it in place
        assert "v6conform-probe" in lab.docker("images", "--format", "{{.Repository}}")
    finally:
        lab.docker("rm", "-f", *lab.docker("ps", "-aq").split(), check=False)
        lab.docker("rmi", "v6conform-probe:busybox", "v6conform-build:stale", check=False)
