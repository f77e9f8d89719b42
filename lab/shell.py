"""The lab's two ways to talk to the machine: run a command, say what it does."""

from __future__ import annotations

import subprocess
import sys

from lab.errors import LabError


def say(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def run(*cmd: str, check: bool = True, input: str | None = None) -> str:
    """Run a command; on failure raise LabError with its stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout
