"""tests/browser.py itself: what it reports about small local pages, quickly and offline."""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import BrowserTimeout, PageRun, chromium_available, open_page

pytestmark = pytest.mark.skipif(
    chromium_available() is None, reason="no Chromium binary (Debian: apt install chromium)"
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Chromium's profile goes to a directory of this test; it and the browser must be gone."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield scratch
    assert os.listdir(scratch) == [], "open_page left its work directory behind"
    assert processes_mentioning(str(scratch)) == [], "open_page left Chromium running"


def load(tmp_path: Path, html: str, **kwargs: bool) -> PageRun:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    return open_page(page, tmp_path / "out" / "page.png", timeout=30, **kwargs)


def test_clean_page_is_clean_and_read_back(tmp_path: Path) -> None:
    run = load(
        tmp_path,
        """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clean report</title>
<style>body { font-family: sans-serif; background: #f4f4ff; } h1 { color: #225; }</style>
</head><body>
<h1>All checks passed</h1><p>Nothing to see here.</p>
<svg width="120" height="120" viewBox="0 0 120 120" role="img" aria-label="ok">
  <circle cx="60" cy="60" r="50" fill="#2a2"/><path d="M35 62 L52 80 L88 40" stroke="#fff"
  stroke-width="10" fill="none"/>
</svg>
</body></html>""",
    )
    assert run.clean, run.describe()
    assert (run.console, run.exceptions, run.requests, run.dialogs) == ((), (), (), ())
    assert run.title == "Clean report"
    assert "All checks passed" in run.text
    assert "Nothing to see here." in run.text
    shot = run.screenshot.read_bytes()
    assert shot[:8] == PNG_SIGNATURE
    assert len(shot) > 1024


def test_console_error_and_uncaught_exception_are_reported(tmp_path: Path) -> None:
    run = load(
        tmp_path,
        """<!doctype html><title>broken</title><p>text</p>
<script>console.error("boom"); console.warn("careful", 42); throw new Error("kaboom");</script>""",
    )
    assert not run.clean
    assert "error: boom" in run.console
    assert "warning: careful 42" in run.console
    assert len(run.exceptions) == 1
    assert "Uncaught Error: kaboom" in run.exceptions[0]
    assert (run.requests, run.dialogs) == ((), ())


def test_external_request_is_reported_and_data_urls_are_not(tmp_path: Path) -> None:
    dot = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    run = load(
        tmp_path,
        f"""<!doctype html><title>external</title>
<img src="{dot}" alt="inline"><img src="http://192.0.2.1/x.png" alt="external">""",
    )
    assert not run.clean
    assert run.requests == ("http://192.0.2.1/x.png",)
    assert (run.exceptions, run.dialogs) == ((), ())


def test_no_request_reaches_even_a_local_listener(tmp_path: Path) -> None:
    """Blocked or unresolvable: not one connection, WebSockets included (which
    Network.setBlockedURLs alone lets through)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        base = f"127.0.0.1:{port}"
        run = load(
            tmp_path,
            f"""<!doctype html><title>local</title><img src="http://{base}/i.png">
<link rel="preconnect" href="http://{base}"><script>new WebSocket("ws://{base}/ws");
fetch("http://{base}/f").catch(() => {{}});</script>""",
        )
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()[0].close()  # a connection would be waiting in the backlog
    assert set(run.requests) == {f"http://{base}/i.png", f"ws://{base}/ws", f"http://{base}/f"}


def test_requests_and_errors_of_a_worker_are_reported(tmp_path: Path) -> None:
    worker = 'console.error("from the worker"); fetch("http://192.0.2.2/w").catch(() => {});'
    run = load(
        tmp_path,
        f"""<!doctype html><title>worker</title>
<script>new Worker(URL.createObjectURL(new Blob([{worker!r}])));</script>""",
    )
    assert "http://192.0.2.2/w" in run.requests
    assert run.console.count("error: from the worker") == 1, run.describe()


def test_csp_blocks_inline_script_and_reports_the_violation(tmp_path: Path) -> None:
    run = load(
        tmp_path,
        """<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>csp</title><style>p { color: green; }</style></head>
<body><p>static</p><script>alert("x")</script></body></html>""",
    )
    assert run.dialogs == ()
    violations = [c for c in run.console if "Content Security Policy" in c]
    assert violations, run.describe()
    assert all(v.startswith("error: ") for v in violations)
    assert not run.clean
    assert run.text == "static"


def test_alert_is_reported_and_dismissed(tmp_path: Path) -> None:
    run = load(
        tmp_path,
        """<!doctype html><title>alert</title><p>before</p>
<script>alert("x"); document.body.append("after the dialog");</script>""",
    )
    assert run.dialogs == ("alert: x",)
    assert "after the dialog" in run.text  # dismissed: the script went on, the page loaded
    assert not run.clean


def test_without_javascript_the_page_shows_its_own_text(tmp_path: Path) -> None:
    html = """<!doctype html><title>static title</title><p id="p">written in the file</p>
<noscript><p>no script here</p></noscript>
<script>document.getElementById("p").textContent = "written by the script";
document.title = "script title";</script>"""
    scripted = load(tmp_path, html)
    assert "written by the script" in scripted.text
    assert scripted.title == "script title"

    static = load(tmp_path, html, javascript=False)
    assert static.clean, static.describe()
    assert "written in the file" in static.text
    assert "no script here" in static.text
    assert "written by the script" not in static.text
    assert static.title == "static title"


def test_timeout_kills_chromium_and_says_what_it_saw(tmp_path: Path) -> None:
    page = tmp_path / "loop.html"
    page.write_text(
        """<!doctype html><title>loop</title>
<script>console.warn("about to spin"); for (;;) {}</script>""",
        encoding="utf-8",
    )
    with pytest.raises(BrowserTimeout, match="timed out after 4 s") as raised:
        open_page(page, tmp_path / "loop.png", timeout=4)
    assert "warning: about to spin" in str(raised.value)
    assert not (tmp_path / "loop.png").exists()


# -- the report itself, at a desktop's and a phone's width -------------------------------------

PATH_TEXT_PX = """(() => {
  const sizes = [];
  for (const svg of document.querySelectorAll("svg.path")) {
    if (getComputedStyle(svg).display === "none") continue;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll("text"))
      sizes.push(parseFloat(t.getAttribute("font-size")) * scale);
  }
  for (const li of document.querySelectorAll("ol.path-list li"))
    if (li.offsetParent !== null) sizes.push(parseFloat(getComputedStyle(li).fontSize));
  return sizes.length ? Math.min(...sizes) : -1;
})()"""
VISIBLE_PATHS = """[...document.querySelectorAll("svg.path, ol.path-list")]
  .filter(e => getComputedStyle(e).display !== "none").length"""
MEASURE = {
    "overflow": "document.documentElement.scrollWidth - window.innerWidth",
    "cause_bottom": "document.querySelector('.cause').getBoundingClientRect().bottom",
    "fix_bottom": "document.querySelector('.cause details.fix').getBoundingClientRect().bottom",
    "matrix_top": "document.querySelector('table.matrix').getBoundingClientRect().top",
    "viewport": "window.innerWidth + 'x' + window.innerHeight",
    "path_text_px": PATH_TEXT_PX,
    "visible_paths": VISIBLE_PATHS,
}


def forward_drop_report() -> str:
    """A report as forward-drop's: the FORWARD policy drops (the cause, on two networks), and
    the anchors, the far end and three endpoints fail from each network's container."""
    from reports.causes import find_causes
    from reports.html import render_html

    results, catalog, paths, properties = forward_drop_run()
    return render_html(
        results=results,
        catalog=catalog,
        paths=paths,
        properties=properties,
        harness_failures=[],
        exitstatus=1,
        causes=find_causes(results, list(catalog)),
    )


