"""Figures for the verdict contract: consecutive full healthy runs (none may fail), and a run
whose dockerd is killed midway (it must exit 3 and say so in one line). What a killed run leaves
is removed by the next run: tests/lab/test_kill9_cleanup.py holds that.

    sudo .venv/bin/python bench/verdict_figures.py --runs 20
    sudo .venv/bin/python bench/verdict_figures.py --runs 20 --docker 28

Prints figures, asserts nothing. Uses its own lab (default name v6cvf) and brings it down.
(The DNS probe's fuzz figures: bench/fuzz_dns.py.)
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.suite_run import SuiteRun, run_suites, suites_command  # noqa: E402
from lab import Lab  # noqa: E402
from lab.dockers import GENERATIONS  # noqa: E402


def healthy_runs(lab: Lab, runs: int) -> None:
    statuses: collections.Counter[int] = collections.Counter()
    bad: list[str] = []
    took = []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as out:
            started = time.monotonic()
            run: SuiteRun = run_suites(Path(out), "--target", "lab", "--lab-name", lab.name)
            took.append(time.monotonic() - started)
        statuses[run.returncode] += 1
        bad += [
            f"run {i + 1}: {c.name}: {c.outcome}"
            for c in run.cases
            if c.outcome in ("failed", "error")
        ]
    median = statistics.median(took)
    print(
        f"{runs} consecutive full healthy runs: exit statuses {dict(statuses)}; "
        f"failed or errored items: {len(bad)}; median {median:.1f} s a run"
    )
    for line in bad[:20]:
        print(f"  {line}")


def killed_dockerd(lab: Lab) -> None:
    with tempfile.TemporaryDirectory() as out:
        cmd = suites_command(Path(out), "--target", "lab", "--lab-name", lab.name)
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and not lab.docker(
                "ps", "-q", "--filter", "label=io.v6conform=probe", check=False
            ).split()
        ):
            time.sleep(0.05)
        os.kill(int((lab.state / "dockerd.pid").read_text()), signal.SIGKILL)
        killed_at = time.monotonic()
        output, _ = proc.communicate(timeout=600)
        ended = time.monotonic() - killed_at
    # what the run says it could not do: the lines under its "could not run everything" rule
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if "could not run everything" in line), None)
    said = []
    for line in lines[start + 1 :] if start is not None else []:
        if line.startswith(("---", "===")):
            break
        said.append(line)
    print(
        f"dockerd killed once probe containers ran: exit status {proc.returncode}, "
        f"{ended:.1f} s later; the run's own account ({len(said)} line(s)):"
    )
    for line in said[:5]:
        print(f"  {line[:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--docker", default="20.10", choices=GENERATIONS)
    parser.add_argument("--lab-name", default="v6cvf")
    args = parser.parse_args()
    lab = Lab(args.lab_name)
    try:
        lab.up("healthy", args.docker)
        if args.runs:
            healthy_runs(lab, args.runs)
        killed_dockerd(lab)
    finally:
        lab.down(quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
