"""The reporting plugin, run in a throwaway pytest with pytester: JUnit as CI servers read it
(junitparser), the exit statuses, and the HTML report's content and escaping."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Properties, Skipped, TestCase, TestSuite

from reports.html import render_html
from reports.results import CheckResult, Place
from tests.report_reading import Page

CHECKS = """
import pytest
from rules.judgement import failed, passed

@pytest.mark.check("XX-01")
def test_passes(hold):
    hold(passed("fe80::1 answered echo in 0.1 ms", ["sent echo to fe80::1"]))

@pytest.mark.check("XX-02")
@pytest.mark.parametrize("where", ["net-a", "<script>alert(1)</script>"])
def test_fails(hold, where):
    hold(failed(
        f"gateway did not answer on {where}",
        ["sent echo to fe80::1", 'saw "nothing" & <nothing>'],
        fix="restore fe80::1 on the bridge",
        hop="bridge",
    ))

@pytest.mark.check("XX-03")
def test_skips():
    pytest.skip("no RA seen on uplink0")

def test_without_check():
    pass
"""

# what the suites' conftest does for the real checks: a catalog and where each item ran
CATALOG = """
from reports.results import CATALOG, LOCATE, PATHS, CheckInfo, Place

def pytest_configure(config):
    config.stash[CATALOG] = {
        "XX-01": CheckInfo("always passes", "RFC 0000"),
        "XX-02": CheckInfo("gateway answers", "RFC 4861 §7.2", "bridge"),
    }
    config.stash[LOCATE] = locate
    config.stash[PATHS] = {"net-a": {"container": "ctr-1 2001:db8:1::2", "bridge": "br-1 fe80::1"}}

def locate(item):
    where = getattr(item, "callspec", None)
    if where is None:
        return Place("host", "host")
    net = where.params["where"]
    return Place(net, f"{net}/ctr-1")
"""

BROKEN = """
import pytest
from reports.results import harness_problem

@pytest.mark.check("XX-04")
def test_breaks():
    {}["missing"]

@pytest.mark.check("XX-05")
def test_cannot_run(request):
    harness_problem(request.config, "no Docker: no socket there")
    pytest.skip("no Docker: no socket there")
