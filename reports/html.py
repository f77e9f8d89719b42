"""The HTML report: one self-contained file for people (no scripts, no fetches, all escaped).

Rendered with Jinja2 (autoescape on) rather than pytest-html: pytest-html 4 draws its results
table with JavaScript from embedded JSON, and this report must be readable with scripts off, on
an air-gapped host, under a Content-Security-Policy that forbids every script and fetch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from reports.causes import Cause
from reports.lead import CauseLead, distinct_titles, lead
from reports.results import HOPS, HOST, CheckInfo, CheckResult

# worst first: a cell shows the worst outcome among its items
SEVERITY = ("error", "failed", "skipped", "passed")
SYMBOL = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–"}

ENV = jinja2.Environment(  # the reports' templates: autoescaped, strict
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class Cell:
    outcome: str | None  # None: the check did not run there
    count: int
    link: str | None  # the first failing item's detail
    tip: str

    @property
    def symbol(self) -> str:
        return SYMBOL.get(self.outcome or "", "")


@dataclass(frozen=True, slots=True)
class Row:
    check: str
    title: str
    cells: tuple[Cell, ...]


HOP_WIDTH, HOP_GAP = 170, 36  # the path picture's boxes, in px


@dataclass(frozen=True, slots=True)
class Hop:
    name: str
    label: str
    broken: bool
    x: int

    @property
    def lines(self) -> list[str]:
        """A name and an address, one line each: "v6c-probe-1a2b 2001:db8:1::2"."""
        return self.label.split(" ", 1) if self.label else ["not known"]


@dataclass(frozen=True, slots=True)
class PathPicture:
    hops: tuple[Hop, ...]
    broken: str | None  # the hop where it breaks, if it is on this path
    width: int
    unknown: bool = False  # the item's evidence cannot tell where: the path, unmarked


def anchor(index: int) -> str:
    return f"item-{index}"


def columns_of(results: list[CheckResult]) -> list[str]:
    """Host first, then every place in the order items ran there."""
    seen = [HOST]
    for r in results:
        if r.place.column not in seen:
            seen.append(r.place.column)
    return seen


TIP_ITEMS = 12  # a cell's tooltip names this many items (the unpassed first), then counts
FOLD_AT = 10  # a column with more passed items than this folds them (a host's 100 containers)


def item_groups(
    results: list[CheckResult],
) -> list[tuple[str, list[tuple[str, CheckResult]], list[tuple[str, CheckResult]], bool]]:
    """Every item by column: those that did not pass, those that did, and whether to fold the
    passed ones away (a readable report at a host's 100 containers, with no script)."""
    groups = []
    for column in columns_of(results):
        here = [(anchor(i), r) for i, r in enumerate(results) if r.place.column == column]
        passed = [(a, r) for a, r in here if r.outcome == "passed"]
        others = [(a, r) for a, r in here if r.outcome != "passed"]
        groups.append((column, others, passed, len(passed) > FOLD_AT))
    return groups


def matrix(
    results: list[CheckResult], catalog: dict[str, CheckInfo], columns: list[str]
) -> list[Row]:
    rows = []
    checks = list(dict.fromkeys(r.check or "" for r in results))
    for check in checks:
        cells = []
        for column in columns:
            here = [
                (i, r)
                for i, r in enumerate(results)
                if r.check == check and r.place.column == column
            ]
            if not here:
                cells.append(Cell(None, 0, None, "did not run here"))
                continue
            worst = min((r.outcome for _, r in here), key=SEVERITY.index)
            bad = [i for i, r in here if r.outcome in ("failed", "error")]
            tips = [f"{r.place.detail}: {r.outcome}" for _, r in here if r.outcome != "passed"]
            tips += [f"{r.place.detail}: passed" for _, r in here if r.outcome == "passed"]
            more = f"; and {len(tips) - TIP_ITEMS} more" if len(tips) > TIP_ITEMS else ""
            tip = "; ".join(tips[:TIP_ITEMS]) + more
            cells.append(Cell(worst, len(here), anchor(bad[0]) if bad else None, tip))
        info = catalog.get(check)
        rows.append(Row(check, info.title if info else "", tuple(cells)))
    return rows


def hop_of(result: CheckResult, catalog: dict[str, CheckInfo]) -> str | None:
    """Where the item breaks: what its own evidence said last (a symptom: its cause's,
    causes.lend_causes). A failure whose evidence placed no hop shows none ("unknown"): a
    hop is never taken from the catalog."""
    said = [d.hop for d in result.diagnoses if d.hop]
    if said:
        return said[-1]
    return "unknown" if result.outcome == "failed" else None


def path_picture(
    result: CheckResult, catalog: dict[str, CheckInfo], paths: dict[str, dict[str, str]]
) -> PathPicture:
    """The path from the item's place to the far end, with the hop where it breaks marked."""
    labels = dict(paths.get(result.place.column) or paths.get(HOST) or {})
    # a workload's item ("v6net/web-1") starts at that container, not the network's probe one
    seat = result.place.detail.removeprefix(f"{result.place.column}/")
    if seat != result.place.detail and seat not in labels.get("container", seat):
        labels["container"] = seat
    names = HOPS if result.place.column != HOST else HOPS[2:]
    broken = hop_of(result, catalog)
    step = HOP_WIDTH + HOP_GAP
    hops = tuple(
        Hop(name, labels.get(name, ""), name == broken, 4 + i * step)
        for i, name in enumerate(names)
    )
    width = len(names) * step - HOP_GAP + 8
    return PathPicture(hops, broken if broken in names else None, width, broken == "unknown")


@dataclass(frozen=True, slots=True)
class CauseView:
    lead: CauseLead  # what, where, the fix in a line and its commands
    line: str  # "RT-04 firewall forwards container traffic [v6net]: …"
    link: str
    also: tuple[tuple[str, str], ...]  # other failures that found the same fault: title, link
    symptoms: tuple[tuple[str, str, str], ...]  # title, link, what tied it


def verdict(results: list[CheckResult], harness_failures: list[str]) -> tuple[str, str]:
    counts = Counter(r.outcome for r in results)
    if harness_failures:
        return "HARNESS ERROR", "error"
    if counts["failed"]:
        return "FAIL", "failed"
    if counts["passed"]:
        return "PASS", "passed"
    if results:  # every item skipped: nothing was judged, which is no pass
        return "NOTHING JUDGED", "skipped"
    return "NO CHECKS RAN", "skipped"


def render_html(
    *,
    results: list[CheckResult],
    catalog: dict[str, CheckInfo],
    paths: dict[str, dict[str, str]],
    properties: dict[str, str],
    harness_failures: list[str],
    exitstatus: int,
    causes: Sequence[Cause] = (),
) -> str:
    columns = columns_of(results)
    anchors = {r.nodeid: anchor(i) for i, r in enumerate(results)}
    symptom_of = {s.result.nodeid: (c, s) for c in causes for s in c.symptoms}
    word, outcome = verdict(results, harness_failures)
    counts = Counter(r.outcome for r in results)
    titles = distinct_titles(results, catalog)
    failures = [
        (anchor(i), r, path_picture(r, catalog, paths), catalog.get(r.check or ""))
        for i, r in enumerate(results)
        if r.outcome in ("failed", "error")
    ]
    return ENV.get_template("report.html.j2").render(
        verdict=word,
        verdict_outcome=outcome,
        counts=[(o, counts[o]) for o in SEVERITY if counts[o]],
        properties=properties,
        harness_failures=harness_failures,
        exitstatus=exitstatus,
        columns=columns,
        rows=matrix(results, catalog, columns),
        failures=failures,
        causes=[
            CauseView(
                lead(c, catalog, hop_of(c.primary, catalog)),
                c.line(catalog),
                anchors.get(c.primary.nodeid, ""),
                tuple((titles[m.nodeid], anchors.get(m.nodeid, "")) for m in c.members[1:]),
                tuple(
                    (
                        titles[s.result.nodeid],
                        anchors.get(s.result.nodeid, ""),
                        s.explanation(catalog),
                    )
                    for s in c.symptoms
                ),
            )
            for c in causes
        ],
        titles=titles,
        run_properties=[(k, v) for k, v in properties.items() if k != "survey"],
        survey=properties.get("survey", ""),
        symptom_of={
            nodeid: (c.line(catalog), anchors.get(c.primary.nodeid, ""), s.explanation(catalog))
            for nodeid, (c, s) in symptom_of.items()
        },
        results=[(anchor(i), r) for i, r in enumerate(results)],
        item_groups=item_groups(results),
        warnings=[(r.title(catalog), w) for r in results for w in r.warnings],
        catalog=catalog,
        symbol=SYMBOL,
        hop_width=HOP_WIDTH,
        # under a network's name, its probe container's
        column_notes={
            c: paths[c]["container"].split(" ")[0]
            for c in columns
            if "container" in paths.get(c, {}) and not c.startswith("build")
        },
    )
