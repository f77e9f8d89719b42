"""One report for a fleet: many hosts' ``results.json`` merged into one JUnit file and one HTML
page (a host × check matrix on top, each host's own findings below).

Every testcase's name and classname carry the host and the place, so no two repeat (GitLab
drops testcases whose classname and name repeat), and neither holds ``[ ] :`` (Jenkins rewrites
them in test URLs): brackets become parentheses and a colon, as in an IPv6 address, is written
as U+2236 (∶), which reads the same; the item's own words stay whole in its properties.

The exit status follows the run's contract over the whole fleet: 3 when any host could not be
checked (its results missing, unreadable, or its run unable to look), else 1 when any host has
a failed check, else 0.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.html import ENV, SEVERITY, SYMBOL
from reports.lead import first_clause
from reports.text import visible

HARNESS_ERROR = 3
FORMAT = 1  # the results.json format this merge reads
RATIO = "\u2236"  # looks like ":", is not one
MAX_RESULTS_BYTES = 64 * 2**20  # a host's results.json is a few hundred KiB
MAX_TEXT = 64 * 1024  # characters of one text from a host's file


class MergeError(Exception):
    """What stops a merge as a whole (not one host's bad file: that host is reported)."""


@dataclass(frozen=True, slots=True)
class HostResult:
    """One host's run, as its results.json says; or why there is none."""

    host: str
    source: str
    exit_status: int
    properties: dict[str, str] = field(default_factory=dict)
    items: tuple[dict[str, Any], ...] = ()
    causes: tuple[dict[str, Any], ...] = ()
    harness_failures: tuple[str, ...] = ()
    unreadable: str | None = None  # why the file could not be used: the host was not checked

    @property
    def checked(self) -> bool:
        # 0 and 1 are verdicts; 3 is a run that could not look, and anything else (pytest's
        # 2 interrupted, 4 usage, 5 nothing collected) no verdict either
        return self.unreadable is None and self.exit_status in (0, 1)

    def counts(self) -> Counter[str]:
        return Counter(str(i.get("outcome", "")) for i in self.items)


def _text(value: object) -> str:
    """A value from a host's file as text the reports can hold (one line, made visible), of a
    bounded length: what a host wrote is input."""
    text = value if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""
    return visible(text[:MAX_TEXT])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _host_name(data: dict[str, Any], path: Path) -> str:
    """The host: the run's ``host`` property, else the results file's directory (the fleet's
    playbook fetches each host's files into a directory of its inventory name)."""
    props = data.get("properties")
    host = props.get("host") if isinstance(props, dict) else None
    return _text(host or path.parent.name or path.stem)


def load(path: Path, *, host: str | None = None) -> HostResult:
    """One host's results; a file that is missing or not one of ours gives a host that was not
    checked, with the reason, never an exception."""
    name = _text(host or path.parent.name or path.stem)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_RESULTS_BYTES + 1)
        if len(raw) > MAX_RESULTS_BYTES:
            why = f"larger than {MAX_RESULTS_BYTES // 2**20} MiB: not a results file of ours"
            return HostResult(name, str(path), HARNESS_ERROR, unreadable=why)
        data = json.loads(raw)
    except FileNotFoundError:
        return HostResult(name, str(path), HARNESS_ERROR, unreadable="no results file")
    except OSError as exc:
        return HostResult(name, str(path), HARNESS_ERROR, unreadable=f"unreadable: {exc.strerror}")
    except RecursionError:
        return HostResult(name, str(path), HARNESS_ERROR, unreadable="not JSON: nested too deep")
    except ValueError as exc:
        return HostResult(name, str(path), HARNESS_ERROR, unreadable=_text(f"not JSON: {exc}"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return HostResult(
            name,
            str(path),
            HARNESS_ERROR,
            unreadable=f"not a v6conform results file (format {FORMAT})",
        )
    items = data.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return HostResult(name, str(path), HARNESS_ERROR, unreadable="its items are not a list")
    status = data.get("exit_status")
    props = data.get("properties")
    return HostResult(
        _text(host) if host else _host_name(data, path),
        _text(str(path)),
        status if isinstance(status, int) and not isinstance(status, bool) else HARNESS_ERROR,
        {_text(k): _text(v) for k, v in props.items()} if isinstance(props, dict) else {},
        tuple(_clean(i) for i in items),
        tuple(_cause(c) for c in _list(data.get("causes")) if isinstance(c, dict)),
        tuple(_text(f) for f in _list(data.get("harness_failures"))),
    )


def _cause(cause: dict[str, Any]) -> dict[str, Any]:
    """A host's cause as the fleet's page leads with it, as the host's own report does: its
    line, where it breaks, its fix in a line with the commands below (each a string, in order)
    and who runs them."""
    fix = _text(cause.get("fix") or "")
    return {
        "line": _text(cause.get("line", "")),
        "check": _text(cause.get("check", "")),
        "hop": _text(cause.get("hop") or ""),
        "fix": fix,
        "fix_line": first_clause(fix) if fix else "",
        "fix_commands": [_text(c) for c in _list(cause.get("fix_commands")) if isinstance(c, str)],
        "fix_where": _text(cause.get("fix_where") or ""),
    }


def _clean(item: dict[str, Any]) -> dict[str, Any]:
    """An item with the fields the reports read, each of the type they expect: a results file
    is input from a host, and a broken one must not break the fleet's page."""
    out: dict[str, Any] = {
        k: _text(item.get(k, "")) for k in ("check", "title", "where", "detail", "outcome")
    }
    out["message"] = _text(item.get("message", ""))
    out["nodeid"] = _text(item.get("nodeid", ""))
    duration = item.get("duration_s", 0)
    ok = isinstance(duration, int | float) and not isinstance(duration, bool)
    out["duration_s"] = duration if ok and 0 <= duration < 1e9 else 0
    diagnoses = item.get("diagnoses")
    out["diagnoses"] = [
        {
            "summary": _text(d.get("summary", "")),
            "fix": _text(d.get("fix") or ""),
            "evidence": [_text(e) for e in _list(d.get("evidence")) if isinstance(e, str)],
        }
        for d in (diagnoses if isinstance(diagnoses, list) else [])
        if isinstance(d, dict)
    ]
    return out


def exit_status(hosts: Sequence[HostResult]) -> int:
    if any(not h.checked for h in hosts):
        return HARNESS_ERROR
    return 1 if any(h.exit_status == 1 for h in hosts) else 0


def _safe(text: str) -> str:
    return text.replace("[", "(").replace("]", ")").replace(":", RATIO)


def write_junit(hosts: Sequence[HostResult], path: Path) -> None:
    """One testsuite per host; its run's properties on the suite, each item a testcase."""
    root = ET.Element("testsuites", name="v6conform fleet")
    for h in hosts:
        counts = h.counts()
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_safe(f"v6conform {h.host}"),
            tests=str(max(len(h.items), 1)),
            failures=str(counts["failed"]),
            errors=str(counts["error"] + (0 if h.checked else 1)),
            skipped=str(counts["skipped"]),
        )
        props = ET.SubElement(suite, "properties")
        # the fleet's name of the host wins over what its run called itself
        for name, value in {**h.properties, "host": h.host, "source": h.source}.items():
            ET.SubElement(props, "property", name=name, value=value)
        klass = "v6conform." + _safe(h.host).replace(".", "_")
        if not h.checked:
            case = ET.SubElement(suite, "testcase", classname=klass, name=_safe(f"{h.host} run"))
            why = h.unreadable or "; ".join(h.harness_failures) or "the run could not look"
            ET.SubElement(case, "error", message=_safe(f"{h.host} was not checked: {why}"))
        for i, item in enumerate(h.items):
            check, where = str(item.get("check", "")), str(item.get("where", ""))
            title = str(item.get("title") or check)
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{klass}.{_safe(check)}",
                name=_safe(f"{h.host} {where} {title} #{i + 1}"),
                time=str(item.get("duration_s", 0)),
            )
            cprops = ET.SubElement(case, "properties")
            for name in ("check", "where", "detail", "nodeid"):
                ET.SubElement(cprops, "property", name=name, value=str(item.get(name, "")))
            ET.SubElement(cprops, "property", name="host", value=h.host)
            outcome = item.get("outcome")
            diagnoses = item.get("diagnoses") or []
            text = "\n".join(
                str(d.get("summary", "")) + "".join(f"\n  {e}" for e in d.get("evidence", []))
                for d in diagnoses
            )
            if outcome == "failed":
                first = str(diagnoses[0].get("summary", "")) if diagnoses else "failed"
                ET.SubElement(case, "failure", message=first).text = text
            elif outcome == "error":
                ET.SubElement(case, "error", message=str(item.get("message", ""))).text = text
            elif outcome == "skipped":
                ET.SubElement(case, "skipped", message=str(item.get("message", "")))
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True, slots=True)
class Cell:
    outcome: str | None
    count: int

    @property
    def symbol(self) -> str:
        return SYMBOL.get(self.outcome or "", "")