"""


@dataclass
class Run:
    result: pytest.RunResult
    xml: JUnitXml
    html: str
    path: Path


def run(pytester: pytest.Pytester, *, checks: str = CHECKS, catalog: bool = True) -> Run:
    pytester.makepyfile(test_checks=checks)
    if catalog:
        pytester.makeconftest(CATALOG)
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    return Run(
        result,
        JUnitXml.fromfile(str(out / "junit.xml")),
        (out / "report.html").read_text(),
        out / "junit.xml",
    )


def suites(xml: JUnitXml) -> list[TestSuite]:
    return [xml] if isinstance(xml, TestSuite) else list(xml)


def cases(xml: JUnitXml) -> dict[str, TestCase]:
    return {case.name: case for suite in suites(xml) for case in suite}


def props(case: TestCase) -> dict[str, str]:
    found = case.child(Properties)
    return {p.name: p.value for p in found} if found is not None else {}


def test_testcases_are_named_and_carry_their_properties(pytester: pytest.Pytester) -> None:
    r = run(pytester)
    assert r.result.ret == 1
    by_name = cases(r.xml)
    assert set(by_name) == {
        "XX-01 always passes [host]",
        "XX-02 gateway answers [net-a/ctr-1]",
        "XX-02 gateway answers [<script>alert(1)</script>/ctr-1]",
        "XX-03 skips [host]",
        "test_without_check",
    }
    failed = props(by_name["XX-02 gateway answers [net-a/ctr-1]"])
    assert failed["check"] == "XX-02"
    assert failed["target"] == "unknown"
    assert failed["where"] == "net-a"
    assert failed["diagnosis"] == "gateway did not answer on net-a"
    assert failed["nodeid"] == "test_checks.py::test_fails[net-a]"
    passed = props(by_name["XX-01 always passes [host]"])
    assert "diagnosis" not in passed
    assert passed["proof"] == "fe80::1 answered echo in 0.1 ms"  # what the pass rests on
    assert "check" not in props(by_name["test_without_check"])
    skipped = by_name["XX-03 skips [host]"]
    assert isinstance(skipped.result[0], Skipped)
    assert skipped.result[0].message == "no RA seen on uplink0"


def test_suite_properties(pytester: pytest.Pytester) -> None:
    (suite,) = suites(run(pytester).xml)
    found = {p.name: p.value for p in suite.properties()}
    assert {"target", "host", "kernel", "harness", "started"} <= set(found)
    assert found["harness"].startswith("v6conform ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", found["started"])
    assert suite.tests == 5
    assert suite.failures == 2
    assert suite.skipped == 1


def test_failure_text_holds_diagnosis_evidence_fix(pytester: pytest.Pytester) -> None:
    case = cases(run(pytester).xml)["XX-02 gateway answers [net-a/ctr-1]"]
    (failure,) = case.result
    assert isinstance(failure, Failure)
    text = failure.text or ""
    assert "gateway did not answer on net-a" in text
    assert "evidence:\n  sent echo to fe80::1" in text
    assert "fix: restore fe80::1 on the bridge" in text
    assert "Traceback" not in text


# what the Jenkins (xunit-plugin junit-10.xsd) and GitLab readers accept, plus testcase
# <properties>, the one extension we make on purpose (check, target, where, diagnosis, nodeid)
SUITE_CHILDREN = {"properties", "testcase", "system-out", "system-err"}
CASE_CHILDREN = {"properties", "skipped", "error", "failure", "system-out", "system-err"}
CASE_ATTRIBUTES = {"name", "classname", "time"}


def test_junit_shape_is_what_ci_servers_read(pytester: pytest.Pytester) -> None:
    root = ET.parse(run(pytester).path).getroot()
    assert root.tag == "testsuites"
    for suite in root.iter("testsuite"):
        assert {"name", "tests", "failures", "errors"} <= set(suite.attrib)
        assert {child.tag for child in suite} <= SUITE_CHILDREN
        assert suite[0].tag == "properties"
        for case in suite.iter("testcase"):
            assert set(case.attrib) <= CASE_ATTRIBUTES
            assert {child.tag for child in case} <= CASE_CHILDREN
            for prop in case.iter("property"):
                assert set(prop.attrib) == {"name", "value"}


def test_without_a_catalog_names_fall_back_to_the_function(pytester: pytest.Pytester) -> None:
    r = run(pytester, catalog=False)
    assert "XX-02 fails [net-a]" in cases(r.xml)


def test_a_check_that_breaks_is_a_harness_error(pytester: pytest.Pytester) -> None:
    r = run(pytester, checks=BROKEN)
    assert r.result.ret == 3
    r.result.stdout.fnmatch_lines(
        [
            "*v6conform: the harness could not run everything*",
            "*no Docker: no socket there*",
            "*XX-04 breaks ?host?: KeyError: 'missing'*",
            "*exit status 3: not a verdict on the host*",
        ]
    )
    (suite,) = suites(r.xml)
    assert suite.errors == 1
    assert suite.failures == 0
    assert isinstance(cases(r.xml)["XX-04 breaks [host]"].result[0], Error)
    assert "HARNESS ERROR" in r.html


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_html_is_self_contained_and_escaped(pytester: pytest.Pytester) -> None:
    html = run(pytester).html
    page = parse(html)
    text = page.text
    assert html.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags
    assert not [name for name, _ in page.attributes if name.startswith("on")]  # no event handlers
    assert "<script>alert(1)</script>" in text  # shown as text, inert
    assert 'saw "nothing" & <nothing>' in text
    assert "no RA seen on uplink0" in text
    assert "default-src 'none'" in html
    for fetch in ("src=", 'href="http', "@import", "url("):
        assert fetch not in html


def test_html_matrix_links_failing_cells_to_their_detail(pytester: pytest.Pytester) -> None:
    page = parse(run(pytester).html)
    text = page.text
    assert "FAIL" in text
    links = [link for link in page.links if link.startswith("#")]
    assert links
    assert all(link[1:] in page.ids for link in links)
    # the failing check's detail: diagnosis, evidence, fix, reference and the path picture
    assert "restore fe80::1 on the bridge" in text
    assert "RFC 4861 §7.2" in text
    assert "svg" in page.tags
    assert "breaks here" in text  # where its own evidence said: the bridge
    assert "ctr-1 2001:db8:1::2" in text


def test_a_failure_that_places_no_hop_is_not_placed_from_the_catalog(
    pytester: pytest.Pytester,
) -> None:
    checks = CHECKS.replace('        hop="bridge",\n', "")
    page = parse(run(pytester, checks=checks).html)
    assert "breaks here" not in page.text
    assert "not known from this item's evidence" in page.text


# -- verdicts and harness errors -------------------------------------------------------------

# a decoder of the harness's own, outside the test modules (so, like probes/, not rewritten by
# pytest): its internal asserts are no verdict on the host
DECODER = """
def decode(data):
    assert data[:1] == b"\\x86", "not a Router Advertisement"
    return data


