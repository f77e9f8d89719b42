"""The gateway checks against a real lab: they pass on `healthy`, and fail with evidence when
the bridge's fe80::1 is removed (a fault this test applies itself)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab import Lab
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cgw")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def test_gateway_checks_pass_on_healthy(lab: Lab, tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "gateway")
    assert run.returncode == 0, run.output
    gw = [c for c in run.cases if c.check and c.check.startswith("GW-")]
    # one item per IPv6 network (default bridge and the user-defined one) per check, and the
    # healthy site's own published container (pub-web, NETWORK/NAME) in GW-02 and GW-03
    assert {c.check for c in gw} == {"GW-01", "GW-02", "GW-03"}
    assert len([c for c in gw if "/" not in c.item]) == 6
    assert {c.check for c in gw if "/" in c.item} <= {"GW-02", "GW-03"}
    assert all(c.outcome == "passed" for c in gw), [(c.name, c.outcome, c.text) for c in gw]
    assert all(c.properties["target"] == f"lab:{NAME}/healthy" for c in gw)
    # the lab is left as it was
    assert lab.description()["scenario"] == "healthy"


def test_gateway_checks_fail_without_fe80_1(lab: Lab, tmp_path: Path) -> None:
    host = lab.ns("host")
    subprocess.run(
        ["ip", "-n", host, "-6", "addr", "del", "fe80::1/64", "dev", "docker0"], check=True
    )
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "gateway")
    finally:
        subprocess.run(
            ["ip", "-n", host, "-6", "addr", "add", "fe80::1/64", "dev", "docker0"], check=True
        )
    assert run.returncode == 1, run.output
    failed = {
        (c.check, c.item.split("[")[-1].rstrip("]")) for c in run.cases if c.outcome == "failed"
    }
    # docker0 lost it; the user-defined network's bridge still has it
    assert failed == {("GW-01", "bridge"), ("GW-03", "bridge")}
    gw01 = next(c for c in run.by_check("GW-01") if c.outcome == "failed")
    # evidence the catalog asks for: the bridge's addresses with flags, the daemon version,
    # which expectation applied
    assert "lacks the gateway fe80::1" in gw01.properties["diagnosis"]
    assert "Docker daemon 20.10" in gw01.text
    assert "expected fe80::1/64 because Docker 20.x assigns" in gw01.text
    assert "2001:db8:1::1/64 on docker0 [permanent]" in gw01.text
    gw03 = next(c for c in run.by_check("GW-03") if c.outcome == "failed")
    assert "fe80::1 did not answer Neighbor Solicitation" in gw03.text
    assert "sent NS who-has fe80::1" in gw03.text
    assert "no Neighbor Advertisement within" in gw03.text
    # the routed gateway still answered, and the evidence shows it
    assert "echo reply from 2001:db8:1::1" in gw03.text
