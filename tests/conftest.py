"""Shared fixtures of the project's own tests, and how `pytest -n N --dist loadgroup`
(pytest-xdist, as `make test` runs it) shares the tests out among its workers.

Each worker's labs have names of their own (tests/lab/names.py), so any test may run beside
any other. A test that uses a fixture its module defines for several tests (a lab brought up
once for the file) runs on the same worker as the rest of its file, which brings that lab up
once; every other test (each row of the detection matrix and of the fix proof brings its own
lab up and down) goes to whichever worker is free.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Generator

import pytest

from tests.lab.names import RECORD, recorded

pytest_plugins = ("pytester",)


def _xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """The controller of `pytest -n N` names a file its workers (started after this) write their
    labs' names into (tests/lab/names.py)."""
    if _xdist_controller(config) and RECORD not in os.environ:
        fd, path = tempfile.mkstemp(prefix="v6conform-test-labs-")
        os.close(fd)
        os.environ[RECORD] = path
        config.stash[_RECORD_KEY] = (path, time.time())


_RECORD_KEY = pytest.StashKey[tuple[str, float]]()


@pytest.hookimpl(trylast=True)  # after xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Whatever lab of the workers is still up when the run ends (a worker interrupted or
    killed while it brought a lab up or down; a test's subprocess killed in its down), the
    controller takes down: those names only, and only a lab this run brought up."""
    path, started = session.config.stash.get(_RECORD_KEY, ("", 0.0))
    if not path:
        return
    from lab import Lab, LabError
    from lab.fleet import Fleet

    for name in recorded(path):
        # a fleet's name is one shorter than a lab's: its hosts' labs are NAME1, NAME2, …
        for left in (Lab(name), *([Fleet(name)] if len(name) <= 7 else [])):
            try:
                if left.state.exists() and left.state.stat().st_mtime < started:
                    continue  # up since before this run: someone's own lab of that name
                if left.exists():
                    print(f"tests: {left!r} was left up: bringing it down", file=sys.stderr)
                    left.down(quiet=True)
            except (LabError, OSError) as exc:
                print(f"tests: {left!r} could not be brought down: {exc}", file=sys.stderr)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def shares_a_fixture_of_its_module(item: pytest.Item) -> bool:
    """Whether ``item`` uses a fixture of scope module or class that its own file defines."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    module = item.nodeid.split("::", 1)[0]
    return any(
        defs[-1].scope in ("module", "class") and defs[-1].baseid.split("::", 1)[0] == module
        for defs in info.name2fixturedefs.values()
        if defs
    )


def keep_groups_together(items: list[pytest.Item]) -> None:
    """Give each test of a group the ``@group`` suffix that `--dist loadgroup` schedules by.
    pytest-xdist 3.8 sets it in ``item._nodeid``, which pytest 9.2 no longer reads (its nodeid
    is ``item._id``): there each file's module lab came up on every worker at once (a CI run
    had two fleets of three hosts up side by side). Only where xdist's own did not take."""
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or not mark.args or item.nodeid.endswith(f"@{mark.args[0]}"):
            continue
        from _pytest.nodeid import NodeId  # pytest >= 9.2, where xdist's suffix is lost

        item._id = NodeId.parse(f"{item.nodeid}@{mark.args[0]}")  # type: ignore[attr-defined]


# its first half before xdist's own hook, which reads the xdist_group marks; the rest after
@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    grouping = config.pluginmanager.hasplugin("xdist")
    if grouping:
        for item in items:
            if shares_a_fixture_of_its_module(item):
                item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    yield
    if grouping and getattr(config.option, "loadgroup", False):  # on a worker of loadgroup
        keep_groups_together(items)
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="lab tests need root (network namespaces, dockerd)")
    for item in items:
        if item.get_closest_marker("lab"):
            item.add_marker(skip)
