"""How long a suite takes on a healthy lab and on a broken one, interleaved, medians printed.

    sudo .venv/bin/python bench/suite_timing.py --runs 5 --marker gateway --fault no-fe80-1

A broken site should give its verdict about as fast as a healthy one: probe timeouts overlap.
Runs alternate healthy / broken so both see the same machine noise. Prints figures, asserts
nothing. Uses its own lab (default name v6cb) and brings it down at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import Lab  # noqa: E402

Fault = tuple[Callable[[Lab], None], Callable[[Lab], None]]


def _bridges(action: str) -> Callable[[Lab], None]:
    def apply(lab: Lab) -> None:
        for dev in ("docker0", "br-v6net"):
            lab.in_ns("host", "ip", "-6", "addr", action, "fe80::1/64", "dev", dev)

    return apply


FAULTS: dict[str, Fault] = {"no-fe80-1": (_bridges("del"), _bridges("add"))}


def one_run(lab: Lab, marker: str) -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "suites/",
                "-q",
                "--target",
                "lab",
                "--lab-name",
                lab.name,
                "-m",
                marker,
                "--report-dir",
                out,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        suite = ET.parse(Path(out) / "junit.xml").getroot().find("testsuite")
        checks = float(suite.get("time", "nan")) if suite is not None else float("nan")
    return wall, checks, proc.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--marker", default="gateway")
    parser.add_argument("--fault", choices=sorted(FAULTS), default="no-fe80-1")
    parser.add_argument("--name", default="v6cb")
    args = parser.parse_args()
    lab = Lab(args.name)
    lab.up("healthy")
    apply, undo = FAULTS[args.fault]
    times: dict[str, list[tuple[float, float]]] = {"healthy": [], args.fault: []}
    try:
        one_run(lab, args.marker)  # warm-up: page cache, first image import
        for _ in range(args.runs):
            wall, checks, summary = one_run(lab, args.marker)
            times["healthy"].append((wall, checks))
            print(f"healthy      {wall:6.2f} s wall {checks:6.2f} s in checks  {summary}")
            apply(lab)
            try:
                wall, checks, summary = one_run(lab, args.marker)
            finally:
                undo(lab)
            times[args.fault].append((wall, checks))
            print(f"{args.fault:<12} {wall:6.2f} s wall {checks:6.2f} s in checks  {summary}")
    finally:
        lab.down(quiet=True)
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in times.items()
    }
    print(f"\nmedians over {args.runs} runs, marker {args.marker!r}:")
    for k, (w, c) in med.items():
        print(f"  {k:<12} {w:6.2f} s wall   {c:6.2f} s in checks")
    ratio = med[args.fault][1] / med["healthy"][1]
    print(f"  broken / healthy (time in checks): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
