"""What a person is told to run next, and what a person's mistake gets: every rerun line
carries the run's own selection (pasted from a lab report it probes the lab, not this machine),
every lab hint names the lab, a permission problem says sudo; a mistake is exit 3 and one line,
before anything is probed, never a traceback.

No lab is needed: the suites are pointed at a lab state directory of their own
(V6CONFORM_LAB_ROOT), where no lab is up or a broken one is faked, so every run here stops at
configure time. See tests/lab/test_hints_lab.py for the same with a lab up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from junitparser import JUnitXml, Properties, TestSuite

from bench.suite_run import ROOT

NAME = "nolab0"  # no lab of this name is ever up: its state directory is the test's own

RERUN_CONFTEST = """
from reports.results import CATALOG, RERUN, CheckInfo

def pytest_configure(config):
    config.stash[CATALOG] = {"XX-02": CheckInfo("gateway answers", "RFC 4861 §7.2", "bridge")}
    config.stash[RERUN] = ("--target", "lab", "--lab-name", "ux3", "--profile", "/p q/h.toml")
"""

FAILS = """
import pytest
from rules.judgement import failed

@pytest.mark.check("XX-02")
@pytest.mark.parametrize("where", ["bridge"])
def test_fails(hold, where):
    hold(failed(f"gateway did not answer on {where}", ["sent echo"], fix="restore fe80::1"))
"""

AGAIN = (
    "pytest --target lab --lab-name ux3 --profile '/p q/h.toml' "
    "'test_checks.py::test_fails[bridge]'"
)


def one_line(output: str) -> str:
    """The output, which must be one line and no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# -- rerun lines ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester's subprocess imports this checkout's harness, not an installed one's."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


def test_every_rerun_line_carries_the_runs_selection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checks=FAILS)
    pytester.makeconftest(RERUN_CONFTEST)
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    assert result.ret == 1
    # the terminal's failure text, and JUnit's (pytest writes the same text there)
    assert f"run it again: {AGAIN}" in result.stdout.str()
    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    (case,) = [c for s in ([xml] if isinstance(xml, TestSuite) else xml) for c in s]
    props = {p.name: p.value for p in case.child(Properties)}
    assert props["rerun"] == AGAIN
    assert f"run it again: {AGAIN}" in case.result[0].text
    # results.json: each item and each cause
    doc = json.loads((out / "results.json").read_text())
    assert [i["rerun"] for i in doc["items"]] == [AGAIN]
    assert [c["rerun"] for c in doc["causes"]] == [AGAIN]
    # the HTML, as a browser shows the text (quotes escaped in the source)
    html = (out / "report.html").read_text()
    assert "Run it again: <code>" + AGAIN.replace("'", "&#39;") + "</code>" in html
    assert "Run it again: <code>pytest 'test_checks" not in html


def test_a_v6conform_runs_rerun_lines_say_v6conform(pytester: pytest.Pytester) -> None:
    """Run by the `v6conform` command (RERUN_COMMAND, set where its run starts), every rerun
    line says `v6conform …` with the same selection and node id: the command takes pytest's
    options and resolves the node id wherever the user stands (test_v6conform_…_as_typed)."""
    pytester.makepyfile(test_checks=FAILS)
    pytester.makeconftest(
        RERUN_CONFTEST
        + "    from reports.results import RERUN_COMMAND\n"
        + "    config.stash[RERUN_COMMAND] = 'v6conform'\n"
    )
    out = pytester.path / "out"
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    assert result.ret == 1
    again = "v6conform" + AGAIN.removeprefix("pytest")
    assert f"run it again: {again}" in result.stdout.str()
    doc = json.loads((out / "results.json").read_text())
    assert [i["rerun"] for i in doc["items"]] == [again]
    assert [c["rerun"] for c in doc["causes"]] == [again]
    html = (out / "report.html").read_text()
    assert "Run it again: <code>" + again.replace("'", "&#39;") + "</code>" in html
    assert "Run it again: <code>pytest" not in html


