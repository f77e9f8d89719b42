"""How long a suite takes on a healthy lab and on a broken one, interleaved, medians printed.

    sudo .venv/bin/python bench/suite_timing.py --runs 5 --marker gateway --fault no-fe80-1
    sudo .venv/bin/python bench/suite_timing.py --runs 5 --marker routing --scenario unrouted-prefix
    sudo .venv/bin/python bench/suite_timing.py --runs 5 --marker dns --fault dns-silent
    sudo .venv/bin/python bench/suite_timing.py --runs 5 --scenarios all   # the whole matrix

A broken site should give its verdict about as fast as a healthy one: probe timeouts overlap.
Runs alternate healthy / broken so both see the same machine noise. The broken side is either a
fault applied to the healthy lab for one run (--fault) or a second lab in a broken scenario
(--scenario), up beside the healthy one. Prints figures, asserts nothing. Uses its own labs
(default names v6cb, v6cb2) and brings them down at the end.
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

from lab import SCENARIOS, Lab  # noqa: E402
from probes.router_solicit import RA_ANSWER_BOUND  # noqa: E402

Fault = tuple[Callable[[Lab], None], Callable[[Lab], None]]


def _bridges(action: str) -> Callable[[Lab], None]:
    def apply(lab: Lab) -> None:
        for dev in ("docker0", "br-v6net"):
            lab.in_ns("host", "ip", "-6", "addr", action, "fe80::1/64", "dev", dev)

    return apply


def _silent_dns(action: str) -> Callable[[Lab], None]:
    """The lab's DNS server drops every query to its IPv6 address: a silent server, the worst
    case for a resolver (it waits its whole timeout, where a refusal comes back at once)."""

    def apply(lab: Lab) -> None:
        for proto in ("udp", "tcp"):
            lab.in_ns(
                "inet", "ip6tables", action, "INPUT", "-p", proto, "--dport", "53", "-j", "DROP"
            )

    return apply


FAULTS: dict[str, Fault] = {
    "no-fe80-1": (_bridges("del"), _bridges("add")),
    "dns-silent": (_silent_dns("-I"), _silent_dns("-D")),
}


def one_run(lab: Lab, marker: str) -> tuple[float, float, str, str]:
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
                *(["-m", marker] if marker else []),
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
        survey = next(
            (
                p.get("value", "")
                for p in (suite.iter("property") if suite is not None else [])
                if p.get("name") == "survey"
            ),
            "",
        )
    return wall, checks, proc.stdout.strip().splitlines()[-1], survey


def matrix(args: argparse.Namespace) -> int:
    """Every broken scenario against the healthy lab, all checks, runs interleaved."""
    names = sorted(
        n for n, sc in SCENARIOS.items() if n != "healthy" and args.docker in sc.generations
    )
    if args.scenarios != "all":
        names = [n for n in args.scenarios.split(",") if n]
    lab, other = Lab(args.name), Lab(args.name + "2")
    rows: list[tuple[str, float, float]] = []
    where: list[str] = []
    try:
        lab.up("healthy", args.docker)
        one_run(lab, args.marker)  # warm-up
        for name in names:
            other.up(name, args.docker)
            one_run(other, args.marker)
            healthy, broken = [], []
            for _ in range(args.runs):
                wall, _, _, survey = one_run(lab, args.marker)
                healthy.append(wall)
                where.append(survey)
                broken.append(one_run(other, args.marker)[0])
            rows.append((name, statistics.median(healthy), statistics.median(broken)))
            h, b = rows[-1][1:]
            print(
                f"{name:<18} healthy {h:6.2f} s  broken {b:6.2f} s  ratio {b / h:5.2f}", flush=True
            )
            other.down(quiet=True)
    finally:
        lab.down(quiet=True)
        other.down(quiet=True)
    print(f"\nmedians over {args.runs} interleaved runs, all checks, Docker {args.docker}:")
    print(f"{'scenario':<18} {'healthy':>9} {'broken':>9} {'ratio':>6} {'excess':>8}")
    for name, h, b in rows:
        print(f"{name:<18} {h:>7.2f} s {b:>7.2f} s {b / h:>6.2f} {b - h:>+6.2f} s")
    print(
        f"longest single probe deadline: {RA_ANSWER_BOUND:.1f} s (the RA window with no router);"
        " a broken run should stay within healthy + that"
    )
    if where:
        print("where a healthy run's time goes (its survey, last run):\n  " + where[-1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--marker", default="gateway")
    broken = parser.add_mutually_exclusive_group()
    broken.add_argument("--fault", choices=sorted(FAULTS), help="default: no-fe80-1")
    broken.add_argument("--scenario", choices=sorted(s for s in SCENARIOS if s != "healthy"))
    parser.add_argument("--name", default="v6cb")
    parser.add_argument(
        "--scenarios",
        help="all, or a comma-separated list: every broken scenario against the healthy lab, "
        "all checks (with --marker: those), the ratio printed for each",
    )
    parser.add_argument("--docker", default="20.10", help="with --scenarios: the generation")
    args = parser.parse_args()
    if args.scenarios:
        if args.marker == "gateway":
            args.marker = ""
        return matrix(args)
    label = args.scenario or args.fault or "no-fe80-1"
    lab = Lab(args.name)
    other = Lab(args.name + "2") if args.scenario else None
    nothing: Fault = (lambda _: None, lambda _: None)
    apply, undo = nothing if args.scenario else FAULTS[label]
    times: dict[str, list[tuple[float, float]]] = {"healthy": [], label: []}
    try:
        lab.up("healthy")
        if other is not None:
            other.up(args.scenario)
        broken_lab = other or lab
        one_run(lab, args.marker)  # warm-up: page cache, first image import
        one_run(broken_lab, args.marker)
        for _ in range(args.runs):
            wall, checks, summary, _ = one_run(lab, args.marker)
            times["healthy"].append((wall, checks))
            print(f"{'healthy':<16} {wall:6.2f} s wall {checks:6.2f} s in checks  {summary}")
            apply(broken_lab)
            try:
                wall, checks, summary, _ = one_run(broken_lab, args.marker)
            finally:
                undo(broken_lab)
            times[label].append((wall, checks))
            print(f"{label:<16} {wall:6.2f} s wall {checks:6.2f} s in checks  {summary}")
    finally:
        lab.down(quiet=True)
        if other is not None:
            other.down(quiet=True)
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in times.items()
    }
    print(f"\nmedians over {args.runs} runs, marker {args.marker!r}:")
    for k, (w, c) in med.items():
        print(f"  {k:<16} {w:6.2f} s wall   {c:6.2f} s in checks")
    ratio = med[label][1] / med["healthy"][1]
    print(f"  broken / healthy (time in checks): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
