"""Finish pytest's JUnit file for CI servers: readable testcase names, where each item ran, the
run's properties, and harness errors told apart from failed checks.

pytest writes the file (``junit_family = "xunit2"``, the Jenkins/GitLab flavour: no ``file`` and
``line`` attributes their schemas reject); this pass only edits it, so anything pytest reports
(captured output, items without a check) stays as pytest wrote it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from reports.causes import Cause
from reports.results import CheckInfo, CheckResult
from reports.text import visible


def rewrite(
    path: Path,
    results: list[CheckResult],
    catalog: dict[str, CheckInfo],
    properties: dict[str, str],
    causes: Sequence[Cause] = (),
) -> None:
    tree = ET.parse(path)
    by_nodeid = {r.nodeid: r for r in results}
    # a symptom's failure names its cause (check, item, one line) and what tied it there, so a
    # CI log that shows only the failure text reads right
    symptom_of = {s.result.nodeid: (c, s) for c in causes for s in c.symptoms}
    for suite in tree.getroot().iter("testsuite"):
        _suite_properties(suite, properties)
        for case in suite.iter("testcase"):
            nodeid = _property(case, "nodeid")
            result = by_nodeid.get(nodeid or "")
            if result is None:
                continue
            case.set("name", result.title(catalog))
            # pytest's time counts the survey every item shares to the first item that waited
            case.set("time", f"{result.duration:.3f}")
            _add_property(case, "where", result.place.column)
            if result.rerun:
                _add_property(case, "rerun", result.rerun)
            if result.outcome == "error":
                _as_error(suite, case)
            if result.nodeid in symptom_of:
                cause, symptom = symptom_of[result.nodeid]
                _add_property(case, "cause", cause.line(catalog))
                failure = case.find("failure")
                if failure is not None:
                    # its own verdict, with its cause's fix and hop (causes.lend_causes)
                    own = "\n\n".join(d.render() for d in result.diagnoses)
                    failure.text = (
                        f"cause: {cause.line(catalog)}\n"
                        f"  tied by: {symptom.explanation(catalog)}\n\n{own or failure.text or ''}"
                    )
    _make_safe(tree.getroot())
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _make_safe(root: ET.Element) -> None:
    """Every text and attribute XML 1.0 can hold: what a peer sent is shown escaped."""
    for element in root.iter():
        if element.text:
            element.text = visible(element.text)
        if element.tail:
            element.tail = visible(element.tail)
        for name, value in element.attrib.items():
            element.set(name, visible(value))


def _properties(parent: ET.Element) -> ET.Element:
    found = parent.find("properties")
    if found is None:
        found = ET.Element("properties")
        parent.insert(0, found)
    return found


def _suite_properties(suite: ET.Element, properties: dict[str, str]) -> None:
    node = _properties(suite)
    have = {p.get("name") for p in node.iter("property")}
    for name, value in properties.items():
        if name not in have:
            ET.SubElement(node, "property", name=name, value=value)


def _property(case: ET.Element, name: str) -> str | None:
    for prop in case.iter("property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def _add_property(case: ET.Element, name: str, value: str) -> None:
    ET.SubElement(_properties(case), "property", name=name, value=value)


def _as_error(suite: ET.Element, case: ET.Element) -> None:
    """A check that broke (an exception, not its assertion) is an error, as CI servers count
    them: the host was not judged."""
    failure = case.find("failure")
    if failure is None:
        return
    failure.tag = "error"
    for count, step in (("failures", -1), ("errors", 1)):
        suite.set(count, str(int(suite.get(count, "0")) + step))


def write_harness_error(path: Path, message: str, properties: dict[str, str]) -> None:
    """A JUnit file for a run that could not start (a bad profile, no lab): one error, so a CI
    server shows why rather than the results of an earlier run."""
    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root, "testsuite", name="v6conform", tests="1", failures="0", errors="1", skipped="0"
    )
    _suite_properties(suite, properties)
    case = ET.SubElement(suite, "testcase", classname="v6conform", name="harness could not run")
    ET.SubElement(case, "error", message=message).text = message
    _make_safe(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
