"""With a lab up, as a user makes them: the mistakes stop the run in one line (exit 3, nothing
probed), and every rerun line a report prints runs that item again against the lab, not this
machine (tests/test_hints_and_mistakes.py has the same without a lab)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import ROOT, lab_up, run_suites
from lab import Lab
from tests.lab.names import lab_name
from tests.test_hints_and_mistakes import one_line

pytestmark = pytest.mark.lab

NAME = lab_name("v6chn")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as up:
        # two workloads: work-0-noroute fails GW-02 (a failure to rerun), work-1 is healthy
        up.replace_workloads(2, broken_route=1)
        yield up


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--containers", "nosuch-web,work-1"],
            "--containers nosuch-web,work-1: no running container is called nosuch-web (`docker"
            f" -H unix:///var/lib/v6conform-lab/{NAME}/docker.sock ps` lists them)",
        ),
        (["--containers", "label=nosuch"], "no running container has the label nosuch"),
        (["--uplink", "eth0"], "--uplink eth0 names the uplink of a real host"),
    ],
)
def test_mistakes_stop_before_probing(lab: Lab, tmp_path: Path, args: list[str], said: str) -> None:
    run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, *args)
    assert run.returncode == 3
    assert said in one_line(run.output)
    assert run.cases == [] or all(c.outcome == "error" for c in run.cases)  # nothing judged


def test_a_rerun_line_runs_that_item_again_on_the_lab(lab: Lab, tmp_path: Path) -> None:
    first = tmp_path / "first"
    run = run_suites(first, "--target", "lab", "--lab-name", NAME, "-m", "gateway")
    assert run.returncode == 1, run.output[-3000:]
    (failed,) = [c for c in run.cases if c.outcome == "failed"]
    again = failed.properties["rerun"]
    assert again.startswith(f"pytest --target lab --lab-name {NAME} 'suites/test_gateway.py::")
    assert f"run it again: {again}" in failed.text  # JUnit's failure text, the terminal's too
    assert f"run it again: {again}" in run.output
    causes = run.results()["causes"]
    assert [c["rerun"] for c in causes] == [again]
    # pasted as it is (pytest being this interpreter's), it runs that one item, on the lab
    words = shlex.split(again)
    assert words[0] == "pytest"
    second = tmp_path / "second"
    rerun = subprocess.run(
        [sys.executable, "-m", "pytest", "--report-dir", str(second), *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 1, rerun.stdout[-3000:]
    doc = json.loads((second / "results.json").read_text())
    assert [(i["rerun"], i["outcome"]) for i in doc["items"]] == [(again, "failed")]
    assert doc["properties"]["target"] == f"lab:{NAME}/healthy"


def test_a_lab_runs_rerun_line_brings_the_same_lab_up(tmp_path: Path) -> None:
    """A --lab run's lines carry its scenario, name and Docker: the lab it made is gone."""
    Lab(NAME).down()
    run = run_suites(tmp_path, "--lab", "healthy", "--lab-name", NAME, "-m", "gateway")
    assert run.returncode == 0, run.output[-3000:]
    reruns = {i["rerun"] for i in run.results()["items"]}
    assert reruns
    assert all(
        r.startswith(f"pytest --lab healthy --lab-name {NAME} --docker 20.10 'suites/")
        for r in reruns
    ), reruns
    assert not Lab(NAME).exists()  # --lab tears down what it brought up
