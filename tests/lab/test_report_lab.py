"""The reports of a real lab run, read by their readers: what a hostile host put into them stays
text, in a real browser too, and the report reads the same with scripts off."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.suite_run import run_suites
from tests.browser import chromium_available, open_page
from tests.lab.names import lab_name
from tests.report_reading import assert_reports_hold

pytestmark = pytest.mark.lab

# the line the hostile-text scenario adds to the host's resolv.conf (lab/scenarios.py)
HOSTILE = """nameserver <script>alert("v6c")</script>'"><img src=x onerror=alert(1)>"""


def test_hostile_text_stays_text(tmp_path: Path) -> None:
    name = lab_name("v6crpt")
    run = run_suites(tmp_path, "--lab", "hostile-text", "--lab-name", name)
    assert run.returncode == 1, run.output[-3000:]
    _, page = assert_reports_hold(tmp_path, f"lab:{name}/hostile-text")
    # JUnit: the line comes back whole from the XML, escaped in the file, not dropped
    assert any(HOSTILE in c.text for c in run.by_check("DNS-01") if c.outcome == "failed")
    # HTML, as a parser builds it: the line is text; no script or img element, no handler
    assert HOSTILE in page.text
    assert "img" not in page.tags
    if chromium_available() is None:
        pytest.skip("no chromium (make test installs Debian's chromium package)")
    report = tmp_path / "report.html"
    seen = open_page(report, tmp_path / "report.png")
    assert seen.clean, seen.describe()  # no console error, exception, fetch or dialog
    assert seen.title.startswith("v6conform FAIL")
    assert HOSTILE in seen.text
    assert seen.screenshot.stat().st_size > 20_000
    print(f"screenshot: {seen.screenshot}")
    # with scripts off the summary reads the same: the report needs none
    off = open_page(report, tmp_path / "report-noscript.png", javascript=False)
    assert off.clean, off.describe()
    for words in ("FAIL", "Checks × where they ran", "DNS-01", "breaks here", HOSTILE):
        assert words in off.text