def checksum(data):
    assert len(data) % 2 == 0
    return 0
"""

NOT_VERDICTS = """
import pytest
from fakeprobe.decoder import checksum, decode
from reports.diagnosis import explain

def judge(seen):
    if seen != "an RA":
        pytest.fail(explain("no RA on uplink0", [f"saw {seen}"], fix="start radvd"))

@pytest.mark.check("XX-10")
def test_verdict_in_a_helper():
    judge("nothing")

@pytest.mark.check("XX-11")
def test_verdict_by_fail():
    pytest.fail(explain("100% of echoes lost {on} bridge", ["sent 2, got 0"]))

@pytest.mark.check("XX-12")
def test_probe_asserts():
    decode(b"\\x85junk")

@pytest.mark.check("XX-13")
def test_probe_asserts_after_an_explain():
    early = explain("nameserver 2001:db8::53 did not answer")
    assert early
    checksum(b"odd")

@pytest.mark.check("XX-14")
def test_assert_without_a_diagnosis():
    assert 1 + 1 == 3
"""


def test_only_a_checks_own_verdict_fails_the_host(pytester: pytest.Pytester) -> None:
    pytester.mkpydir("fakeprobe")
    (pytester.path / "fakeprobe" / "decoder.py").write_text(DECODER)
    r = run(pytester, checks=NOT_VERDICTS, catalog=False)
    assert r.result.ret == 3  # the harness broke: no verdict on the host, whatever else failed
    (suite,) = suites(r.xml)
    assert suite.failures == 2
    assert suite.errors == 3
    by_name = cases(r.xml)
    for judged in ("XX-10 verdict_in_a_helper [host]", "XX-11 verdict_by_fail [host]"):
        assert isinstance(by_name[judged].result[0], Failure), judged
    assert props(by_name["XX-10 verdict_in_a_helper [host]"])["diagnosis"] == "no RA on uplink0"
    assert props(by_name["XX-11 verdict_by_fail [host]"])["diagnosis"] == (
        "100% of echoes lost {on} bridge"
    )
    for broke in (
        "XX-12 probe_asserts [host]",
        "XX-13 probe_asserts_after_an_explain [host]",
        "XX-14 assert_without_a_diagnosis [host]",
    ):
        case = by_name[broke]
        assert isinstance(case.result[0], Error), broke
        assert "diagnosis" not in props(case), broke
    # the broken checks keep their traceback (a bug to fix), and say where the assert was
    error_text = by_name["XX-13 probe_asserts_after_an_explain [host]"].result[0].text or ""
    assert "def checksum" in error_text
    assert not error_text.startswith("nameserver 2001:db8::53 did not answer")
    r.result.stdout.fnmatch_lines(
        [
            "*v6conform: the harness could not run everything*",
            "*XX-12 probe_asserts ?host?: AssertionError: not a Router Advertisement "
            "(an assertion at fakeprobe?decoder.py:3 in decode, with no diagnosis: not a verdict*",
            "*XX-13 probe_asserts_after_an_explain ?host?: AssertionError (an assertion at "
            "fakeprobe?decoder.py:8 in checksum*",
            "*XX-14 assert_without_a_diagnosis*",
            "*exit status 3: not a verdict on the host*",
        ]
    )
    assert "HARNESS ERROR" in r.html


GROUPS = """
import asyncio
import pytest
from probes.errors import NetnsError, ProbeError

async def gone(name):
    raise ProbeError(
        f"container {name}",
        "the resolver script could not run: nsenter exited with status 1: "
        "nsenter: cannot open /proc/123/ns/mnt: No such file or directory",
    )

async def fine():
    await asyncio.sleep(0)

@pytest.fixture(scope="session")
async def inside():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fine())
        tg.create_task(gone("v6conform-1-bridge"))
    return {}

@pytest.mark.check("XX-20")
async def test_uses_the_fixture(inside):
    assert inside == {}

