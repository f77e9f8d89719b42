"""Probe containers go away when a run is interrupted (SIGTERM, Ctrl-C), not only when it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from tests.lab.suite_run import ROOT

pytestmark = pytest.mark.lab
NAME = "v6cint"
# a plugin that holds the first check long enough to interrupt it
STALL = "import time\n\ndef pytest_runtest_call(item):\n    time.sleep(60)\n"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = Lab(NAME)
    lab.up("healthy")
    try:
        yield lab
    finally:
        lab.down()


def probe_containers(lab: Lab) -> list[str]:
    out = lab.docker("ps", "-aq", "--filter", "label=io.v6conform=probe")
    return out.split()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_run_removes_its_containers(
    lab: Lab, tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / "v6c_stall.py").write_text(STALL)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/",
            "--target",
            "lab",
            "--lab-name",
            NAME,
            "--report-dir",
            str(tmp_path / "out"),
            "-p",
            "v6c_stall",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not probe_containers(lab):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "probe containers never appeared"
            time.sleep(0.2)
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, output  # pytest's "interrupted"
    assert probe_containers(lab) == [], output
    assert "v6conform-probe" not in lab.docker("images", "--format", "{{.Repository}}")
