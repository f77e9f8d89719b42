"""What a message tells a person to run next, built in one place: each command names the lab it
is about (``python -m lab --name ux3 up``: a bare ``python -m lab up`` brings up, and first
removes, lab v6c) with the options that made it, shell-quoted so it pastes; a permission
problem says to run this same command again with sudo."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.errors import LabError

ROOT_NEEDS = "its network namespaces, its dockerd's socket"


def lab_command(name: str, *words: str) -> str:
    """``python -m lab --name NAME WORDS…``, quoted for a shell."""
    return shlex.join(["python", "-m", "lab", "--name", name, *words])


def up_command(
    name: str,
    scenario: str | None = None,
    docker: str | None = None,
    firewall_backend: str | None = None,
) -> str:
    """The ``up`` that makes this lab again: its scenario, its Docker generation and backend
    where they are known (the defaults where not)."""
    words = ["up"]
    for option, value in (
        ("--scenario", scenario),
        ("--docker", docker),
        ("--firewall-backend", firewall_backend),
    ):
        if value:
            words += [option, value]
    return lab_command(name, *words)


def fleet_command(name: str, *words: str) -> str:
    """``python -m lab fleet --fleet-name NAME WORDS…``, quoted for a shell."""
    return shlex.join(["python", "-m", "lab", "fleet", "--fleet-name", name, *words])


# the command line a person typed where it is not this process's own: the `v6conform` command
# (suites/cli.py) runs pytest in its place and says here what the user typed, so that a hint
# repeats `v6conform --lab healthy`, not the pytest line it made of it
INVOKED = "V6CONFORM_INVOKED_AS"


def this_command(argv: Sequence[str] | None = None) -> list[str]:
    """This process's command line as a person would type it again: as they typed it where a
    command ran this process for them (INVOKED), ``python -m PACKAGE …`` for a module run
    (whose argv[0] is the module's ``__main__.py``), else as it was run."""
    if argv is None and os.environ.get(INVOKED):
        return shlex.split(os.environ[INVOKED])
    args = list(sys.argv if argv is None else argv)
    if not args:
        return [sys.executable]
    head = Path(args[0])
    if head.name == "__main__.py":
        return [sys.executable, "-m", head.parent.name, *args[1:]]
    return args


def as_root(argv: Sequence[str] | None = None) -> str:
    """This command again, with sudo: a line that pastes."""
    return "sudo " + shlex.join(this_command(argv))


class NeedsRoot(LabError):
    """Not root: the lab's namespaces and its Docker socket are root's."""


def require_root(what: str) -> None:
    """Stop, in one line saying to use sudo, unless this process is root."""
    if os.geteuid() != 0:
        raise NeedsRoot(f"{what} needs root ({ROOT_NEEDS}): run it with sudo: {as_root()}")
