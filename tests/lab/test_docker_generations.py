"""The lab's Docker generations: each runs the real docker.io of its Debian release, chrooted
into a cached root that no lab changes, and comes down leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.suite_run import ROOT
from lab import Lab, LabError
from lab.dockers import GENERATIONS
from tests.lab.names import lab_name
from tests.lab.test_lab_lifecycle import assert_nothing_left, lab_cli

pytestmark = pytest.mark.lab
NAME = lab_name("v6cgen")


@pytest.mark.parametrize("generation", [g for g, gen in GENERATIONS.items() if gen.suite])
def test_generation_runs_its_own_docker(generation: str) -> None:
    gen = GENERATIONS[generation]
    lab = Lab(NAME)
    described = lab.up("healthy", generation)
    try:
        docker = described["docker"]
        assert docker["generation"] == generation
        # sid moves on: the version is reported as got, and only a different major gets a note
        major = int(docker["version"].split(".")[0])
        assert (docker["note"] is None) == (major == gen.expected_major), docker
        assert docker["root"] == str(gen.root)
        # the containers' dockerd is the root's, not this machine's
        pid = int((lab.state / "dockerd.pid").read_text())
        # (compared as files: where the tests themselves run in a chroot, the kernel names the
        # root by its path outside)
        assert os.path.samefile(f"/proc/{pid}/root", str(gen.root))
        nets = described["host"]["networks"]
        assert nets["v6net"]["subnet6"] == "2001:db8:1:1::/64"
        assert nets["bridge"]["subnet6"] == "2001:db8:1::/64"
    finally:
        lab.down()
    assert_nothing_left(lab)
    # every mount was made in the lab's private mount namespace: none shows here, and the
    # shared root holds nothing of the lab
    assert str(gen.root) not in Path("/proc/self/mountinfo").read_text()
    assert not (gen.root / str(lab.state).lstrip("/")).exists()


def test_describe_and_scenarios_say_the_generation() -> None:
    listing = lab_cli("scenarios")
    assert listing.returncode == 0
    assert "nat66" in listing.stdout
    assert "(Docker 26, 28, 29)" in listing.stdout
    wrong = lab_cli("up", "--scenario", "nat66", "--docker", "20.10")
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines()[-1].startswith("lab: error: scenario nat66 needs")
    assert "--docker 28" in wrong.stderr
    unknown = lab_cli("up", "--docker", "27")
    assert unknown.returncode == 2
    assert "invalid choice: '27'" in unknown.stderr


def test_unknown_generation_is_one_line() -> None:
    with pytest.raises(LabError, match=r"unknown Docker generation '27'; the lab runs 20\.10"):
        Lab(NAME).up("healthy", "27")


def test_a_root_that_cannot_be_made_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    """An unreachable archive: one line naming the step and what to do; no partial root."""
    env = {
        **os.environ,
        "V6CONFORM_DOCKER_ROOTS": str(tmp_path / "roots"),
        # the discard port on loopback: refused at once, nothing leaves the machine
        "V6CONFORM_DEBIAN_MIRROR": "http://127.0.0.1:9/debian",
    }
    code = "from lab import dockers; dockers.ensure_root(dockers.generation('26'))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "RootError: making the Debian 13 trixie root for Docker 26 failed at debootstrap" in last
    assert "V6CONFORM_DEBIAN_MIRROR" in last
    left = sorted(p.name for p in (tmp_path / "roots").iterdir())
    assert left == ["trixie.lock"], left
