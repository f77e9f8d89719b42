"""The host's own containers at scale: the workload checks with 1, 10 and 100 workloads, against
what a person does today, in the same run. Prints figures, asserts nothing.

    sudo .venv/bin/python bench/workload_scale.py --runs 5 --counts 1,10,100

For each count, on one lab (its own name, default v6cbw; healthy unless --scenario; brought
down at the end):
- the harness: `pytest suites/ --target lab` with only the checks that look from containers
  (GW-02, GW-03, RT-02, RC-01), `--containers compose=labwork` (the lab's workloads): wall time,
  the survey's time, peak memory of the pytest process, Docker API calls per workload (the
  difference to the run without workloads);
- the baseline: for each workload in turn, `docker exec C ping -6 -c 1 -W 1 ANCHOR` and
  `docker exec C cat /etc/resolv.conf`, as the field notes do it by hand.
Medians over --runs; harness and baseline runs alternate so both see the same machine noise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lab import Lab  # noqa: E402

CHECKS = (
    "test_container_address_and_route or test_gateway_answers or test_anchors_answer"
    " or test_container_nameservers_reachable"
)
# pytest in a child that prints its own peak memory (ru_maxrss, KiB) as the last line
PYTEST_WITH_RSS = (
    "import resource, sys, pytest\n"
    "code = pytest.main(sys.argv[1:])\n"
    "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def harness_run(lab: Lab, selector: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                PYTEST_WITH_RSS,
                "suites/",
                "-q",
                "-p",
                "no:cacheprovider",
                "--target",
                "lab",
                "--lab-name",
                lab.name,
                "--containers",
                selector,
                "-k",
                CHECKS,
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
    props = {
        p.get("name"): p.get("value", "")
        for p in (suite.iter("property") if suite is not None else [])
    }
    rss = next(
        (int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("maxrss")),
        0,
    )
    summary = [line for line in proc.stdout.splitlines() if " in " in line and "passed" in line]
    return {
        "wall": wall,
        "survey": float(props.get("survey", "nan s").split(" ")[0]),
        "rss_mib": rss / 1024,
        "api_calls": float(props.get("docker_api_calls", "nan")),
        "failed": float("failed" in (summary[-1] if summary else "failed")),
    }


def baseline_run(lab: Lab, names: list[str], anchor: str) -> float:
    started = time.monotonic()
    for name in names:
        lab.docker("exec", name, "ping", "-6", "-c", "1", "-W", "1", anchor, check=False)
        lab.docker("exec", name, "cat", "/etc/resolv.conf", check=False)
    return time.monotonic() - started


def workloads(lab: Lab, count: int) -> list[str]:
    subprocess.run(
        [sys.executable, "-m", "lab", "--name", lab.name, "workloads", "--count", str(count)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return [w["name"] for w in lab.description().get("workloads", [])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--counts", default="1,10,100")
    parser.add_argument("--name", default="v6cbw")
    parser.add_argument(
        "--scenario",
        default="healthy",
        help="the lab's scenario (default healthy); forward-drop: the anchors do not answer, so "
        "each baseline ping waits its whole second, as on a broken site",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    lab = Lab(args.name)
    rows: dict[int, dict[str, float]] = {}
    docker = "?"
    try:
        lab.up(args.scenario)
        described = lab.description()
        anchor, docker = described["anchors"][0], described.get("docker", {}).get("version", "?")
        workloads(lab, 0)
        harness_run(lab, "compose=labwork")  # warm-up: the probe image, the page cache
        bare = [harness_run(lab, "compose=labwork") for _ in range(max(1, args.runs // 2))]
        calls0 = statistics.median(r["api_calls"] for r in bare)
        for count in counts:
            names = workloads(lab, count)
            assert len(names) == count, f"lab started {len(names)} workloads, not {count}"
            runs, base = [], []
            for _ in range(args.runs):
                runs.append(harness_run(lab, "compose=labwork"))
                base.append(baseline_run(lab, names, anchor))
                print(
                    f"{count:>4} workloads: harness {runs[-1]['wall']:6.2f} s wall "
                    f"(survey {runs[-1]['survey']:5.2f} s, {runs[-1]['rss_mib']:5.0f} MiB)  "
                    f"baseline {base[-1]:6.2f} s",
                    flush=True,
                )
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            med["baseline"] = statistics.median(base)
            med["calls_per_workload"] = (med["api_calls"] - calls0) / count
            rows[count] = med
    finally:
        lab.down(quiet=True)
    print(f"\nmedians over {args.runs} runs (lab {args.name}, {args.scenario}, Docker {docker}):")
    print(
        f"{'workloads':>10} {'harness wall':>13} {'survey':>8} {'peak MiB':>9} "
        f"{'API calls/w':>12} {'baseline':>9} {'speed-up':>9}"
    )
    for count, m in rows.items():
        print(
            f"{count:>10} {m['wall']:>11.2f} s {m['survey']:>6.2f} s {m['rss_mib']:>9.0f} "
            f"{m['calls_per_workload']:>12.2f} {m['baseline']:>7.2f} s "
            f"{m['baseline'] / m['wall']:>8.1f}×"
        )
    if len(rows) > 1:
        first, last = min(rows), max(rows)
        wall = rows[last]["wall"] / rows[first]["wall"]
        memory = rows[last]["rss_mib"] / rows[first]["rss_mib"]
        print(f"\n{last} workloads / {first}: {wall:.2f}× the wall time, {memory:.2f}× peak memory")
    print(json.dumps({str(k): v for k, v in rows.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