def test_v6conform_hands_pytest_what_the_user_typed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`v6conform ARGS` runs pytest with the line the user typed in INVOKED (the suites' rerun
    lines and sudo hint repeat it), and a rerun line's `suites/…::…` node id made absolute
    where the current directory has no suites/ (pasted anywhere, it still names the test)."""
    from lab.hints import INVOKED, this_command
    from suites import cli

    ran: list[tuple[list[str], dict[str, str]]] = []

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        ran.append((argv, env))
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execve", execve)
    monkeypatch.setattr(cli.sys, "argv", ["/opt/v6/bin/v6conform"])
    node = "suites/test_routed_prefix.py::test_forwarding_and_accept_ra[bridge]"
    for cwd, expected in ((ROOT, node), (tmp_path, str(ROOT / node))):
        monkeypatch.chdir(cwd)
        with pytest.raises(SystemExit):
            cli.main(["--lab", "healthy", "--lab-name", "a b", node])
        argv, env = ran.pop()
        assert env[INVOKED] == f"/opt/v6/bin/v6conform --lab healthy --lab-name 'a b' '{node}'"
        assert argv[-1] == expected  # the test named: the suites' folder is not added
        assert str(ROOT / "suites") not in argv
    monkeypatch.setenv(INVOKED, "/opt/v6/bin/v6conform --lab healthy --lab-name 'a b'")
    assert this_command() == ["/opt/v6/bin/v6conform", "--lab", "healthy", "--lab-name", "a b"]
    assert this_command(["x.py", "-q"]) == ["x.py", "-q"]  # a line given is that line


# -- the report directory ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "below-file", "proc"])
def test_a_report_dir_that_cannot_be_written_is_one_line_and_exit_3(
    pytester: pytest.Pytester, where: str
) -> None:
    pytester.makepyfile(test_checks=FAILS)
    in_the_way = pytester.path / "in-the-way"
    in_the_way.write_text("a file\n")
    out = {
        "file": in_the_way,
        "below-file": in_the_way / "out",
        "proc": Path("/proc/v6conform-out"),
    }[where]
    result = pytester.runpytest_subprocess(
        "-p", "reports.plugin", "--report-dir", str(out), "-p", "no:cacheprovider"
    )
    assert result.ret == 3
    line = one_line(result.stdout.str() + result.stderr.str())
    assert line.startswith(f"v6conform: --report-dir {out}: ")


# -- the suites' own mistakes, before a lab is looked at --------------------------------------


def suites(
    state: Path, *args: str, user: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pytest suites/` as a user runs it, against labs under ``state`` only."""
    env = {**os.environ, "V6CONFORM_LAB_ROOT": str(state)}
    cmd = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        [*(user or []), *cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def report_dir() -> Iterator[Path]:
    """A report directory anybody may write (a non-root run's too)."""
    path = Path(tempfile.mkdtemp(prefix="v6c-hints-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a lab's messages need root to reach")


@needs_root
@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], f"no lab '{NAME}' is up: run `python -m lab --name {NAME} up` first"),
        (["--uplink", "eth9"], "--uplink eth9 names the uplink of a real host: a lab has its own"),
        (["--docker-host", "unix:///x"], "--docker-host unix:///x names the Docker endpoint"),
        (["--docker", "26"], "--docker 26 picks the Docker the lab brings up"),
        (["--profile", "/nonexistent.toml"], "/nonexistent.toml: no such profile file"),
        (["--containers", "label="], "--containers 'label=': label= needs a key"),
        (["--docker", "99"], "--docker 99: use one of 20.10, 26, 28, 29"),
        (["--firewall-backend", "nft"], "--firewall-backend nft: use one of iptables, nftables"),
        (["--target", "lan"], "--target lan: use one of local, lab"),
        (["--lab-name", "a b"], "lab name 'a b': use up to 8 letters, digits or dashes"),
    ],
)
def test_mistakes_with_target_lab(
    tmp_path: Path, report_dir: Path, args: list[str], said: str
) -> None:
    run = suites(
        tmp_path, "--target", "lab", "--lab-name", NAME, "--report-dir", str(report_dir), *args
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert said in one_line(run.stdout + run.stderr)


@needs_root
def test_an_unknown_scenario_is_one_line(tmp_path: Path, report_dir: Path) -> None:
    run = suites(
        tmp_path, "--lab", "no-such-scenario", "--lab-name", NAME, "--report-dir", str(report_dir)
    )
    assert run.returncode == 3
    assert "unknown scenario 'no-such-scenario'" in one_line(run.stdout + run.stderr)


@needs_root
def test_a_broken_lab_is_told_the_up_that_makes_it_again(tmp_path: Path, report_dir: Path) -> None:
    state = tmp_path / NAME
    state.mkdir()
    described = {
        "name": NAME,
        "scenario": "forward-drop",
        "docker": {"generation": "29", "firewall_backend": "nftables"},
        "namespaces": {r: f"{NAME}-{r}" for r in ("host", "upstream", "inet")},
    }
    (state / "describe.json").write_text(json.dumps(described))
    run = suites(tmp_path, "--target", "lab", "--lab-name", NAME, "--report-dir", str(report_dir))
    assert run.returncode == 3
    line = one_line(run.stdout + run.stderr)
    assert f"lab '{NAME}' is broken (namespaces gone: {NAME}-host" in line
    assert (
        f"run `python -m lab --name {NAME} up --scenario forward-drop --docker 29 "
        "--firewall-backend nftables`"
    ) in line


# -- not root -------------------------------------------------------------------------------

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
as_nobody = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)


