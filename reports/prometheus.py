"""The run as a Prometheus textfile, for node_exporter's textfile collector: one series per
check and place, and the run's own figures.

    v6conform_check{check="RT-04",where="v6net",item="v6net/v6conform-…",outcome="failed"} 0

The value is 1 for a pass and 0 otherwise; the outcome label says which (passed, failed,
skipped, error), so an alert can be ``v6conform_check{outcome="failed"} == 0`` and a dashboard
can count each. Written to a temporary file and renamed, as the collector wants (it must never
read half a file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reports.causes import Cause
from reports.results import CheckResult


def _label(value: str) -> str:
    """A label value in the text format: backslash, double quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())


def render(
    results: Sequence[CheckResult],
    causes: Sequence[Cause],
    *,
    target: str,
    exitstatus: int,
    finished: float,
) -> str:
    checked = [r for r in results if r.check is not None]

    def place(r: CheckResult) -> dict[str, str]:
        return {"target": target, "check": r.check or "", "where": r.place.column,
                "item": r.place.detail}  # fmt: skip

    lines = [
        "# HELP v6conform_check One check item: 1 passed, 0 otherwise (see the outcome label).",
        "# TYPE v6conform_check gauge",
        *(
            f"v6conform_check{{{_labels(**place(r), outcome=r.outcome)}}} "
            f"{1 if r.outcome == 'passed' else 0}"
            for r in checked
        ),
        "# HELP v6conform_check_duration_seconds When the survey had what the item reads "
        "(seconds from its start), plus its judging.",
        "# TYPE v6conform_check_duration_seconds gauge",
        *(
            f"v6conform_check_duration_seconds{{{_labels(**place(r))}}} {r.duration:.4f}"
            for r in checked
        ),
    ]
    run = _labels(target=target)
    lines += [
        "# HELP v6conform_causes Root causes the run found (failures no other failure explains).",
        "# TYPE v6conform_causes gauge",
        f"v6conform_causes{{{run}}} {len(causes)}",
        "# HELP v6conform_exit_status The run's exit status: 0 works, 1 broken, 3 not checked.",
        "# TYPE v6conform_exit_status gauge",
        f"v6conform_exit_status{{{run}}} {exitstatus}",
        "# HELP v6conform_last_run_timestamp_seconds When the run finished (Unix time).",
        "# TYPE v6conform_last_run_timestamp_seconds gauge",
        f"v6conform_last_run_timestamp_seconds{{{run}}} {finished:.0f}",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole: a temporary file beside it, then a rename."""
    part = path.with_name(f".{path.name}.{os.getpid()}")
    part.write_text(text, encoding="utf-8", errors="backslashreplace")
    os.replace(part, path)