@pytest.mark.check("XX-21")
async def test_groups_in_its_own_body():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(gone("a"))
        async def nested():
            async with asyncio.TaskGroup() as inner:
                inner.create_task(gone("b"))
                inner.create_task(gone("b"))
        tg.create_task(nested())

@pytest.mark.check("XX-22")
async def test_a_bug_among_harness_errors():
    async def bug():
        {}["missing"]
    async with asyncio.TaskGroup() as tg:
        tg.create_task(gone("c"))
        tg.create_task(bug())

@pytest.mark.check("XX-23")
def test_a_bare_harness_error():
    raise NetnsError("container x", "cannot enter it: No such file or directory")
"""


def test_a_harness_error_in_a_task_group_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = session\n"
    )
    r = run(pytester, checks=GROUPS, catalog=False)
    assert r.result.ret == 3
    (suite,) = suites(r.xml)
    assert suite.failures == 0
    assert suite.errors == 4
    by_name = cases(r.xml)
    fixture = by_name["XX-20 uses_the_fixture [host]"].result[0]
    assert isinstance(fixture, Error)
    for text in (fixture.message or "", fixture.text or ""):
        assert "harness error: container v6conform-1-bridge: the resolver script could not run" in (
            text
        )
        assert "nsenter: cannot open /proc/123/ns/mnt" in text
        assert "ExceptionGroup" not in text
        assert "Traceback" not in text
    body = by_name["XX-21 groups_in_its_own_body [host]"].result[0]
    assert isinstance(body, Error)
    assert (body.text or "").count("\n") == 0  # one line, each reason once
    assert "harness error: container a: " in (body.text or "")
    assert (body.text or "").count("container b: ") == 1
    bug = by_name["XX-22 a_bug_among_harness_errors [host]"].result[0]
    assert isinstance(bug, Error)
    assert "KeyError" in (bug.text or "")  # a bug is not passed off as a harness error
    bare = by_name["XX-23 a_bare_harness_error [host]"].result[0]
    assert (bare.text or "") == (
        "harness error: network namespace container x: cannot enter it: No such file or directory"
    )
    r.result.stdout.fnmatch_lines(
        [
            "*v6conform: the harness could not run everything*",
            "*XX-20 uses_the_fixture ?host?: harness error: container v6conform-1-bridge: *",
            "*XX-22 a_bug_among_harness_errors ?host?: ExceptionGroup: *: ProbeError: container c:"
            "*; KeyError: 'missing'",
            "*exit status 3: not a verdict on the host*",
        ]
    )


DAEMON_DIED = """
import pytest
from probes.errors import DockerUnavailable

@pytest.mark.check("XX-06")
@pytest.mark.parametrize("where", ["a", "b", "c"])
def test_asks_docker(where):
    raise DockerUnavailable("unix:///run/d.sock", "cannot talk to the daemon")

@pytest.mark.check("XX-07")
def test_asks_docker_too():
    raise DockerUnavailable("unix:///run/d.sock", "cannot talk to the daemon")
"""


def test_one_cause_is_one_line_however_many_items_it_broke(pytester: pytest.Pytester) -> None:
    """A dockerd that dies mid-run breaks every check that asks it: the run says so once."""
    r = run(pytester, checks=DAEMON_DIED)
    assert r.result.ret == 3
    out = r.result.stdout.str()
    section = out.split("the harness could not run everything", 1)[1].split("exit status 3")[0]
    said = [line.strip() for line in section.splitlines() if line.strip().strip("-")]
    assert said == [
        "harness error: Docker at unix:///run/d.sock: cannot talk to the daemon "
        "(4 items: XX-06 ×3, XX-07)"
    ], said
    (suite,) = suites(r.xml)
    assert suite.errors == 4  # JUnit still has every item, each an <error>


def test_html_folds_a_crowded_columns_passes_and_keeps_what_did_not_pass_open() -> None:
    results = [
        CheckResult(f"t[w{i}@v6net]", "GW-02", f"t[w{i}@v6net]", Place("v6net", f"v6net/w{i}"))
        for i in range(100)
    ]
    results[42] = CheckResult(
        "t[w42@v6net]", "GW-02", "t[w42@v6net]", Place("v6net", "v6net/w42"), outcome="failed"
    )
    few = [CheckResult("t[host]", "RT-01", "t[host]", Place("host", "host"))]
    html = render_html(
        results=results + few,
        catalog={},
        paths={},
        properties={"target": "lab v6c"},
        harness_failures=[],
        exitstatus=1,
    )
    fold = html.index("<details>")  # the run's own details (class "run") are not a fold
    folded = html[fold : html.index("</details>", fold)]
    assert "99 items passed here" in folded
    assert "v6net/w42" not in folded  # the failure stays in sight
    assert html.count("<details>") == 1  # the host's one item is not folded
    # a cell's tooltip names the failure first and counts the rest
    assert 'title="v6net/w42: failed; v6net/w0: passed' in html
    assert "and 88 more" in html


CAUSED = """
import pytest
from reports.diagnosis import explain