def matrix(hosts: Sequence[HostResult]) -> tuple[list[str], list[tuple[HostResult, list[Cell]]]]:
    """The checks that ran anywhere (in catalog order as the runs listed them), and for each
    host the worst outcome of each check's items there."""
    checks: dict[str, None] = {}
    for h in hosts:
        for item in h.items:
            checks.setdefault(str(item.get("check", "")), None)
    order = sorted(checks, key=_check_key)
    rows = []
    for h in hosts:
        by: dict[str, list[str]] = {}
        for item in h.items:
            by.setdefault(str(item.get("check", "")), []).append(str(item.get("outcome", "")))
        cells = []
        for check in order:
            outcomes = by.get(check, [])
            worst = next((s for s in SEVERITY if s in outcomes), None)
            cells.append(Cell(worst, sum(1 for o in outcomes if o == worst)))
        rows.append((h, cells))
    return order, rows


def _check_key(check: str) -> tuple[str, int]:
    family, _, number = check.rpartition("-")
    return (family, int(number) if number.isascii() and number.isdigit() else 0)


def write_html(hosts: Sequence[HostResult], path: Path) -> None:
    checks, rows = matrix(hosts)
    status = exit_status(hosts)
    failing = [h for h in hosts if h.checked and h.exit_status == 1]
    page = ENV.get_template("merged.html.j2").render(
        hosts=hosts,
        host_ids={h.host: i for i, h in enumerate(hosts, 1)},  # the sections' anchors
        checks=checks,
        rows=rows,
        status=status,
        verdict={0: "PASS", 1: "FAIL", HARNESS_ERROR: "NOT ALL CHECKED"}[status],
        failing=failing,
        unchecked=[h for h in hosts if not h.checked],
    )
    path.write_text(page, encoding="utf-8", errors="backslashreplace")


def merge(
    paths: Iterable[Path],
    out: Path,
    *,
    names: Sequence[str] | None = None,
    not_checked: Sequence[tuple[str, str]] = (),
) -> tuple[int, list[HostResult]]:
    """Read every host's results and write ``out``/junit.xml and ``out``/report.html; return
    the fleet's exit status and the hosts. ``not_checked`` names hosts that have no results
    and why (unreachable, their run could not start): they are in the report as not checked."""
    paths = list(paths)
    if not paths and not not_checked:
        raise MergeError("no results files given")
    hosts = [load(p, host=(names[i] or None) if names else None) for i, p in enumerate(paths)]
    hosts += [HostResult(h, "", HARNESS_ERROR, unreadable=why) for h, why in not_checked]
    seen: Counter[str] = Counter(h.host for h in hosts)
    twice = sorted(n for n, c in seen.items() if c > 1)
    if twice:
        raise MergeError(
            f"two results files name the same host ({', '.join(twice)}): merge each host once"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MergeError(f"cannot make {out}: {exc.strerror}") from exc
    write_junit(hosts, out / "junit.xml")
    write_html(hosts, out / "report.html")
    return exit_status(hosts), hosts
