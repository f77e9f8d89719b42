"""What one play over the fleet lab costs: the playbook (ansible/v6conform-fleet) against a fleet
of N lab hosts, run R times in a row on one fleet.

The first play installs (copies the wheel and wheelhouse, makes the venv, pip); later ones find
the venv and copy nothing that did not change, so they cost what a fleet's daily check does.
Printed: each play's wall time, the median of the repeat plays, and from each host's
junit.xml its own run's time (what the checks took on the host, beside what the play
took around them). As baseline in the same run: one host checked alone in the same fleet
(`--limit` to the first host), the cost of a play with no fan-out.

    sudo .venv/bin/python bench/fleet_play.py [--runs 3] [--hosts healthy,healthy,forward-drop]
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

from lab.dockers import DEFAULT  # noqa: E402
from lab.fleet import Fleet, parse_hosts  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hosts", default="healthy,healthy,forward-drop")
    parser.add_argument("--fleet-name", default="v6fb")
    args = parser.parse_args()
    hosts = parse_hosts(args.hosts, DEFAULT)
    with tempfile.TemporaryDirectory(prefix="v6c-fleet-bench-") as tmp:
        work = Path(tmp)
        wheels = work / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
             "-w", str(wheels), str(ROOT)],
            check=True, cwd=work, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        [wheel] = wheels.glob("v6conform-*.whl")
        extra = ["-e", json.dumps({"v6conform_wheel": str(wheel),
                                   "v6conform_wheelhouse": str(wheels)})]  # fmt: skip
        fleet = Fleet(args.fleet_name)
        started = time.monotonic()
        description = fleet.up(hosts)
        print(f"fleet up: {len(hosts)} hosts in {time.monotonic() - started:.1f} s")
        first_host = description["hosts"][0]["name"]
        try:
            plays: list[float] = []
            alone: list[float] = []
            for run in range(args.runs + 1):
                for limit in ([], ["--limit", first_host]):
                    if run == 0 and limit:
                        continue  # the install play is the whole fleet's, once
                    results = work / f"results-{run}-{len(limit)}"
                    t = time.monotonic()
                    played = fleet.play(
                        *extra, *limit, results=results, home=work / "ansible", bin_dir=Path(
                            sys.executable).parent,
                    )  # fmt: skip
                    took = time.monotonic() - t
                    status = played.returncode
                    own = []
                    for host in description["hosts"]:
                        path = results / host["name"] / "junit.xml"
                        if path.exists():
                            suite = ET.parse(path).getroot().find("testsuite")
                            dur = float(suite.get("time", 0)) if suite is not None else 0.0
                            own.append(f"{host['name']} {dur:.1f} s")
                        found = results / host["name"] / "results.json"
                        if found.exists():
                            failed = sorted(
                                {f"{i['check']}[{i['where']}]" for i in
                                 json.loads(found.read_text())["items"]
                                 if i["outcome"] in ("failed", "error")}
                            )  # fmt: skip
                            if set(f.split("[")[0] for f in failed) != set(
                                host["expected_failures"]
                            ):
                                print(f"  {host['name']} ({host['scenario']}) failed: {failed}")
                    what = "first host alone" if limit else f"all {len(hosts)} hosts"
                    label = "install + check" if run == 0 else "check"
                    print(f"play {run} ({label}, {what}): {took:.1f} s, exit {status}; "
                          f"the hosts' own runs: {', '.join(own) or 'none'}")  # fmt: skip
                    if run > 0:
                        (alone if limit else plays).append(took)
            if plays:
                print(
                    f"median of {len(plays)} repeat plays: all hosts {statistics.median(plays):.1f}"
                    f" s, first host alone {statistics.median(alone):.1f} s"
                )
        finally:
            fleet.down(quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