def forward_drop_results(host: str) -> dict[str, Any]:
    """The same run's results.json, as a fleet's host named ``host`` wrote it."""
    from reports.causes import find_causes
    from reports.json_report import document

    results, catalog, _, properties = forward_drop_run()
    return document(
        results,
        catalog,
        {**properties, "host": host},
        find_causes(results, list(catalog)),
        exitstatus=1,
        harness_failures=[],
    )


def forward_drop_run() -> tuple[
    list[Any], dict[str, Any], dict[str, dict[str, str]], dict[str, str]
]:
    """forward-drop's items, catalog, paths and run properties."""
    from reports.results import CheckInfo, CheckResult, Place
    from rules.judgement import Fix, failed

    catalog = {
        "RT-04": CheckInfo("firewall forwards container traffic", "Docker docs", "host"),
        "RT-02": CheckInfo("anchors answer", "RFC 4443", "host"),
        "EP-03": CheckInfo("endpoint answers from containers", "RFC 8305", "far end"),
        "GW-03": CheckInfo("gateway answers", "RFC 4861", "bridge"),
    }
    fix = Fix(
        "let the containers' own connections out, and their replies back (RELATED: the ICMPv6 "
        "errors for them too); open only what the site serves; then persist the rule set",
        (
            "ip6tables -I FORWARD -i docker0 -o uplink0 -j ACCEPT",
            "ip6tables -I FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ),
    )
    results = []
    paths = {}
    for net, bridge in (("bridge", "docker0"), ("v6net", "br-v6net")):
        probe = f"v6conform-1a2b3c4d-{net}"
        paths[net] = {
            "container": f"{probe} 2001:db8:1:{len(paths)}::2",
            "bridge": f"{bridge} fe80::1",
            "host": "v6c-host 2001:db8:0:1::2",
            "uplink": "uplink0",
            "upstream": "fe80::4881:beff:fea4:a2cb",
            "far end": "2001:db8:f00d::1 DNS 2001:db8:53::53",
        }
        place = Place(net, f"{net}/{probe}")
        results.append(CheckResult(f"t.py::test_gw[{net}]", "GW-03", "test_gw", place))
        rt04 = CheckResult(f"t.py::test_fw[{net}]", "RT-04", "test_fw", place, "failed")
        rt04.diagnoses = [
            failed(
                f"ip6tables filter FORWARD: policy DROP drops outbound new (ICMPv6 echo-request, "
                f"TCP dport 443, UDP dport 53); inbound established on {net}",
                ["-P FORWARD DROP"],
                fix=fix,
                hop="host",
                breaks=["rule:ip6tables filter FORWARD: policy DROP", f"path:{net}"],
            )
        ]
        results.append(rt04)
        rt02 = CheckResult(f"t.py::test_anchors[{net}]", "RT-02", "test_anchors", place, "failed")
        rt02.diagnoses = [
            failed(
                "no answer from 2001:db8:f00d::1",
                ["sent echo"],
                fix="see RT-04",
                hop="unknown",
                needs=[f"path:{net}"],
            )
        ]
        results.append(rt02)
        for name in ("www.lab.example", "lab.example", "shop.lab.example"):
            ep = CheckResult(f"t.py::test_ep[{name}-{net}]", "EP-03", "test_ep", place, "failed")
            ep.diagnoses = [
                failed(
                    f"http://{name}:80 works over IPv4 only from {net}'s container",
                    ["connect timed out"],
                    fix="see RT-04",
                    hop="host",
                    needs=[f"path:{net}"],
                )
            ]
            results.append(ep)
    properties = {
        "target": "lab:v6c/forward-drop",
        "docker": "20.10.24+dfsg1 (API 1.41)",
        "survey": "4.17 s: reachability 0.00–4.17 s, ruleset 0.00–3.08 s",
    }
    return results, catalog, paths, properties


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_report_leads_with_its_cause_and_reads_at_a_phones_width(
    tmp_path: Path, width: int, height: int
) -> None:
    """The first screen holds the verdict, the cause and its fix in a line (then the matrix);
    nothing is wider than the screen; the path picture's text stays legible (at least 10 px)
    or the path becomes a list. V6CONFORM_SCREENSHOT=PATH keeps the desktop's first screen
    (docs/report.png, which README.md shows)."""
    page = tmp_path / "report.html"
    page.write_text(forward_drop_report(), encoding="utf-8")
    shot = tmp_path / "out" / f"report-{width}.png"
    run = open_page(page, shot, width=width, height=height, first_screen=True, measure=MEASURE)
    assert run.clean, run.describe()
    m = run.measured
    assert m["viewport"] == f"{width}x{height}", m
    assert float(m["overflow"]) <= 0, f"the page is {m['overflow']} px wider than the screen"
    assert float(m["cause_bottom"]) <= height, m  # the cause and its fix, first screen
    assert float(m["fix_bottom"]) <= height, m
    assert float(m["matrix_top"]) < height, m  # and the matrix starts there
    assert int(m["visible_paths"]) == 10, m  # one per failure, picture or list
    assert float(m["path_text_px"]) >= 10, f"the path's text is {m['path_text_px']} px"
    assert "policy DROP" in run.text
    assert "Fix: let the containers' own connections out" in run.text
    source = page.read_text()
    assert "ip6tables -I FORWARD -i docker0" in source  # folded, pasteable
    # the commands once under the cause, once under each of its two failures: never twice there
    assert source.count('<pre class="commands">') == 3
    if width >= 1000 and (keep := os.environ.get("V6CONFORM_SCREENSHOT")):
        Path(keep).write_bytes(shot.read_bytes())


# -- the fleet's merged report, the same way ---------------------------------------------------

FLEET_MEASURE = {
    # a phone's layout viewport grows to what overflows (innerWidth with it): the screen's
    # width is the root's clientWidth
    "overflow": "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    "viewport": MEASURE["viewport"],
    # every piece of text shown is at least this large
    "text_px": """Math.min(...[...document.querySelectorAll("body *")]
      .filter(e => e.offsetParent !== null
        && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
      .map(e => parseFloat(getComputedStyle(e).fontSize)))""",
    "lead_fix_bottom": """document.querySelector(".lead .cause details.fix")
      .getBoundingClientRect().bottom""",
    "matrix_top": "document.querySelector('table.matrix').getBoundingClientRect().top",
    # the host names stay on the screen beside the checks (which scroll in their own box)
    "hosts_right": """Math.max(...[...document.querySelectorAll("td.host")]
      .map(e => e.getBoundingClientRect().right))""",
    "hosts_min_width": """Math.min(...[...document.querySelectorAll("td.host")]
      .map(e => e.getBoundingClientRect().width))""",
    "matrix_width": "document.querySelector('table.matrix').getBoundingClientRect().width",
    "boxes_right": """Math.max(...[...document.querySelectorAll(
      "div.scroll, section.lead, div.host-section, div.cause, pre")]
      .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().right))""",
}


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_fleet_report_leads_with_each_hosts_cause_and_reads_at_a_phones_width(
    tmp_path: Path, width: int, height: int
) -> None:
    """The merged report of a fleet (`v6conform merge`: here two forward-drop hosts with
    long names, a healthy one and one not checked) as the single-host one: on the first
    screen the verdict and each failing host's cause with its fix in a line, then the host ×
    check matrix; nothing wider than the screen (the matrix scrolls in its own box, its host
    column in view); all text at least 10 px."""
    from reports.merge import merge
    from suites.catalog import CHECKS

    def every_check(doc: dict[str, Any]) -> dict[str, Any]:
        """The run's items, and one passed item of each other check of the catalog (the
        matrix as wide as a real run's: 30-odd columns)."""
        (model,) = [i for i in doc["items"] if i["check"] == "GW-03"][:1]
        ran = {i["check"] for i in doc["items"]}
        extra = [{**model, "check": c, "nodeid": f"t.py::{c}"} for c in CHECKS if c not in ran]
        return {**doc, "items": [*doc["items"], *extra]}

    files = []
    for host in ("web-1.frankfurt.example.com", "edge-2.example.com"):
        doc = every_check(forward_drop_results(host))
        path = tmp_path / host / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(doc))
        files.append(path)
    healthy = every_check(forward_drop_results("db-3.example.com"))
    healthy.update(exit_status=0, causes=[])
    for item in healthy["items"]:
        item.update(outcome="passed", diagnoses=[])
    (tmp_path / "db-3").mkdir()
    (tmp_path / "db-3" / "results.json").write_text(json.dumps(healthy))
    files.append(tmp_path / "db-3" / "results.json")
    status, _ = merge(files, tmp_path / "fleet", not_checked=[("cache-4", "unreachable")])
    assert status == 3
    page = tmp_path / "fleet" / "report.html"
    shot = tmp_path / "out" / f"fleet-{width}.png"
    run = open_page(
        page, shot, width=width, height=height, first_screen=True, measure=FLEET_MEASURE
    )
    assert run.clean, run.describe()
    m = run.measured
    assert m["viewport"] == f"{width}x{height}", m
    assert float(m["overflow"]) <= 0, f"the page is {m['overflow']} px wider than the screen"
    assert float(m["boxes_right"]) <= width, m
    assert float(m["text_px"]) >= 10, f"some text is {m['text_px']} px"
    assert float(m["lead_fix_bottom"]) <= height, m  # the first host's cause and fix
    assert float(m["matrix_top"]) < 2 * height, m  # below the leads, not pages down
    assert float(m["hosts_right"]) <= width, m
    assert float(m["hosts_min_width"]) >= 60, m  # a host's name is not one letter a line
    assert float(m["matrix_width"]) > width or width > 1000, m  # the phone's matrix scrolls
    assert "NOT ALL CHECKED" in run.text
    assert "policy DROP" in run.text
    assert "cache-4: not checked" in run.text
    source = page.read_text()
    assert "ip6tables -I FORWARD -i docker0" in source  # the fix's commands, folded
    assert source.count('<section class="lead') == 3  # the two failing hosts, the unchecked
