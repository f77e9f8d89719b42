"""python -m lab {up,down,scenarios,describe}: the built-in lab's command line."""

from __future__ import annotations

import argparse
import json
import sys

from lab.lab import DEFAULT_NAME, Lab, LabError
from lab.scenarios import SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="The v6conform lab: network namespaces NAME-host, NAME-upstream and NAME-inet "
        "with a dedicated dockerd, radvd and unbound, on documentation addresses only "
        "(2001:db8::/32, TEST-NETs). Nothing is linked to this machine's own network.",
    )
    parser.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"lab name, prefixes every namespace and path (default {DEFAULT_NAME})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring the lab up (removes a stale lab of the same name first)")
    up.add_argument(
        "--scenario",
        default="healthy",
        choices=sorted(SCENARIOS),
        help="what to break on purpose (default healthy)",
    )
    sub.add_parser("down", help="remove the lab: containers, processes, namespaces, directories")
    sub.add_parser("scenarios", help="list scenarios and the check IDs each must fail")
    sub.add_parser("describe", help="print the running lab as JSON")
    args = parser.parse_args(argv)
    try:
        lab = Lab(args.name)
        if args.command == "up":
            lab.up(args.scenario)
        elif args.command == "down":
            lab.down()
        elif args.command == "describe":
            print(json.dumps(lab.description(), indent=2))
        else:
            width = max(map(len, SCENARIOS))
            for sc in SCENARIOS.values():
                fails = ", ".join(sorted(sc.expected_failures)) or "nothing"
                print(f"{sc.name:<{width}}  must fail: {fails}\n{'':<{width}}  {sc.summary}")
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "lab: interrupted; run `python -m lab down` to remove what was built", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
