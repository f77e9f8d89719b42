"""What the reports are made of: each check item's outcome, where it ran, and the path it used.

The suites fill in what only they know (the check catalog, where an item ran, the hops of each
network's path) through the stash keys below; the reports read nothing else.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from rules.judgement import Judgement

# the path from a container to what it must reach, as the picture draws it
HOPS = ("container", "bridge", "host", "uplink", "upstream", "far end")
HOST = "host"  # the matrix column of checks that run on the host itself


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """A check of the catalog: what the report calls it and where it points a reader."""

    title: str  # short: "gateway answers"
    reference: str  # the RFC section or documentation a fix rests on
    hop: str | None = None  # where on the path a failure of this check usually breaks


@dataclass(frozen=True, slots=True)
class Place:
    """Where an item ran: its matrix column ("host", a network, a builder) and the detail that
    tells items apart in a column ("v6net/v6c-probe-1a2b", "2001:db8:53::53")."""

    column: str
    detail: str


@dataclass
class CheckResult:
    nodeid: str
    check: str | None
    name: str
    place: Place
    outcome: str = "passed"  # passed, failed, skipped, error (the harness, not the host)
    # when its evidence was in (the slowest survey part it reads, from the survey's start) plus
    # its own judging; without a survey, its setup, call and teardown
    duration: float = 0.0
    message: str = ""  # pytest's report: the skip reason, the failure text
    brief: str = ""  # one line: the exception, where the harness broke
    diagnoses: list[Judgement] = field(default_factory=list)
    # what the check noted without failing: a resolv.conf line the C library ignores, …
    warnings: list[str] = field(default_factory=list)
    proof: str = ""  # for a pass a rule judged: the line of evidence it rests on
    rerun: str = ""  # how to run it again, with the run's own selection (rerun_command)

    def title(self, catalog: dict[str, CheckInfo]) -> str:
        """The readable name: "GW-03 gateway answers [v6net/v6c-probe-1a2b]"."""
        info = catalog.get(self.check or "")
        what = info.title if info else self.name.split("[")[0].removeprefix("test_")
        return f"{self.check} {what} [{self.place.detail}]"


# filled by the suites (suites/plugin/)
CATALOG = pytest.StashKey[dict[str, CheckInfo]]()
LOCATE = pytest.StashKey[Callable[[pytest.Item], Place]]()
PATHS = pytest.StashKey[dict[str, dict[str, str]]]()  # column -> hop -> label
SUITE_PROPERTIES = pytest.StashKey[dict[str, str]]()  # docker version, profile, ...
HARNESS_PROBLEMS = pytest.StashKey[list[str]]()  # why the run could not check all it was asked
# when each survey part had its result (seconds from the survey's start), by the name of the
# fixture that hands it to the checks: an item's time is its slowest part's plus its judging
SURVEY_READY = pytest.StashKey[dict[str, float]]()

# the options that chose what the run probed (its target, lab, Docker, profile…): every line
# that says how to run an item again carries them (rerun_command)
RERUN = pytest.StashKey[tuple[str, ...]]()
# the command the user ran the suites with: `pytest` (the default), or `v6conform`, which takes
# the same options and node ids (suites/cli.py)
RERUN_COMMAND = pytest.StashKey[str]()


def rerun_command(selection: Sequence[str], nodeid: str, command: str = "pytest") -> str:
    """How to run one item again against what this run probed, the way the user ran it
    (``pytest …`` or ``v6conform …``), quoted so it pastes: without the run's
    ``--lab``/``--target``, a pasted ``pytest 'suites/…[bridge]'`` would probe this machine
    instead of the lab."""
    return shlex.join([command, *selection, nodeid])


def harness_problem(config: pytest.Config, reason: str) -> None:
    """Note that the harness could not run what was asked (no Docker, not root): the run's exit
    status says so, whatever the checks found."""
    problems = config.stash.setdefault(HARNESS_PROBLEMS, [])
    if reason not in problems:
        problems.append(reason)
