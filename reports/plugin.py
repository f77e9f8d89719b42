"""The reporting plugin: check IDs and targets into JUnit, and a self-contained HTML report.

Registered by the root conftest. Reports are written when the suites run (or whenever
``--report-dir`` is given): ``reports/out/junit.xml`` and ``reports/out/report.html``.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reports.diagnosis import Diagnosis, sink
from reports.html import render_html

TARGET_LABEL = pytest.StashKey[str]()
DIAGNOSES = pytest.StashKey[list[Diagnosis]]()
RESULTS = pytest.StashKey[list["CheckResult"]]()
REPORT_DIR = pytest.StashKey[Path]()
STARTED = pytest.StashKey[str]()
AREA_MARKERS = {
    "gateway": "link-local gateway checks GW-*",
    "routing": "routed-prefix checks RT-*",
    "dns": "DNS checks DNS-*",
    "rdnss": "Router Advertisement and RDNSS checks RA-*",
    "resolvconf": "resolv.conf and build-container checks RC-*",
}


@dataclass
class CheckResult:
    nodeid: str
    check: str | None
    name: str
    outcome: str = "passed"  # passed, failed, skipped, error
    duration: float = 0.0
    message: str = ""
    diagnoses: list[Diagnosis] = field(default_factory=list)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("v6conform", "v6conform: which host to check, and where reports go")
    group.addoption(
        "--report-dir",
        metavar="DIR",
        default=None,
        help="write junit.xml and report.html there (default reports/out when the suites run)",
    )
    parser.addini("v6conform_report_dir", "default for --report-dir", default="reports/out")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(id): the conformance check this test implements")
    for name, doc in AREA_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    config.stash[RESULTS] = []
    config.stash[STARTED] = time.strftime("%Y-%m-%d %H:%M:%S %Z")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Point pytest's own JUnit writer at the report directory before it configures."""
    report_dir = config.getoption("report_dir")
    if report_dir is None and not _runs_suites(config):
        return
    out = Path(report_dir or config.getini("v6conform_report_dir") or "reports/out")
    if not out.is_absolute():
        out = config.rootpath / out
    out.mkdir(parents=True, exist_ok=True)
    if not config.option.xmlpath:
        config.option.xmlpath = str(out / "junit.xml")
    config.stash[REPORT_DIR] = out


def _runs_suites(config: pytest.Config) -> bool:
    suites = (config.rootpath / "suites").resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False


def check_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("check")
    return str(marker.args[0]) if marker and marker.args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = config.stash.get(TARGET_LABEL, "unknown")
    for item in items:
        check = check_id(item)
        if check is not None:
            item.user_properties.append(("check", check))
            item.user_properties.append(("target", target))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    item.stash[DIAGNOSES] = []
    sink.diagnoses = item.stash[DIAGNOSES]
    try:
        return (yield)
    finally:
        sink.diagnoses = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    diagnoses = item.stash.get(DIAGNOSES, [])
    if report.when == "call" and report.failed and diagnoses and check_id(item):
        item.user_properties.append(("diagnosis", diagnoses[-1].summary))
        # the verdict, its evidence and the fix say more than a Python traceback
        report.longrepr = "\n".join(d.render() for d in diagnoses)
    if check_id(item) is not None:
        _record(item, report, diagnoses)
    return report


def _record(item: pytest.Item, report: pytest.TestReport, diagnoses: list[Diagnosis]) -> None:
    results = item.config.stash[RESULTS]
    if not results or results[-1].nodeid != item.nodeid:
        results.append(CheckResult(item.nodeid, check_id(item), item.name))
    result = results[-1]
    result.duration += report.duration
    if report.skipped and result.outcome == "passed":
        result.outcome = "skipped"
        longrepr = report.longrepr
        result.message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    elif report.failed:
        result.outcome = "failed" if report.when == "call" else "error"
        result.message = str(report.longreprtext)
        result.diagnoses = list(diagnoses)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    out = config.stash.get(REPORT_DIR, None)
    if out is None:
        return
    html = render_html(
        results=config.stash[RESULTS],
        target=config.stash.get(TARGET_LABEL, "unknown"),
        started=config.stash[STARTED],
        exitstatus=int(exitstatus),
    )
    (out / "report.html").write_text(html)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    out = terminalreporter.config.stash.get(REPORT_DIR, None)
    if out is not None:
        terminalreporter.write_sep("-", f"v6conform reports: {out}/junit.xml, {out}/report.html")