@as_nobody
@pytest.mark.parametrize("command", [["down"], ["describe"], ["up"], ["fleet", "describe"]])
def test_lab_not_root_says_sudo_in_one_line(tmp_path: Path, command: list[str]) -> None:
    env = {**os.environ, "V6CONFORM_LAB_ROOT": str(tmp_path)}
    run = subprocess.run(
        [*NOBODY, sys.executable, "-m", "lab", "--name", NAME, *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    line = one_line(run.stdout + run.stderr)
    assert "needs root" in line
    assert line.endswith(
        f"run it with sudo: sudo {sys.executable} -m lab --name {NAME} {' '.join(command)}"
    )


@as_nobody
@pytest.mark.parametrize("how", [["--target", "lab"], ["--lab", "healthy"]])
def test_suites_not_root_say_sudo_not_broken(
    tmp_path: Path, report_dir: Path, how: list[str]
) -> None:
    run = suites(tmp_path, *how, "--lab-name", NAME, "--report-dir", str(report_dir), user=NOBODY)
    assert run.returncode == 3
    line = one_line(run.stdout + run.stderr)
    assert "broken" not in line
    assert "needs root" in line
    assert f"run it with sudo: sudo {sys.executable} -m pytest suites/" in line


@as_nobody
def test_v6conform_not_root_says_sudo_v6conform(tmp_path: Path, report_dir: Path) -> None:
    """Run by the `v6conform` command (which says in INVOKED what the user typed, then runs
    pytest in its place: test_v6conform_hands_pytest_what_the_user_typed), the sudo hint
    repeats what the user typed, not the pytest line the command made of it."""
    from lab.hints import INVOKED

    typed = f"/opt/v6/bin/v6conform --target lab --lab-name {NAME}"
    env = {**os.environ, "V6CONFORM_LAB_ROOT": str(tmp_path), INVOKED: typed}
    args = ["--target", "lab", "--lab-name", NAME, "--report-dir", str(report_dir)]
    run = subprocess.run(
        [*NOBODY, sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 3
    line = one_line(run.stdout + run.stderr)
    assert "needs root" in line
    assert line.endswith(f"run it with sudo: sudo {typed}")
