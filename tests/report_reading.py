"""What every suite run's reports must hold, read the way their readers read them: the JUnit file
with junitparser (as a CI server), the HTML with an HTML parser (as a browser builds it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from junitparser import JUnitXml, Properties, TestSuite

SUITE_PROPERTIES = {"target", "host", "kernel", "docker", "harness", "profile", "started"}
CASE_PROPERTIES = {"check", "target", "where", "nodeid"}


@dataclass
class Page(HTMLParser):
    """The elements, ids, links, attributes and visible text of an HTML page."""

    tags: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    text: str = ""

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_data(self, data: str) -> None:
        self.text += data


def read_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def junit_suite(report_dir: Path) -> TestSuite:
    xml = JUnitXml.fromfile(str(report_dir / "junit.xml"))
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    assert len(suites) == 1
    return suites[0]


def assert_reports_hold(report_dir: Path, target: str) -> tuple[TestSuite, Page]:
    """The JUnit file has every property, each failure its diagnosis, and the HTML report the
    verdict, the matrix, and per failure its evidence, fix, reference and path picture."""
    suite = junit_suite(report_dir)
    props = {p.name: p.value for p in suite.properties()}
    assert set(props) >= SUITE_PROPERTIES, props
    assert props["target"] == target
    assert props["docker"].split(".")[0].isdigit(), props["docker"]
    failed = []
    for case in suite:
        found = case.child(Properties)
        case_props = {p.name: p.value for p in found} if found is not None else {}
        assert set(case_props) >= CASE_PROPERTIES, (case.name, case_props)
        assert case_props["target"] == target
        assert case.name.startswith(f"{case_props['check']} "), case.name
        if not case.is_passed and not case.is_skipped:
            assert case_props.get("diagnosis"), case.name
            failed.append(case.name)
    page = read_page(report_dir / "report.html")
    verdict = "FAIL" if failed else "PASS"
    assert verdict in page.text
    assert "Checks × where they ran" in page.text
    assert "script" not in page.tags
    assert not [a for a, _ in page.attributes if a.startswith("on")]
    assert all(link[1:] in page.ids for link in page.links if link.startswith("#"))
    for name in failed:  # each failure: its heading, fix, reference and the path it broke on
        assert name in page.text
    assert page.text.count("Fix:") >= len(failed)
    assert page.text.count("Reference:") == len(failed)
    assert page.tags.count("svg") == len(failed)
    # each picture marks the hop its item's evidence points to, or says it cannot tell
    unknown = page.text.count("Where it breaks: not known from this item's evidence")
    assert page.text.count("breaks here") + unknown == len(failed)
    return suite, page
