"""What each Docker generation of the lab costs: bringing the lab up, the whole suite against it,
and bringing it down, in seconds; medians of several runs, the generations interleaved so that
each sees the same machine noise.

    sudo .venv/bin/python bench/generation_cost.py --runs 3
    sudo .venv/bin/python bench/generation_cost.py --runs 5 --scenario nat66 --docker 26 28

A root not yet made is made first and its making is timed once, apart (it is cached after).
Prints figures, asserts nothing. Uses its own lab (default name v6cgc) and brings it down.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import SCENARIOS, Lab  # noqa: E402
from lab.dockers import GENERATIONS, READY, ensure_root  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per generation (default 3)")
    parser.add_argument("--scenario", default="healthy", choices=sorted(SCENARIOS))
    parser.add_argument("--docker", nargs="+", default=list(GENERATIONS), choices=GENERATIONS)
    parser.add_argument("--lab-name", default="v6cgc")
    args = parser.parse_args()
    wanted = [g for g in args.docker if g in SCENARIOS[args.scenario].generations]
    for name in wanted:
        gen = GENERATIONS[name]
        if gen.root is not None and not (gen.root / READY).exists():
            started = time.monotonic()
            ensure_root(gen)
            print(f"Docker {name}: root made once in {time.monotonic() - started:.1f} s")
    times: dict[str, dict[str, list[float]]] = {
        g: {"up": [], "suite": [], "down": []} for g in wanted
    }
    lab = Lab(args.lab_name)
    try:
        for _ in range(args.runs):
            for name in wanted:
                started = time.monotonic()
                lab.up(args.scenario, name)
                up = time.monotonic()
                with tempfile.TemporaryDirectory() as out:
                    subprocess.run(
                        [sys.executable, "-m", "pytest", "suites/", "-q", "--target", "lab",
                         "--lab-name", args.lab_name, "--report-dir", out],
                        cwd=ROOT, capture_output=True, check=False,
                    )  # fmt: skip
                suite = time.monotonic()
                lab.down(quiet=True)
                down = time.monotonic()
                times[name]["up"].append(up - started)
                times[name]["suite"].append(suite - up)
                times[name]["down"].append(down - suite)
    finally:
        lab.down(quiet=True)
    print(f"scenario {args.scenario}, medians of {args.runs} runs (s):")
    print(f"{'Docker':<8}{'up':>8}{'suite':>8}{'down':>8}{'total':>8}")
    for name, t in times.items():
        med = {k: statistics.median(v) for k, v in t.items()}
        total = sum(med.values())
        print(f"{name:<8}{med['up']:>8.1f}{med['suite']:>8.1f}{med['down']:>8.1f}{total:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
