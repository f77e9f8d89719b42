"""The ``v6conform`` command.

``v6conform [PYTEST ARGUMENTS]`` runs the suites (the installed ones, or a checkout's where it
is installed in editable mode) with pytest's usual arguments (``-m gateway``, ``--lab healthy``,
``--profile host.toml``…), with the settings a checkout's pyproject.toml gives them;
``v6conform merge RESULTS…`` merges many hosts' results into one report; ``v6conform
--version`` says which harness this is."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import NoReturn

USAGE = """usage: v6conform [PYTEST ARGUMENTS]    check this host (or the lab) with the suites
       v6conform merge [-o DIR] [--not-checked HOST=REASON] [HOST=]RESULTS.json ...
       v6conform --version
       v6conform --pytest-help                every option the suites take: pytest's, and
                                              v6conform's own (--lab, --profile, --containers…)

examples: v6conform                           every check against this host, reports in
                                              ./reports/out (junit.xml, report.html, results.json)
          v6conform -m gateway -x             the gateway checks, stop at the first failure
          v6conform --lab healthy             the built-in lab, brought up and torn down
Exit status: 0 the host works, 1 a check failed, 3 the harness could not look."""


def version() -> str:
    try:
        return metadata.version("v6conform")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def run_suites(args: list[str]) -> NoReturn:
    """pytest on the suites, from wherever the user stands: reports land in ./reports/out unless
    --report-dir says otherwise, and no pytest settings of the current directory apply. pytest
    runs in this process's place (exec), in a fresh interpreter: nothing of the harness is
    imported before pytest rewrites its plugins' asserts, and Ctrl-C and SIGTERM reach it."""
    from lab.hints import INVOKED  # the line the user typed, for the run's hints

    where = Path(__file__).resolve().parent  # the suites' folder, installed or checked out
    given = any(a == "--report-dir" or a.startswith("--report-dir=") for a in args)
    report = [] if given else ["--report-dir", str(Path.cwd() / "reports" / "out")]
    typed = [*invoked_as(), *args]
    args = [_suites_node(a, where.parent) for a in args]
    argv = ["-c", str(where / "v6conform.ini"), "--rootdir", str(where.parent), *report, *args]
    if not any(_names_tests(a, before) for a, before in zip(args, ["", *args], strict=False)):
        argv.append(str(where))
    env = {**os.environ, INVOKED: shlex.join(typed)}
    os.execve(sys.executable, [sys.executable, "-m", "pytest", *argv], env)


def invoked_as() -> list[str]:
    """How this command was started, as a person would type it again: the console script's own
    path (`sudo` finds it whatever root's PATH), or ``python -m suites.cli``."""
    head = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("v6conform")
    if head.name in ("cli.py", "__main__.py"):
        return [sys.executable, "-m", "suites.cli"]
    return [str(head)]


def _suites_node(arg: str, root: Path) -> str:
    """A rerun line's test (`suites/test_routing.py::test_x[bridge]`, a node id relative to the
    suites' root) made absolute where it does not name a file from the current directory:
    a rerun line pastes wherever the user stands, as pytest alone would not find it."""
    if arg.startswith("-") or not arg.startswith("suites/"):
        return arg
    path = Path(arg.split("::")[0])
    if path.exists() or not (root / path).exists():
        return arg
    return str(root / arg)


def _names_tests(arg: str, before: str) -> bool:
    """Whether a command-line word names tests to run (a test file, a node id, a directory),
    not an option's value: `--profile host.toml` and `--report-dir out` name files too."""
    if arg.startswith("-"):
        return False
    path = Path(arg.split("::")[0])
    if "::" in arg or path.suffix == ".py":
        return path.exists()
    if not path.is_dir():
        return False
    # after an option the directory may be its value (`--report-dir out`), unless it holds tests
    # (`-x suites`): only its own top level is looked at, never a whole tree
    return not before.startswith("-") or any(path.glob("test_*.py"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--pytest-help"]:
        return run_suites(["--help"])
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if args[:1] not in (["merge"], ["--version"]):
        return run_suites(args)
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
    m.add_argument("results", nargs="*", metavar="[HOST=]RESULTS.json")
    m.add_argument(
        "--not-checked", action="append", default=[], metavar="HOST=REASON",
        help="a host that has no results, and why (unreachable, its run could not start): "
        "reported as not checked; repeat for each",
    )  # fmt: skip
    m.add_argument(
        "-o", "--out", type=Path, default=Path("reports/fleet"),
        help="where junit.xml and report.html go (default reports/fleet)",
    )  # fmt: skip
    parsed = parser.parse_args(args)
    from reports.merge import HARNESS_ERROR, MergeError, merge  # not before pytest (see above)

    names: list[str] = []
    paths: list[Path] = []
    for spec in parsed.results:
        host, sep, path = spec.partition("=")
        names.append(host if sep else "")
        paths.append(Path(path if sep else spec))
    missing: list[tuple[str, str]] = []
    for spec in parsed.not_checked:
        host, sep, why = spec.partition("=")
        if not sep or not host:
            parser.error(f"--not-checked {spec!r}: give HOST=REASON")
        missing.append((host, why or "not checked"))
    try:
        status, hosts = merge(
            paths, parsed.out, names=names if any(names) else None, not_checked=missing
        )
    except MergeError as exc:
        print(f"v6conform merge: {exc}", file=sys.stderr)
        return HARNESS_ERROR
    print(
        f"v6conform merge: {len(hosts)} hosts, exit status {status}: "
        f"{parsed.out / 'junit.xml'}, {parsed.out / 'report.html'}"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
