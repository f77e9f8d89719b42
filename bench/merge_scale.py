"""How long `v6conform merge` takes over a fleet, and how much memory it holds.

From one real results.json (a lab run's: `make lab` writes reports/out/results.json), N host
results are made (the host renamed, every tenth host with its first passing item failed, so
the page has failures to show), written to a temporary directory, then merged in a fresh Python
process each run: wall time and the process's peak RSS, medians of several runs, beside the
baseline of that process only reading and parsing every file (what any merge must pay).

    .venv/bin/python bench/merge_scale.py [--runs 3] [--hosts 100,1000] [--from results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MERGE = """
import resource, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from reports.merge import merge
paths = [Path(p) for p in sys.argv[2:]]
t = time.monotonic()
merge(paths, Path(sys.argv[1]))
took = time.monotonic() - t
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
READ = """
import json, resource, sys, time
t = time.monotonic()
data = [json.loads(open(p, 'rb').read()) for p in sys.argv[2:]]
took = time.monotonic() - t
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_fleet(source: Path, where: Path, hosts: int) -> list[Path]:
    base = json.loads(source.read_text())
    paths = []
    for n in range(hosts):
        data = json.loads(json.dumps(base))
        name = f"docker-{n:04d}.fleet.example"
        data["properties"]["host"] = name
        if n % 10 == 0:
            for item in data["items"]:
                if item["outcome"] == "passed":
                    item["outcome"] = "failed"
                    item["diagnoses"] = [
                        {"summary": "made to fail by the benchmark", "evidence": ["synthetic"]}
                    ]
                    data["exit_status"] = 1
                    break
        path = where / name / "results.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


def run(script: str, out: Path, paths: list[Path]) -> tuple[float, float]:
    argv = [sys.executable, "-c", script.format(root=str(ROOT)), str(out), *map(str, paths)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    took, rss_kib = done.stdout.split()
    return float(took), float(rss_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hosts", default="100,1000")
    parser.add_argument(
        "--from", dest="source", type=Path, default=ROOT / "reports/out/results.json"
    )
    args = parser.parse_args()
    if not args.source.is_file():
        sys.exit(f"{args.source}: no results.json to start from (run `make lab` first)")
    items = len(json.loads(args.source.read_text())["items"])
    print(f"from {args.source} ({items} items a host), medians of {args.runs} runs")
    for hosts in (int(h) for h in args.hosts.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_fleet(args.source, Path(tmp) / "in", hosts)
            merged, read = [], []
            for i in range(args.runs):  # interleaved: the baseline sees the same machine
                read.append(run(READ, Path(tmp) / f"r{i}", paths))
                merged.append(run(MERGE, Path(tmp) / f"out{i}", paths))
            size = sum(
                (Path(tmp) / "out0" / f).stat().st_size for f in ("junit.xml", "report.html")
            )
        t = statistics.median(m[0] for m in merged)
        rss = statistics.median(m[1] for m in merged)
        t0 = statistics.median(r[0] for r in read)
        rss0 = statistics.median(r[1] for r in read)
        print(
            f"{hosts:5d} hosts: merge {t:.2f} s, peak {rss:.0f} MiB "
            f"(reading the files alone: {t0:.2f} s, {rss0:.0f} MiB); "
            f"junit.xml + report.html {size / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
