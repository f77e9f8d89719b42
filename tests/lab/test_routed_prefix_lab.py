"""RT-01 against the lab: the accept_ra trap (a fault this test applies itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from tests.lab.suite_run import lab_up, run_suites

pytestmark = pytest.mark.lab
NAME = "v6crt"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def test_accept_ra_1_with_forwarding_on_fails_rt01(lab: Lab, tmp_path: Path) -> None:
    lab.sysctl("host", "net.ipv6.conf.uplink0.accept_ra", 1)
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.sysctl("host", "net.ipv6.conf.uplink0.accept_ra", 2)
    assert run.returncode == 1, run.output
    [case] = run.by_check("RT-01")
    assert case.outcome == "failed"
    assert "accept_ra = 1 on uplink0 with forwarding on" in case.properties["diagnosis"]
    assert "net.ipv6.conf.uplink0.accept_ra = 1" in case.text
    assert "proto ra" in case.text
    assert "accept_ra=2" in case.text
