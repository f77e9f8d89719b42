"""`v6conform merge`: many hosts' results.json into one JUnit file and one HTML page, the exit
status over the fleet, names CI servers keep, and a broken file reported, never a crash."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.merge import MergeError, merge
from suites import cli


def item(check: str, outcome: str, where: str = "v6net", detail: str = "2001:db8::1") -> dict:
    diagnoses = (
        [{"summary": f"{check} broke <script>alert(1)</script>", "fix": "fix it",
          "evidence": ["seen: [2001:db8::1]:80"]}]
        if outcome == "failed" else []
    )  # fmt: skip
    return {
        "nodeid": f"suites/t.py::test_{check}[{where}]",
        "check": check,
        "title": f"{check} something [{where}/{detail}]",
        "where": where,
        "detail": detail,
        "outcome": outcome,
        "duration_s": 0.01,
        "message": "",
        "diagnoses": diagnoses,
    }


def results(tmp_path: Path, host: str, items: list[dict], status: int) -> Path:
    path = tmp_path / host / "results.json"
    path.parent.mkdir(parents=True)
    data = {"format": 1, "properties": {"host": host, "target": "local"}, "exit_status": status,
            "harness_failures": [], "items": items, "causes": []}  # fmt: skip
    path.write_text(json.dumps(data))
    return path


def test_a_fleet_with_one_broken_host_exits_1_and_names_each_host_and_place(
    tmp_path: Path,
) -> None:
    good = results(
        tmp_path, "web1.example.com", [item("GW-01", "passed"), item("RT-02", "passed")], 0
    )
    bad = results(
        tmp_path, "web2.example.com", [item("GW-01", "passed"), item("RT-02", "failed")], 1
    )
    status, _ = merge([good, bad], tmp_path / "out")
    assert status == 1
    tree = ET.parse(tmp_path / "out" / "junit.xml")
    cases = list(tree.getroot().iter("testcase"))
    assert len(cases) == 4
    keys = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(set(keys)) == 4  # GitLab drops repeats
    for classname, name in keys:
        assert not set("[]:") & set(classname + name), (classname, name)
        assert classname.startswith("v6conform.web")  # the host's dots do not nest packages
    [failed] = [c for c in cases if c.find("failure") is not None]
    assert "web2.example.com" in failed.get("name", "")
    assert "v6net" in failed.get("name", "")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "Hosts × checks" in html
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "contents",
    [None, "not json", json.dumps({"format": 99}), json.dumps({"format": 1, "items": 3})],
)
def test_a_host_without_usable_results_was_not_checked(
    tmp_path: Path, contents: str | None
) -> None:
    good = results(tmp_path, "a", [item("GW-01", "passed")], 0)
    other = tmp_path / "b" / "results.json"
    if contents is not None:
        other.parent.mkdir()
        other.write_text(contents)
    status, hosts = merge([good, other], tmp_path / "out")
    assert status == 3
    assert [h.checked for h in hosts] == [True, False]
    assert "b was not checked" in (tmp_path / "out" / "junit.xml").read_text()


def test_broken_items_do_not_break_the_page(tmp_path: Path) -> None:
    odd = {"check": "RT-02", "outcome": "failed", "diagnoses": ["x", {"summary": 3, "evidence": 4}]}
    path = results(tmp_path, "a", [odd, item("GW-01", "passed")], 1)
    status, _ = merge([path], tmp_path / "out")
    assert status == 1
    assert "RT-02" in (tmp_path / "out" / "report.html").read_text()


def test_a_hosts_causes_lead_with_their_fix_and_commands(tmp_path: Path) -> None:
    """Each failing host's causes come first, with the fix in a line and its commands folded
    (as the host's own report); what a host wrote is input: odd fields do not break the page,
    its markup is escaped, only string commands are kept."""
    path = results(tmp_path, "edge-2", [item("RT-04", "failed")], 1)
    data = json.loads(path.read_text())
    data["causes"] = [
        {"check": "RT-04", "line": "RT-04 [v6net]: policy DROP <b>", "hop": "host",
         "fix": "let the containers' traffic out; then persist it",
         "fix_commands": ["ip6tables -I DOCKER-USER -i br-v6net -j ACCEPT", 7, None],
         "fix_where": "host"},
        {"line": "DNS-01: refused", "fix": None, "fix_commands": "rm -rf /", "hop": 3},
    ]  # fmt: skip
    path.write_text(json.dumps(data))
    status, hosts = merge([path], tmp_path / "out")
    assert status == 1
    first, second = hosts[0].causes
    assert first["fix_commands"] == ["ip6tables -I DOCKER-USER -i br-v6net -j ACCEPT"]
    assert first["fix_line"] == "let the containers' traffic out"
    assert (second["fix"], second["fix_commands"], second["hop"]) == ("", [], "3")
    html = (tmp_path / "out" / "report.html").read_text()
    lead = html[html.index("What is wrong, host by host") : html.index("Hosts × checks")]
    assert "policy DROP &lt;b&gt;" in lead
    assert '<pre class="commands">ip6tables -I DOCKER-USER -i br-v6net -j ACCEPT</pre>' in lead
    assert "rm -rf" not in html


def test_the_same_host_twice_is_one_clear_error(tmp_path: Path) -> None:
    one = results(tmp_path, "a", [item("GW-01", "passed")], 0)
    with pytest.raises(MergeError, match="same host"):
        merge([one, one], tmp_path / "out")


def test_the_command_names_hosts_and_returns_the_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = results(tmp_path, "x", [item("GW-01", "failed")], 1)
    assert cli.main(["merge", f"edge-7={path}", "-o", str(tmp_path / "out")]) == 1
    assert "1 hosts, exit status 1" in capsys.readouterr().out
    assert "edge-7" in (tmp_path / "out" / "junit.xml").read_text()
    assert cli.main(["merge", f"{path}", f"{path}", "-o", str(tmp_path / "o2")]) == 3
    assert "same host" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert "v6conform" in capsys.readouterr().out


@pytest.mark.parametrize("status", [2, 4, 5, 124])
def test_a_run_without_a_verdict_is_not_a_passing_host(tmp_path: Path, status: int) -> None:
    # pytest's interrupted (2), usage (4), nothing collected (5), a timeout's 124: no verdict
    path = results(tmp_path, "a", [item("GW-01", "passed")], status)
    merged, [host] = merge([path], tmp_path / "out")
    assert merged == 3
    assert not host.checked


def test_hosts_without_results_are_named_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = results(tmp_path, "a", [item("GW-01", "passed")], 0)
    out = tmp_path / "out"
    argv = ["merge", "-o", str(out), "--not-checked", "b=Wait for the host's SSH: timed out",
            f"a={good}"]  # fmt: skip
    assert cli.main(argv) == 3
    junit = (out / "junit.xml").read_text()
    assert "b was not checked" in junit
    assert "timed out" in (out / "report.html").read_text()
    # only hosts that could not be checked: still a report, and status 3
    assert cli.main(["merge", "-o", str(tmp_path / "o2"), "--not-checked", "c=unreachable"]) == 3
    with pytest.raises(SystemExit):
        cli.main(["merge", "--not-checked", "no-reason-given"])
    assert "HOST=REASON" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "tests_named"),
    [
        (["--profile", "{profile}"], False),  # an option's value is not a test path
        (["--report-dir", "{empty}"], False),
        (["-m", "gateway"], False),
        (["{dir}"], True),
        (["-x", "{dir}"], True),  # a flag before a directory of tests
        (["--rootdir", "{empty}"], False),
        (["{test}"], True),
        (["{test}::test_x"], True),
    ],
)
def test_the_command_adds_the_suites_unless_tests_are_named(
    tmp_path: Path, args: list[str], tests_named: bool
) -> None:
    (tmp_path / "host.toml").write_text("")
    (tmp_path / "test_a.py").write_text("")
    (tmp_path / "empty").mkdir()
    paths = {"profile": tmp_path / "host.toml", "dir": tmp_path, "test": tmp_path / "test_a.py"}
    words = [a.format(**paths, empty=tmp_path / "empty") for a in args]
    named = any(cli._names_tests(a, b) for a, b in zip(words, ["", *words], strict=False))
    assert named is tests_named


HOSTILE_FILES = {
    "properties-a-list": b'{"format": 1, "exit_status": 1, "properties": [], "items": []}',
    "odd-check-id": json.dumps(
        {"format": 1, "exit_status": 1, "items": [item("RT-\u00b2", "failed")]}
    ).encode(),
    "lone-surrogate": b'{"format": 1, "exit_status": 0, "properties": {"host": "h\\udcff"},'
    b' "items": [{"check": "GW-01", "outcome": "passed", "title": "\\udcff\\u001b[2J"}]}',
    "nested-deep": b'{"format": 1, "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "true-status": b'{"format": 1, "exit_status": true, "items": []}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_a_hostile_results_file_costs_its_host_only(tmp_path: Path, kind: str) -> None:
    """A malformed or hostile results.json never ends the merge: the host is in the report
    (checked or not, as far as its file says), every other host is there in full, both files
    are written and well-formed, and the exit follows the fleet's contract."""
    good = results(tmp_path, "web1.example.com", [item("GW-01", "passed")], 0)
    path = tmp_path / "odd" / "results.json"
    path.parent.mkdir()
    path.write_bytes(HOSTILE_FILES[kind])
    status, hosts = merge([good, path], tmp_path / "out", names=["web1.example.com", "odd"])
    assert status in (0, 1, 3)
    assert [h.host for h in hosts] == ["web1.example.com", "odd"]
    assert hosts[0].checked
    ET.parse(tmp_path / "out" / "junit.xml")
    page = (tmp_path / "out" / "report.html").read_text()
    assert "web1.example.com" in page
    assert "\x1b" not in page


def test_a_hundred_mutated_results_files_merge(tmp_path: Path) -> None:
    """Seeded mutations of a real file (types swapped, junk strings, deep values): none stops
    the merge (3,000 of them, tried by hand: 0 crashes, the slowest 0.3 s)."""
    import random

    rng = random.Random(31)
    junk: list[object] = [None, 1, -1, 1e308, "x", "\udcff", "RT-\u00b2", [], {}, True, "\x00"]
    base = json.loads(
        results(tmp_path, "base", [item("GW-01", "passed"), item("RT-02", "failed")], 1).read_text()
    )

    def mutate(value: object, depth: int = 0) -> object:
        if rng.random() < 0.15:
            return rng.choice(junk)
        if isinstance(value, dict) and depth < 6:
            return {k: mutate(v, depth + 1) if rng.random() < 0.3 else v for k, v in value.items()}
        if isinstance(value, list) and depth < 6:
            return [mutate(v, depth + 1) for v in value]
        return value

    for i in range(100):
        path = tmp_path / f"m{i}" / "results.json"
        path.parent.mkdir()
        path.write_bytes(json.dumps(mutate(base)).encode("utf-8", "surrogatepass"))
        status, _ = merge([path], tmp_path / f"out{i}", names=[f"m{i}"])
        assert status in (0, 1, 3)
