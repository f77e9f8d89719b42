"""The reporting plugin: check IDs and targets into JUnit, and a self-contained HTML report.

Registered by the root conftest. Reports are written when the suites run (or whenever
``--report-dir`` is given): ``reports/out/junit.xml``, ``reports/out/report.html``,
``reports/out/results.json`` (each leading with the run's causes, reports.causes) and
``reports/out/v6conform.prom`` (node_exporter's textfile collector).

Exit status: 0 every check passed (or was skipped), 1 a check failed, 3 (``HARNESS_ERROR``) the
harness could not run what was asked (a bad profile, no lab, no Docker or not root where checks
needed them, a check that broke instead of judging); 3 wins over 1. A user's mistake (a value
no option takes, ``--containers`` naming nothing that runs, a report directory that cannot be
written) is 3 too, said in one line before anything is probed. pytest's own 2 (interrupted),
4 (its own usage errors) and 5 (no tests collected) keep their meaning.

Every line that says how to run an item again carries the run's selection (its lab or target,
Docker endpoint, profile, containers: ``reports.results.rerun_command``), so that pasted from a
lab's report it runs against that lab, not this machine.

A check failed (1) only by its verdict: its own ``assert`` or ``pytest.fail`` with the message
:func:`reports.diagnosis.explain` built. Anything else it raises means it broke (JUnit
``<error>``, 3): an exception, an ``AssertionError`` without a diagnosis (a probe's or a parser's
own ``assert``), a harness error, alone or in the exception group of a task group (said in one
line: ``harness error: ...``).
"""

from __future__ import annotations

import collections
import datetime
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Generator
from importlib import metadata
from pathlib import Path
from typing import NoReturn

import pytest

from probes.errors import harness_errors, leaves, one_line
from reports import json_report, junit, prometheus
from reports.causes import Cause, find_causes, lend_causes
from reports.diagnosis import PROOFS, Hold, verdict_of
from reports.html import hop_of, render_html
from reports.lead import CauseLead, lead, terminal_lines
from reports.results import (
    CATALOG,
    HARNESS_PROBLEMS,
    HOST,
    LOCATE,
    PATHS,
    RERUN,
    RERUN_COMMAND,
    SUITE_PROPERTIES,
    SURVEY_READY,
    CheckInfo,
    CheckResult,
    Place,
    harness_problem,
    rerun_command,
)
from reports.text import visible, visible_line
from rules.judgement import Judgement

HARNESS_ERROR = 3  # pytest's "internal error": the test is broken, not (only) the host
TARGET_LABEL = pytest.StashKey[str]()
RESULTS = pytest.StashKey[list[CheckResult]]()
REPORT_DIR = pytest.StashKey[Path]()
REPORT_FILES = ("junit.xml", "report.html", "results.json", "v6conform.prom")
AREA_MARKERS = {
    "gateway": "link-local gateway checks GW-*",
    "routing": "routed-prefix checks RT-*",
    "pmtu": "path MTU checks PMTU-*",
    "dns": "DNS checks DNS-*",
    "endpoints": "endpoint checks EP-* (the profile's [[endpoints]])",
    "published": "AF-02: the client's address on published ports (reached over IPv6)",
    "nat64": "IPv6-only checks: NAT64-01 and DNS-05 (the A-only trap)",
    "rdnss": "Router Advertisement and RDNSS checks RA-*",
    "resolvconf": "resolv.conf and build-container checks RC-*",
    "family": "address-family checks AF-* (which family applications use)",
}


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
    config.stash.setdefault(HARNESS_PROBLEMS, [])
    _properties(config)


def _version() -> str:
    try:
        return metadata.version("v6conform")
    except metadata.PackageNotFoundError:
        return "unknown"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """Point pytest's own JUnit writer at the report directory before it configures; a
    directory that cannot be written stops the run here, in one line, before anything is
    probed (its reports could not say what was found)."""
    report_dir = config.getoption("report_dir")
    if report_dir is None and not _runs_suites(config):
        return None
    out = Path(report_dir or config.getini("v6conform_report_dir") or "reports/out")
    if not out.is_absolute():
        out = config.rootpath / out
    problem = unwritable(out)
    if problem is not None:
        option = "--report-dir" if report_dir else "the report directory (v6conform_report_dir)"
        sys.stderr.write(f"v6conform: {option} {out}: {problem}\n")
        return HARNESS_ERROR
    if not config.option.xmlpath:
        config.option.xmlpath = str(out / "junit.xml")
    config.stash[REPORT_DIR] = out
    return None


