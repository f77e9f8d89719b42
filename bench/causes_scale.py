"""How long the root-cause step takes on a broken host with many containers.

A synthetic forward-drop run: one RT-04 (the cause) and, per container, an RT-02 and an RC-01
that rest on the network's path (the symptoms). Prints the median of several runs per size.

    .venv/bin/python bench/causes_scale.py [--runs 5] [--containers 100,300,1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports.causes import find_causes
from reports.results import CheckResult, Place
from rules.judgement import Judgement

DROP = "rule:ip6tables filter FORWARD: policy DROP"
NS = "nameserver:2001:db8:53::53"


def failure(check: str, where: str, breaks: tuple[str, ...], needs: tuple[str, ...] = ()):
    r = CheckResult(f"suites/x.py::{check}[{where}]", check, where, Place("v6net", where))
    r.outcome = "failed"
    r.diagnoses = [Judgement("fail", f"{check} on {where}", (), None, None, breaks, needs)]
    return r


def broken_run(containers: int) -> list[CheckResult]:
    out = [failure("RT-04", "v6net", (DROP, "path:v6net"))]
    for i in range(containers):
        out.append(
            failure(
                "RT-02", f"v6net/w{i}", (f"reach:w{i}", "path:v6net"), ("path:v6net", f"route:w{i}")
            )
        )
        out.append(failure("RC-01", f"v6net/w{i}", (NS,), (NS, "path:v6net")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--containers", default="100,300,1000")
    args = ap.parse_args()
    print("containers  failures  causes  symptoms  median s")
    for n in (int(x) for x in args.containers.split(",")):
        results = broken_run(n)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            causes = find_causes(results, ["RT-02", "RT-04", "RC-01"])
            times.append(time.perf_counter() - start)
        symptoms = sum(len(c.symptoms) for c in causes)
        print(
            f"{n:>10}  {len(results):>8}  {len(causes):>6}  {symptoms:>8}  "
            f"{statistics.median(times):8.3f}"
        )


if __name__ == "__main__":
    main()
