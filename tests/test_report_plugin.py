"""The reporting plugin, run in a throwaway pytest with pytester."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

CHECKS = """
import pytest
from reports.diagnosis import explain

@pytest.mark.check("XX-01")
def test_passes():
    assert True

@pytest.mark.check("XX-02")
@pytest.mark.parametrize("where", ["net-a", "<script>alert(1)</script>"])
def test_fails(where):
    assert where == "nowhere", explain(
        f"gateway did not answer on {where}",
        ["sent echo to fe80::1", 'saw "nothing" & <nothing>'],
        fix="restore fe80::1 on the bridge",
    )

@pytest.mark.check("XX-03")
def test_skips():
    pytest.skip("no RA seen on uplink0")

def test_without_check():
    pass
"""


@pytest.fixture
def report(pytester: pytest.Pytester) -> tuple[pytest.RunResult, ET.Element, str]:
    pytester.makepyfile(test_checks=CHECKS)
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    return result, ET.parse(out / "junit.xml").getroot(), (out / "report.html").read_text()


def cases(root: ET.Element) -> dict[str, dict[str, str]]:
    return {
        tc.get("name", ""): {p.get("name", ""): p.get("value", "") for p in tc.iter("property")}
        for tc in root.iter("testcase")
    }


def test_exit_status_and_properties(report: tuple[pytest.RunResult, ET.Element, str]) -> None:
    result, root, _ = report
    assert result.ret == 1
    props = cases(root)
    assert props["test_passes"]["check"] == "XX-01"
    assert props["test_fails[net-a]"]["check"] == "XX-02"
    assert props["test_fails[net-a]"]["diagnosis"] == "gateway did not answer on net-a"
    assert "diagnosis" not in props["test_passes"]
    assert props["test_skips"]["check"] == "XX-03"
    assert "check" not in props["test_without_check"]
    assert all("target" in p for name, p in props.items() if name != "test_without_check")


def test_failure_text_holds_diagnosis_evidence_fix(
    report: tuple[pytest.RunResult, ET.Element, str],
) -> None:
    _, root, _ = report
    failure = next(tc for tc in root.iter("testcase") if tc.get("name") == "test_fails[net-a]")
    node = failure.find("failure")
    assert node is not None
    text = node.text or ""
    assert "gateway did not answer on net-a" in text
    assert "evidence:\n  sent echo to fe80::1" in text
    assert "fix: restore fe80::1 on the bridge" in text
    assert "Traceback" not in text


def test_html_is_self_contained_and_escaped(
    report: tuple[pytest.RunResult, ET.Element, str],
) -> None:
    _, _, html = report
    assert html.startswith("<!DOCTYPE html>")
    assert "FAIL" in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "saw &quot;nothing&quot; &amp; &lt;nothing&gt;" in html
    assert "no RA seen on uplink0" in html
    for fetch in ("src=", 'href="http', "@import", "url("):
        assert fetch not in html
