"""The fleet path as a user runs it: the wheel, Ansible over real SSH from a controller
namespace to three Docker hosts (each a lab with Debian's sshd in a root of its own), one
merged report. One host is broken on purpose: the merged report holds exactly its failures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.suite_run import ROOT
from lab.fleet import Fleet
from tests.lab.names import lab_name
from tests.lab.test_lab_lifecycle import assert_nothing_left

pytestmark = pytest.mark.lab
NAME = lab_name("v6cft")
HOSTS = [("healthy", "20.10"), ("healthy", "28"), ("forward-drop", "20.10")]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel and its dependencies' (the hosts have no package index)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w",
         str(out), str(ROOT)],
        check=True, cwd=out,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[Fleet, dict[str, Any]]]:
    f = Fleet(NAME)
    try:
        yield f, f.up(HOSTS)
    finally:
        f.down()
    # nothing of the fleet is left: no namespace, process or mount of a host or the controller
    for i in range(1, len(HOSTS) + 1):
        assert_nothing_left(f.member_lab(i))
    assert not f.state.exists()
    assert (
        f.controller
        not in subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=True
        ).stdout
    )


def wheel_args(wheels: Path) -> list[str]:
    [wheel] = wheels.glob("v6conform-*.whl")
    return ["-e", json.dumps({"v6conform_wheel": str(wheel), "v6conform_wheelhouse": str(wheels)})]


def merged_cases(results: Path) -> dict[str, list[ET.Element]]:
    by_host: dict[str, list[ET.Element]] = {}
    for suite in ET.parse(results / "fleet" / "junit.xml").getroot().iter("testsuite"):
        # the merge's own `host` property comes first (the run's may follow)
        host = next(p.get("value") for p in suite.iter("property") if p.get("name") == "host")
        by_host[str(host)] = list(suite.iter("testcase"))
    return by_host


def check_of(case: ET.Element) -> str:
    for prop in case.iter("property"):
        if prop.get("name") == "check":
            return str(prop.get("value"))
    return ""


def test_the_play_checks_every_host_and_the_merge_holds_exactly_the_broken_ones_failures(
    fleet: tuple[Fleet, dict[str, Any]], wheels: Path, tmp_path: Path
) -> None:
    f, description = fleet
    results = tmp_path / "results"
    played = f.play(*wheel_args(wheels), results=results, home=tmp_path / "ansible", bin_dir=BIN)
    assert played.returncode == 1, played.stdout[-3000:] + played.stderr[-2000:]
    assert (results / "fleet" / "exit-status").read_text().strip() == "1"
    by_host = merged_cases(results)
    hosts = {h["name"]: h for h in description["hosts"]}
    assert set(by_host) == set(hosts)
    for name, host in hosts.items():
        own = json.loads((results / name / "results.json").read_text())
        # each ran as a real host does, over SSH, from the installed wheel: not as the lab
        assert own["properties"]["target"] == f"local:{name}"
        failed = {check_of(c) for c in by_host[name] if c.find("failure") is not None}
        errors = [c.get("name") for c in by_host[name] if c.find("error") is not None]
        assert errors == [], (name, errors)
        assert failed == set(host["expected_failures"]), (name, host["scenario"], failed)
        assert own["exit_status"] == (1 if host["expected_failures"] else 0)
    assert any(h["expected_failures"] for h in hosts.values())
    html = (results / "fleet" / "report.html").read_text()
    assert "Hosts × checks" in html
    for name in hosts:
        assert (results / name / "report.html").exists()
        assert (results / name / "v6conform.prom").exists()


def test_an_unreachable_host_and_a_run_that_cannot_look_are_not_checked(
    fleet: tuple[Fleet, dict[str, Any]], wheels: Path, tmp_path: Path
) -> None:
    f, description = fleet
    first, second = (h["name"] for h in description["hosts"][:2])
    inventory = tmp_path / "inventory"
    shutil.copytree(f.inventory.parent, inventory)
    hosts = inventory / "hosts.ini"
    # a host that is in the inventory and answers nothing: no route to it from the controller
    text = hosts.read_text().replace(
        "\n\n[v6conform:vars]", "\nghost ansible_host=2001:db8:c0:99::2\n\n[v6conform:vars]"
    )
    hosts.write_text(text)
    with (inventory / "host_vars" / f"{second}.yml").open("a") as extra:
        extra.write('v6conform_args: ["--uplink", "nosuch0"]\n')
    results = tmp_path / "results"
    played = f.play(
        "-i", str(hosts), "--limit", f"{first},{second},ghost", *wheel_args(wheels),
        "-e", "v6conform_connect_timeout=5",
        results=results, home=tmp_path / "ansible", bin_dir=BIN,
    )  # fmt: skip
    assert played.returncode == 3, played.stdout[-3000:] + played.stderr[-2000:]
    by_host = merged_cases(results)
    assert set(by_host) == {first, second, "ghost"}
    assert all(c.find("failure") is None and c.find("error") is None for c in by_host[first])
    [ghost] = by_host["ghost"]
    said = ET.tostring(ghost, encoding="unicode")
    assert "ghost was not checked" in said
    assert "Wait for the host's SSH" in said
    # the second host's run started and could not look: its own words say why
    unable = "".join(ET.tostring(c, encoding="unicode") for c in by_host[second])
    assert f"{second} was not checked" in unable
    assert "nosuch0" in unable
