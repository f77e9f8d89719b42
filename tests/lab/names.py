"""The lab names the lab tests use: one per test file (and the few extra labs some bring up),
made per pytest-xdist worker so that workers running side by side never share a lab.

Under ``pytest -n N`` every name gets its worker's number (gw0 -> ``v6cgw0``, gw1 ->
``v6cgw1``); without xdist it is the name itself. A lab name is at most 8 characters, so the
names given here are at most 7 (6 where a test adds a letter of its own, as test_lab_down_exact
does). Nothing but the name changes: each lab has its own namespaces, state directory and
dockerd, and the Docker roots they share are made under a file lock (lab.dockers.locked).
"""

from __future__ import annotations

import os

WORKER = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker: gw0, gw1, …
# a file the xdist controller names (tests/conftest.py): each worker writes there every lab
# name it uses, and the controller takes down whatever of them is still up when the run ends
# (an interrupted or crashed worker's labs)
RECORD = "V6CONFORM_TEST_LAB_NAMES"


def worker_suffix() -> str:
    """The xdist worker's number ("" when tests run in one process)."""
    worker = os.environ.get(WORKER, "")
    return worker[2:] if worker.startswith("gw") and worker[2:].isdigit() else ""


def lab_name(name: str, env: str | None = None) -> str:
    """``name`` (or what the environment variable ``env`` names instead: a second checkout's
    labs, a person's own), with the xdist worker's number."""
    chosen = (os.environ.get(env, "").strip() if env else "") or name
    named = chosen + worker_suffix()
    if record := os.environ.get(RECORD):
        with open(record, "a") as names:  # one short line a write: appends do not interleave
            names.write(named + "\n")
    return named


def recorded(record: str) -> list[str]:
    """The names the workers wrote into ``record``, each once, in order."""
    try:
        with open(record) as names:
            return list(dict.fromkeys(line.strip() for line in names if line.strip()))
    except FileNotFoundError:
        return []
