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


def worker_suffix() -> str:
    """The xdist worker's number ("" when tests run in one process)."""
    worker = os.environ.get(WORKER, "")
    return worker[2:] if worker.startswith("gw") and worker[2:].isdigit() else ""


def lab_name(name: str, env: str | None = None) -> str:
    """``name`` (or what the environment variable ``env`` names instead: a second checkout's
    labs, a person's own), with the xdist worker's number."""
    chosen = (os.environ.get(env, "").strip() if env else "") or name
    return chosen + worker_suffix()