@pytest.mark.check("XX-01")
def test_cause():
    pytest.fail(explain("the FORWARD policy drops <all>", ["policy DROP"], fix="accept it",
                        hop="host", breaks=["rule:FORWARD policy DROP", "path:net-a"]))

@pytest.mark.check("XX-02")
@pytest.mark.parametrize("where", ["net-a", "net-b"])
def test_fails(where):
    pytest.fail(explain(f"no answer on {where}", ["sent echo"], hop="unknown",
                        needs=[f"path:{where}"]))
"""


def test_the_reports_lead_with_the_cause_and_each_symptom_names_it(
    pytester: pytest.Pytester,
) -> None:
    r = run(pytester, checks=CAUSED)
    assert r.result.ret == 1  # the grouping changes no verdict and no exit status
    by_name = cases(r.xml)
    symptom = by_name["XX-02 gateway answers [net-a/ctr-1]"]
    cause_line = "XX-01 always passes [host]: the FORWARD policy drops <all>"
    assert props(symptom)["cause"] == cause_line
    failure = symptom.result[0]
    assert isinstance(failure, Failure)
    assert (failure.text or "").startswith(
        f"cause: {cause_line}\n  tied by: needs the forwarding path of network net-a"
    )
    # net-b's failure needs what nothing broke: it stands on its own, named by no cause
    lone = by_name["XX-02 gateway answers [net-b/ctr-1]"]
    assert "cause" not in props(lone)
    start = r.html.index("<h2>Causes</h2>")
    causes = r.html[start : r.html.index("Checks × where they ran")]
    assert "the FORWARD policy drops &lt;all&gt;" in causes  # escaped, as every text
    assert "explains 1 other failure: XX-02" in causes
    assert "Where it breaks: on this host" in causes
    assert "<strong>Fix:</strong> accept it</summary>" in causes  # one line, the rest folded
    # the terminal ends with the causes and their fixes, each said once
    out = r.result.stdout.lines
    tail = out[out.index(next(x for x in out if "v6conform: 2 causes, and their fixes" in x)) :]
    assert tail[1] == "1. XX-01 [host]: the FORWARD policy drops <all>"
    assert "   explains 1 other failure: XX-02" in tail
    assert "   fix: accept it" in tail
    assert sum("XX-02" in x for x in out if "explains" in x) == 1
    # the symptom's failure text names its cause, as in JUnit
    text = r.result.stdout.str()
    assert f"cause: {cause_line}\n  tied by: needs the forwarding path of network net-a" in text
    assert "where it breaks is not known" in r.html  # net-a's picture: its evidence cannot tell
    doc = json.loads((r.path.parent / "results.json").read_text())
    assert [c["check"] for c in doc["causes"]] == ["XX-01", "XX-02"]
    [tied] = doc["causes"][0]["symptoms"]
    assert tied["nodeid"] == "test_checks.py::test_fails[net-a]"
    assert tied["tied_by"] == [{"cause": "test_checks.py::test_cause", "facts": ["path:net-a"]}]
    assert {i["outcome"] for i in doc["items"]} == {"failed"}


PROM_LINE = re.compile(r'^([a-z_0-9]+)\{((?:[a-z]+="(?:[^"\\]|\\.)*",?)*)\} (-?[0-9.]+)$')


def test_a_prometheus_textfile_has_one_series_per_check_and_place(
    pytester: pytest.Pytester,
) -> None:
    r = run(pytester)
    text = (r.path.parent / "v6conform.prom").read_text()
    series = [PROM_LINE.match(line) for line in text.splitlines() if not line.startswith("#")]
    assert all(series), [line for line in text.splitlines() if not PROM_LINE.match(line)]
    checks = [m for m in series if m and m[1] == "v6conform_check"]
    assert len(checks) == 4  # one per check item; the test without a check has none
    failed = [m for m in checks if 'outcome="failed"' in m[2]]
    assert {m[3] for m in failed} == {"0"}
    passed = next(m for m in checks if 'check="XX-01"' in m[2])
    assert passed[3] == "1"
    assert 'outcome="passed"' in passed[2]
    # label values escaped as the text format wants: the hostile item's quotes and markup stay
    assert 'item="<script>alert(1)</script>/ctr-1"' in text
    assert "v6conform_exit_status{" in text
    assert text.endswith("\n")
    assert not list(r.path.parent.glob(".v6conform.prom.*"))  # written whole, then renamed


HOSTILE = """
import pytest
from rules.judgement import failed, not_observed, passed

