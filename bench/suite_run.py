"""Run the suites the way a user does (a pytest subprocess) and read back the JUnit verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import Lab
from lab.dockers import DEFAULT

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def lab_up(name: str, scenario: str = "healthy", docker: str = DEFAULT) -> Iterator[Lab]:
    """A lab of this name, up for the block and down afterwards whatever happens."""
    lab = Lab(name)
    lab.up(scenario, docker)
    try:
        yield lab
    finally:
        lab.down()


@dataclass(frozen=True)
class Case:
    name: str  # as the JUnit file names it: "GW-03 gateway answers [v6net/v6conform-…]"
    item: str  # pytest's name of the item: "test_gateway_answers[v6net]"
    check: str | None
    outcome: str  # passed, failed, error, skipped
    text: str
    properties: dict[str, str]


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    cases: list[Case]
    report_dir: Path

    def failed_checks(self) -> set[str]:
        return {c.check for c in self.cases if c.outcome in ("failed", "error") and c.check}

    def checks(self) -> set[str]:
        return {c.check for c in self.cases if c.check}

    def by_check(self, check: str) -> list[Case]:
        return [c for c in self.cases if c.check == check]

    def results(self) -> dict[str, Any]:
        """The run's results.json: every item, and the causes the report leads with."""
        return json.loads((self.report_dir / "results.json").read_text())

    def cause_checks(self) -> list[str]:
        """The check of each cause, in the report's order."""
        return [c["check"] for c in self.results()["causes"]]


def suites_command(report_dir: Path, *args: str) -> list[str]:
    """`pytest suites/` as a user runs it, writing its reports to ``report_dir``."""
    return [sys.executable, "-m", "pytest", "suites/", "--report-dir", str(report_dir), *args]


def lab_command(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m lab --name NAME ARGS…`, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lab", "--name", name, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_suites(report_dir: Path, *args: str, timeout: float = 600) -> SuiteRun:
    cmd = suites_command(report_dir, *args)
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    junit = report_dir / "junit.xml"
    cases = _parse(junit) if junit.exists() else []
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, cases, report_dir)


def _parse(path: Path) -> list[Case]:
    cases = []
    for tc in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        outcome, text = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = tc.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                text = (node.get("message") or "") + "\n" + (node.text or "")
                break
        name = tc.get("name", "")
        item = props["nodeid"].split("::")[-1] if "nodeid" in props else name
        cases.append(Case(name, item, props.get("check"), outcome, text, props))
    return cases
