"""The ``v6conform`` command: ``v6conform merge RESULTS…`` merges many hosts' results into one
report; ``v6conform --version`` says which harness this is."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from reports.merge import HARNESS_ERROR, MergeError, merge


def version() -> str:
    try:
        return metadata.version("v6conform")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="v6conform",
        description="v6conform: IPv6 conformance of Docker hosts. `merge` puts many hosts' "
        "results.json into one JUnit file and one HTML page (a host × check matrix on top).",
    )
    parser.add_argument("--version", action="version", version=f"v6conform {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser(
        "merge",
        help="merge hosts' results.json into one JUnit file and one HTML report",
        description="Merge hosts' results.json files. A host is named by its run's `host` "
        "property, or by HOST= before the file (HOST=PATH); a missing or unreadable file is a "
        "host that was not checked. Exit status: 3 if any host was not checked, else 1 if any "
        "host failed a check, else 0.",
    )
    m.add_argument("results", nargs="+", metavar="[HOST=]RESULTS.json")
    m.add_argument(
        "-o", "--out", type=Path, default=Path("reports/fleet"),
        help="where junit.xml and report.html go (default reports/fleet)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    names: list[str] = []
    paths: list[Path] = []
    for spec in args.results:
        host, sep, path = spec.partition("=")
        names.append(host if sep else "")
        paths.append(Path(path if sep else spec))
    try:
        status, hosts = merge(paths, args.out, names=names if any(names) else None)
    except MergeError as exc:
        print(f"v6conform merge: {exc}", file=sys.stderr)
        return HARNESS_ERROR
    print(
        f"v6conform merge: {len(hosts)} hosts, exit status {status}: "
        f"{args.out / 'junit.xml'}, {args.out / 'report.html'}"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