PEER = "HTTP/1.1 200 \\x1b[2J\\x1b]0;pwned\\x07 OK\\x00 \\udcff \\ufffe <b>&"

@pytest.mark.check("XX-01")
def test_passes(hold):
    hold(passed(f"answered: {PEER}", [f"saw {PEER}"]))

@pytest.mark.check("XX-02")
def test_fails(hold):
    hold(failed(f"the endpoint said {PEER}", [f"saw {PEER}"], fix=f"ask {PEER}"))

@pytest.mark.check("XX-03")
def test_skips(hold):
    hold(not_observed(f"nothing to judge: {PEER}"))
"""


def test_what_a_peer_sent_reaches_every_report_as_visible_text(pytester: pytest.Pytester) -> None:
    """Escape codes, NUL, a lone surrogate and an XML noncharacter in a peer's text: junit.xml
    stays well-formed, the terminal gets no control character, results.json, the HTML and the
    Prometheus file are all written, and the run's exit is the verdict's (1), not a crash."""
    import json
    import xml.etree.ElementTree as ET

    r = run(pytester, checks=HOSTILE)
    assert r.result.ret == 1
    out = r.path.parent
    ET.parse(out / "junit.xml")  # well-formed
    junit = (out / "junit.xml").read_text()
    assert "\\x1b[2J" in junit
    assert "\\udcff" in junit
    assert "\x1b" not in junit
    text = "\n".join(r.result.outlines + r.result.errlines)
    assert not any(c in text for c in "\x1b\x00\x07"), text
    assert "\\x1b[2J" in text
    doc = json.loads((out / "results.json").read_text())
    failed = next(i for i in doc["items"] if i["check"] == "XX-02")
    assert "\\x1b[2J" in failed["diagnoses"][0]["summary"]
    assert "\\x00" in failed["diagnoses"][0]["fix"]
    assert "\\udcff" in r.html
    assert "&lt;b&gt;" in r.html
    assert (out / "v6conform.prom").read_text()


SURVEYED = """
import time
import pytest
from reports.results import SURVEY_READY

@pytest.fixture(scope="session")
def slow_part(request):
    time.sleep(0.6)  # the survey: every item that reads this part waited on it, not the first
    request.config.stash[SURVEY_READY] = {"slow_part": 0.6, "fast_part": 0.1}

@pytest.fixture(scope="session")
def fast_part(slow_part):
    pass

@pytest.mark.check("XX-01")
@pytest.mark.parametrize("where", ["net-a", "net-b"])
def test_reads_slow(slow_part, where):
    pass

@pytest.mark.check("XX-02")
def test_reads_fast(fast_part):
    pass
"""


def test_an_items_time_is_when_its_evidence_was_in_not_the_shared_survey(
    pytester: pytest.Pytester,
) -> None:
    r = run(pytester, checks=SURVEYED)
    assert r.result.ret == 0
    doc = json.loads((r.path.parent / "results.json").read_text())
    times = {i["nodeid"]: i["duration_s"] for i in doc["items"]}
    slow = [t for n, t in times.items() if "test_reads_slow" in n]
    assert all(0.6 <= t < 0.7 for t in slow), times  # both waited on it, not the first alone
    # the second part needs the first: its fixture closure names both, the slowest counts
    assert 0.6 <= times["test_checks.py::test_reads_fast"] < 0.7, times
    junit_times = [float(c.time) for c in cases(r.xml).values()]
    assert all(0.6 <= t < 0.7 for t in junit_times), junit_times
    prom = (r.path.parent / "v6conform.prom").read_text()
    assert prom.count("v6conform_check_duration_seconds{") == 3
    assert "} 0.6" in prom
