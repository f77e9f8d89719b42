"""The lab's workload containers: `up --scenario workloads` starts them, broken as their names
say; `python -m lab workloads` replaces or removes them; `down` leaves none behind."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.suite_run import lab_command, lab_up, run_suites
from lab import SCENARIOS, Lab, LabError
from lab.workloads import BAD_NAMESERVER, COMPOSE_LABEL, COMPOSE_PROJECT, LABEL, plan
from probes.docker import LABEL as HARNESS_LABEL
from tests.lab.names import lab_name
from tests.lab.test_lab_lifecycle import assert_nothing_left

pytestmark = pytest.mark.lab
NAME = lab_name("v6cwl")
SCENARIO = SCENARIOS["workloads"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME, "workloads") as lab:
        yield lab


def described() -> list[dict[str, Any]]:
    done = lab_command(NAME, "describe")
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)["workloads"]
    return found


def inspect(lab: Lab, name: str) -> dict[str, Any]:
    out = lab.docker("inspect", name)
    found: dict[str, Any] = json.loads(out)[0]
    return found


def default_routes(pid: int) -> str:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "ip", "-6", "route", "show", "default"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def by_broken(workloads: list[dict[str, Any]], broken: str | None) -> list[dict[str, Any]]:
    return [w for w in workloads if w["broken"] == broken]


def test_describe_lists_the_scenario_workloads(lab: Lab) -> None:
    workloads = described()
    networks = lab.description()["host"]["networks"]
    assert len(workloads) == SCENARIO.workloads
    assert [w["name"] for w in workloads] == [
        "work-0-badresolv",
        "work-1-noroute",
        *(f"work-{i}" for i in range(2, SCENARIO.workloads)),
    ]
    assert len(by_broken(workloads, "route")) == SCENARIO.workloads_without_route
    assert len(by_broken(workloads, "resolv")) == SCENARIO.workloads_bad_resolv
    # round-robin over the IPv6 networks; the broken ones not all on one
    assert {w["network"] for w in workloads} == {"bridge", "v6net"}
    assert len({w["network"] for w in workloads if w["broken"]}) == 2
    for w in workloads:
        subnet = ipaddress.IPv6Network(networks[w["network"]]["subnet6"])
        assert ipaddress.IPv6Address(w["global6"]) in subnet, w
        assert inspect(lab, w["name"])["Id"] == w["id"]


def test_workloads_look_like_a_users_containers(lab: Lab) -> None:
    for w in described():
        labels = inspect(lab, w["name"])["Config"]["Labels"]
        assert labels[LABEL] == NAME
        assert labels[COMPOSE_LABEL] == COMPOSE_PROJECT
        # the harness removes what carries its own labels: a workload must carry none
        assert not [k for k in labels if k.startswith(HARNESS_LABEL)], labels


def test_the_noroute_workload_has_no_ipv6_default_route(lab: Lab) -> None:
    workloads = described()
    (noroute,) = by_broken(workloads, "route")
    assert default_routes(inspect(lab, noroute["name"])["State"]["Pid"]) == ""
    for w in by_broken(workloads, None):
        assert default_routes(inspect(lab, w["name"])["State"]["Pid"]).startswith("default via")


def test_the_badresolv_workload_names_a_dead_nameserver(lab: Lab) -> None:
    workloads = described()
    (bad,) = by_broken(workloads, "resolv")
    pid = inspect(lab, bad["name"])["State"]["Pid"]
    lines = Path(f"/proc/{pid}/root/etc/resolv.conf").read_text().splitlines()
    assert lines == [f"nameserver {BAD_NAMESERVER}"]
    for w in by_broken(workloads, None):
        pid = inspect(lab, w["name"])["State"]["Pid"]
        assert BAD_NAMESERVER not in Path(f"/proc/{pid}/root/etc/resolv.conf").read_text()


def test_the_checks_fail_exactly_on_the_broken_workloads(lab: Lab, tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME)
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed_checks() == SCENARIO.expected_failures, run.output[-3000:]
    # each fault in its checks: no route fails GW-02 and RT-02, a dead nameserver RC-01; and
    # Docker 20.10 (the lab's default) lists the host's IPv6 nameserver in every container's
    # resolv.conf, beside the embedded DNS on v6net: without a route, RC-01 finds it unreachable
    failed = sorted(c.item for c in run.cases if c.outcome in ("failed", "error"))
    assert failed == [
        "test_anchors_answer[v6net/work-1-noroute]",
        "test_container_address_and_route[v6net/work-1-noroute]",
        "test_container_nameservers_reachable[bridge/work-0-badresolv]",
        "test_container_nameservers_reachable[v6net/work-1-noroute]",
    ], run.output[-3000:]
    # its gateway is on-link: a workload without a default route still reaches it
    gateway = [c for c in run.by_check("GW-03") if "work-1-noroute]" in c.name]
    assert [c.outcome for c in gateway] == ["passed"], gateway


def test_workloads_command_replaces_and_removes(lab: Lab) -> None:
    done = lab_command(NAME, "workloads", "--count", "5", "--broken-route", "2")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == described()
    workloads = described()
    assert [w["name"] for w in workloads] == [
        "work-0-noroute",
        "work-1-noroute",
        "work-2",
        "work-3",
        "work-4",
    ]
    # the two without a route on two networks
    assert len({w["network"] for w in by_broken(workloads, "route")}) == 2
    done = lab_command(NAME, "workloads", "--count", "0")
    assert done.returncode == 0, done.stderr
    assert described() == []
    assert lab.docker("ps", "-aq", "--filter", f"label={LABEL}").split() == []


def test_workloads_command_refuses_more_broken_than_asked(lab: Lab) -> None:
    done = lab_command(
        NAME, "workloads", "--count", "1", "--broken-route", "1", "--broken-resolv", "1"
    )
    assert done.returncode == 1
    assert "more than the 1 workloads" in done.stderr


def test_workloads_command_needs_a_lab() -> None:
    name = lab_name("v6cwlx")
    done = lab_command(name, "workloads", "--count", "1")
    assert done.returncode == 1
    assert f"python -m lab --name {name} up" in done.stderr


def test_down_leaves_no_workload_behind(lab: Lab) -> None:
    done = lab_command(NAME, "workloads", "--count", "4", "--broken-resolv", "1")
    assert done.returncode == 0, done.stderr
    pids = [inspect(lab, w["name"])["State"]["Pid"] for w in described()]
    assert len(pids) == 4
    lab.down()
    assert [p for p in pids if Path(f"/proc/{p}").exists()] == []
    assert_nothing_left(lab)


def test_the_plan_spreads_the_broken_ones_over_the_networks() -> None:
    planned = plan(7, ["bridge", "v6net", "v6only"], broken_route=2, broken_resolv=2)
    assert [(p.name, p.network) for p in planned] == [
        ("work-0-badresolv", "bridge"),
        ("work-1-badresolv", "v6net"),
        ("work-2-noroute", "v6only"),
        ("work-3-noroute", "bridge"),
        ("work-4", "v6net"),
        ("work-5", "v6only"),
        ("work-6", "bridge"),
    ]
    assert plan(0, [], broken_route=0, broken_resolv=0) == []
    with pytest.raises(LabError, match="no IPv6 bridge network"):
        plan(1, [], broken_route=0, broken_resolv=0)
