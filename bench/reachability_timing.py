"""When the routing checks' echoes are done, against a baseline checkout, on a lab that is up.

    .venv/bin/python -m lab --name v6cb up --scenario forward-drop --docker 28
    sudo .venv/bin/python bench/reachability_timing.py --lab-name v6cb --baseline ../main --runs 5

Runs ``pytest suites/ -m routing --target lab`` from this checkout and from the baseline's
(another worktree: its own code), alternating, so both see the same machine noise. Prints the
medians of: the survey part ``reachability``'s end (every echo of RT-02, RT-03, RT-05 done,
seconds from the survey's start), the part ``ruleset``'s end (the firewall read), the survey's
length, and the run's wall time; and whether every run of both gave the same outcome for each
item (the verdicts must not change). Asserts nothing; the lab is the caller's.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PART = re.compile(r"(\w+) ([\d.]+)–([\d.]+) s")


def one_run(checkout: Path, lab: str, marker: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="v6c-bench-") as out:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "pytest", "suites/", "--target", "lab", "--lab-name", lab,
             "-m", marker, "--report-dir", out, "-q", "-p", "no:cacheprovider"],
            cwd=checkout, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
        doc = json.loads((Path(out) / "results.json").read_text())
    survey = doc["properties"].get("survey", "")
    ends = {name: float(end) for name, _, end in PART.findall(survey)}
    return {
        "wall": wall,
        "survey": float(survey.split(" s:")[0]) if " s:" in survey else float("nan"),
        "reachability": ends.get("reachability", float("nan")),
        "ruleset": ends.get("ruleset", float("nan")),
        "verdicts": tuple(sorted((i["nodeid"], i["outcome"]) for i in doc["items"])),
        "exit": doc["exit_status"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab-name", required=True, help="a lab that is up (python -m lab up)")
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to compare")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--marker", default="routing")
    args = parser.parse_args()
    sides = {"baseline": args.baseline.resolve(), "this": ROOT}
    runs: dict[str, list[dict[str, object]]] = {side: [] for side in sides}
    for _ in range(args.runs):
        for side, checkout in sides.items():
            runs[side].append(one_run(checkout, args.lab_name, args.marker))
    print(f"lab {args.lab_name}, -m {args.marker}, medians of {args.runs} runs (s)")
    print(f"{'':10} {'reachability':>12} {'ruleset':>8} {'survey':>7} {'wall':>6}  exit")
    for side, found in runs.items():
        cells = [
            statistics.median(float(r[k]) for r in found)  # type: ignore[arg-type]
            for k in ("reachability", "ruleset", "survey", "wall")
        ]
        exits = sorted({int(r["exit"]) for r in found})  # type: ignore[call-overload]
        print(
            f"{side:10} {cells[0]:12.2f} {cells[1]:8.2f} {cells[2]:7.2f} {cells[3]:6.2f}  {exits}"
        )
    verdicts = {r["verdicts"] for found in runs.values() for r in found}
    print(f"verdicts: {'the same in every run' if len(verdicts) == 1 else 'DIFFER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
