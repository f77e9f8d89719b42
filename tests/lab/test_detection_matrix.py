"""The detection matrix: every lab scenario fails exactly the checks it must, among those the
suites implement so far. It grows as checks are added."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import SCENARIOS
from lab.dockers import GENERATIONS
from tests.lab.suite_run import run_suites
from tests.report_reading import assert_reports_hold

pytestmark = pytest.mark.lab


CASES = [
    pytest.param(name, gen, id=f"{name}@{gen}")
    for gen in GENERATIONS
    for name in sorted(SCENARIOS)
    if gen in SCENARIOS[name].generations
]


@pytest.mark.parametrize(("scenario", "docker"), CASES)
def test_scenario_fails_exactly_its_checks(scenario: str, docker: str, tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--lab", scenario, "--docker", docker, "--lab-name", "v6cmx")
    assert run.cases, f"no check ran:\n{run.output[-3000:]}"
    implemented = run.checks()
    errors = [c.name for c in run.cases if c.outcome == "error"]
    assert not errors, f"harness errors (not verdicts): {errors}\n{run.output[-3000:]}"
    expected = set(SCENARIOS[scenario].expected_on(docker)) & implemented
    assert run.failed_checks() == expected, run.output[-4000:]
    assert run.returncode == (1 if expected else 0)
    # each item carries its check and the target it ran against; the HTML has the verdict,
    # and each failure its evidence, fix and path picture
    assert_reports_hold(tmp_path, f"lab:v6cmx/{scenario}")
    # `--lab` tears its lab down
    assert not Path("/run/netns/v6cmx-host").exists()