def unwritable(out: Path) -> str | None:
    """Why the reports cannot be written into ``out`` (made if missing), or None: a file in
    the way, a read-only file system, no permission; a report file that is not a file."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except FileExistsError:
        return "not a directory (a file is in the way)"
    except OSError as exc:
        return f"cannot write there: {exc.strerror or exc}"
    for name in REPORT_FILES:
        path = out / name
        if path.exists() and not path.is_file():
            return f"{name} there is not a file"
        if path.exists() and not os.access(path, os.W_OK):
            return f"cannot write {name} there: permission denied"
    return None


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
            # what to pass pytest to run this one item again
            item.user_properties.append(("nodeid", item.nodeid))


@pytest.fixture
def hold(request: pytest.FixtureRequest) -> Hold:
    """Bind a rule's judgement to this check: ``hold(judge_…(…))`` (reports.diagnosis.Hold)."""
    return Hold(request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if check_id(item) is None:
        return report
    verdict = _verdict(call) if report.when == "call" else None
    diagnoses = [verdict] if verdict is not None else []
    brief = ""
    proofs = item.stash.get(PROOFS, [])
    if report.when == "call" and report.passed and proofs:
        item.user_properties.append(("proof", proofs[-1].diagnosis))
    if report.failed and verdict is not None:
        item.user_properties.append(("diagnosis", verdict.diagnosis))
        # the verdict, its evidence and the fix say more than a Python traceback; then how to
        # see it again, against what this run probed
        again = f"run it again: {_rerun(item)}"
        report.longrepr = "\n".join([*(d.render() for d in diagnoses), again])
    elif report.failed and call.excinfo is not None:
        brief = visible_line(_broke(item, call.excinfo))
        if harness_errors(call.excinfo.value):
            # what the harness could not do, in one line; a traceback would say less
            report.longrepr = brief  # JUnit's `rerun` property says how to run it again
    if report.skipped and isinstance(report.longrepr, tuple):  # the reason may quote a peer
        where, line, reason = report.longrepr
        report.longrepr = (where, line, visible(reason))
    _record(item, report, call, diagnoses, judged=verdict is not None, brief=brief)
    return report


WARNING = "warning"  # the user property a check notes a warning with (suites/plugin/nameservers.py)


def _rerun(item: pytest.Item) -> str:
    """How to run this item again against what this run probed (reports.results.RERUN)."""
    selection: tuple[str, ...] = item.config.stash.get(RERUN, ())
    return rerun_command(selection, item.nodeid, item.config.stash.get(RERUN_COMMAND, "pytest"))


def _verdict(call: pytest.CallInfo[None]) -> Judgement | None:
    """What a check judged, if its failure is a verdict: its own assertion (or ``pytest.fail``)
    with the message :func:`reports.diagnosis.explain` built. Any other exception, an
    ``AssertionError`` raised inside a probe or a parser among them, means the check broke."""
    excinfo = call.excinfo
    if excinfo is None or not excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return None
    return verdict_of(excinfo.value)


def _broke(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """One line on why a check broke instead of judging."""
    if harness_errors(excinfo.value):  # a probe's error, or a task group of them
        return f"harness error: {one_line(excinfo.value)}"
    said = excinfo.exconly().strip()
    line = said.splitlines()[0] if said else ""
    if isinstance(excinfo.value, BaseExceptionGroup):  # what is in it, not just how many
        inside = (f"{type(e).__name__}: {' '.join(str(e).split())}" for e in leaves(excinfo.value))
        return f"{line}: {'; '.join(dict.fromkeys(inside))}"
    if isinstance(excinfo.value, AssertionError):
        entry = excinfo.traceback[-1]
        try:
            where = Path(entry.path).relative_to(item.config.rootpath)
        except ValueError:
            where = Path(entry.path)
        return (
            f"{line or 'AssertionError'} (an assertion at {where}:{entry.lineno + 1} in "
            f"{entry.name}, with no diagnosis: not a verdict on the host)"
        )
    return line or excinfo.typename


def _record(
    item: pytest.Item,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    diagnoses: list[Judgement],
    *,
    judged: bool,
    brief: str,
) -> None:
    results = item.config.stash[RESULTS]
    place = _place(item)
    if not results or results[-1].nodeid != item.nodeid:
        results.append(
            CheckResult(item.nodeid, check_id(item), item.name, place, rerun=_rerun(item))
        )
    result = results[-1]
    result.place = place  # where it ran may be known better once the fixtures have run
    result.warnings = [str(v) for k, v in item.user_properties if k == WARNING]
    if report.when == "call" and report.passed and item.stash.get(PROOFS, []):
        result.proof = item.stash[PROOFS][-1].diagnosis
    ready = item.config.stash.get(SURVEY_READY, None)
    if ready is None:  # no survey: the item did its own work
        result.duration += report.duration
    elif report.when == "setup":  # its setup waited on the survey every item shares
        needs = getattr(item, "fixturenames", ())
        result.duration = max((ready[n] for n in needs if n in ready), default=0.0)
    elif report.when == "call":  # its teardown is the run's (the survey's resources)
        result.duration += report.duration
    if report.skipped and result.outcome == "passed":
        result.outcome = "skipped"
        longrepr = report.longrepr
        result.message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    elif report.failed:
        result.outcome = "failed" if judged else "error"
        result.message = str(report.longreprtext)
        if judged or report.when == "call":  # a check that broke leaves no verdict behind
            result.diagnoses = list(diagnoses) if judged else []
        if brief:
            result.brief = brief
        elif call.excinfo is not None:
            result.brief = call.excinfo.exconly().strip().splitlines()[0]


def _place(item: pytest.Item) -> Place:
    locate = item.config.stash.get(LOCATE, None)
    if locate is not None:
        return locate(item)
    callspec = getattr(item, "callspec", None)
    return Place(HOST, callspec.id if callspec is not None else HOST)


def harness_failures(config: pytest.Config) -> list[str]:
    """Why this run is not a verdict on the host: what the harness could not run, and checks
    that broke instead of judging."""
    catalog = config.stash.get(CATALOG, {})
    # one line per cause: a dead Docker daemon breaks every check that asks it, and a reader
    # (or a CI log) needs the cause once, with what it took down
    by_cause: dict[str, list[CheckResult]] = {}
    for r in config.stash[RESULTS]:
        if r.outcome == "error":
            by_cause.setdefault(r.brief, []).append(r)
    noted: list[str] = config.stash[HARNESS_PROBLEMS]
    problems = list(noted)
    for cause, items in by_cause.items():
        if len(items) == 1:
            line = f"{items[0].title(catalog)}: {cause}"
        else:
            checks = collections.Counter(r.check or r.name for r in items)
            took = ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in checks.items())
            line = f"{cause} ({len(items)} items: {took})"
        if cause not in problems:
            problems.append(line)
    return problems


@pytest.hookimpl(trylast=True)  # after pytest's JUnit writer has written its file
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if RESULTS not in config.stash:
        return
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and (
        harness_failures(config)
    ):
        session.exitstatus = HARNESS_ERROR
    out = config.stash.get(REPORT_DIR, None)
    if out is None:
        return
    catalog = config.stash.get(CATALOG, {})
    properties = _properties(config)
    results = config.stash[RESULTS]
    causes = find_causes(results, list(catalog))
    lend_causes(causes)
    xmlpath = config.option.xmlpath
    if xmlpath and Path(xmlpath).is_file():
        junit.rewrite(Path(xmlpath), results, catalog, properties, causes)
    problems = harness_failures(config)
    html = render_html(
        results=results,
        catalog=catalog,
        paths=config.stash.get(PATHS, {}),
        properties=properties,
        harness_failures=problems,
        exitstatus=int(session.exitstatus),
        causes=causes,
    )
    (out / "report.html").write_text(html, encoding="utf-8", errors="backslashreplace")
    doc = json_report.document(
        results,
        catalog,
        properties,
        causes,
        exitstatus=int(session.exitstatus),
        harness_failures=problems,
    )
    json_report.write(out / "results.json", doc)
    prom = prometheus.render(
        results,
        causes,
        target=properties["target"],
        exitstatus=int(session.exitstatus),
        finished=time.time(),
    )
    prometheus.write(out / "v6conform.prom", prom)


def abort(config: pytest.Config, message: str) -> NoReturn:
    """Stop a run that cannot start (a bad profile, no lab) with the harness's exit status; the
    reports say why, so nobody reads an earlier run's as this one's (and, where the session
    has begun, its own reports at its end)."""
    harness_problem(config, message)
    out = config.stash.get(REPORT_DIR, None)
    if out is not None:
        properties = _properties(config)
        xmlpath = Path(config.option.xmlpath or out / "junit.xml")
        junit.write_harness_error(xmlpath, message, properties)
        html = render_html(
            results=[],
            catalog={},
            paths={},
            properties=properties,
            harness_failures=[message],
            exitstatus=HARNESS_ERROR,
        )
        (out / "report.html").write_text(html, encoding="utf-8", errors="backslashreplace")
        doc = json_report.document(
            [], {}, properties, [], exitstatus=HARNESS_ERROR, harness_failures=[message]
        )
        json_report.write(out / "results.json", doc)
        prom = prometheus.render(
            [], [], target=properties["target"], exitstatus=HARNESS_ERROR, finished=time.time()
        )
        prometheus.write(out / "v6conform.prom", prom)
    pytest.exit(f"v6conform: {message}", returncode=HARNESS_ERROR)


def _properties(config: pytest.Config) -> dict[str, str]:
    """The run's JUnit suite properties: the target, this machine, the harness, the start."""
    props = config.stash.setdefault(SUITE_PROPERTIES, {})
    props.setdefault("host", socket.gethostname())
    props.setdefault("kernel", f"{platform.system()} {platform.release()}")
    props.setdefault("harness", f"v6conform {_version()}")
    props.setdefault("started", datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    properties: dict[str, str] = {"target": config.stash.get(TARGET_LABEL, "unknown")}
    properties.update(props)
    return properties


@pytest.hookimpl(wrapper=True, tryfirst=True)  # around pytest's own: the causes come last
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter,
) -> Generator[None, None, None]:
    config = terminalreporter.config
    catalog = config.stash.get(CATALOG, {})
    leads: list[CauseLead] = []
    if RESULTS in config.stash:
        results: list[CheckResult] = config.stash[RESULTS]
        causes = find_causes(results, list(catalog))
        _name_the_causes(terminalreporter, causes, catalog)
        leads = [lead(c, catalog, hop_of(c.primary, catalog)) for c in causes]
    yield
    out = config.stash.get(REPORT_DIR, None)
    if out is not None:
        terminalreporter.write_sep(
            "-",
            f"v6conform reports: {out}/junit.xml, {out}/report.html, {out}/results.json, "
            f"{out}/v6conform.prom",
        )
    if RESULTS not in config.stash:
        return
    problems = harness_failures(config)
    if problems:
        terminalreporter.write_sep("-", "v6conform: the harness could not run everything")
        for line in problems:
            terminalreporter.write_line(visible_line(f"  {line}"))
        terminalreporter.write_line(f"  exit status {HARNESS_ERROR}: not a verdict on the host")
    if leads:
        title = (
            "the cause, and its fix" if len(leads) == 1 else f"{len(leads)} causes, and their fixes"
        )
        terminalreporter.write_sep("-", f"v6conform: {title}")
        for line in terminal_lines(leads):
            terminalreporter.write_line(visible_line(line))


def _name_the_causes(
    terminalreporter: pytest.TerminalReporter,
    causes: list[Cause],
    catalog: dict[str, CheckInfo],
) -> None:
    """A symptom's failure text begins with its cause and what tied it there, as in JUnit:
    the failures section shows each symptom with the line that explains it."""
    symptom_of = {s.result.nodeid: (c, s) for c in causes for s in c.symptoms}
    for report in terminalreporter.stats.get("failed", []):
        found = symptom_of.get(getattr(report, "nodeid", ""))
        if found is None or not isinstance(report.longrepr, str):
            continue
        cause, symptom = found
        # its own verdict, with its cause's fix and hop (causes.lend_causes)
        own = "\n\n".join(d.render() for d in symptom.result.diagnoses) or report.longrepr
        report.longrepr = visible(
            f"cause: {cause.line(catalog)}\n  tied by: {symptom.explanation(catalog)}\n\n{own}"
        )
