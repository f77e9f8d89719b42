"""Modern Docker's IPv6 modes against the lab's Docker 28 (and 26 where it applies): NAT66 by
default, routed where asked, ULA pools, IPv6-only networks. Each verdict is read from the JUnit
file, as a CI server reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab import Lab
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cmod")


def _profile_without_mode(lab: Lab, tmp_path: Path) -> Path:
    text = (lab.state / "profile.toml").read_text()
    # the [ipv6_mode] table runs up to the next table header
    stripped = re.sub(r"\[ipv6_mode\]\n(?:[^\[\n][^\n]*\n|\n)*", "", text)
    assert "ipv6_mode" not in stripped
    path = tmp_path / "no-mode.toml"
    path.write_text(stripped)
    return path


@pytest.mark.parametrize("docker", ["26", "28"])
def test_nat66_fails_rt06_only_when_the_profile_asks_for_routing(
    docker: str, tmp_path: Path
) -> None:
    with lab_up(NAME, "nat66", docker) as lab:
        asked = run_suites(tmp_path / "asked", "--target", "lab", "--lab-name", NAME)
        plain = run_suites(
            tmp_path / "plain",
            "--target",
            "lab",
            "--lab-name",
            NAME,
            "--profile",
            str(_profile_without_mode(lab, tmp_path)),
        )
    assert asked.returncode == 1, asked.output
    assert asked.failed_checks() == {"RT-06"}, asked.output
    for case in asked.by_check("RT-06"):
        diagnosis = case.properties["diagnosis"]
        assert "is masqueraded (NAT66" in diagnosis
        assert "-j MASQUERADE" in diagnosis  # the rule that does it
        assert "the site wants routed IPv6" in diagnosis
        fix = case.text.split("fix:", 1)[-1]
        assert re.search(r"Docker (26|27\+|27 and 28)", fix), fix  # names its version
        assert not re.search(r"-o [\w-]+ -j ACCEPT", fix), fix  # never opens a whole bridge
    # the same host, with no say on the mode: a healthy NAT66 site, masquerade said per network
    assert plain.returncode == 0, plain.output
    assert plain.failed_checks() == set()
    for check in ("RT-03", "RT-05"):
        for case in plain.by_check(check):
            assert case.outcome == "skipped"
            assert "is masqueraded (NAT66" in case.text, case.text
    assert {c.outcome for c in plain.by_check("RT-06")} == {"skipped"}
    assert {c.outcome for c in plain.by_check("RT-02")} == {"passed"}  # outbound through NAT


def test_routed_mode_is_reached_directly_and_passes_rt06(tmp_path: Path) -> None:
    with lab_up(NAME, "routed-mode", "28"):
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    assert run.returncode == 0, run.output
    outcomes = {(c.check, c.properties["where"]): c.outcome for c in run.cases}
    # v6net is routed: judged in full; docker0 (whose mode Docker 28 cannot set) is masqueraded
    for check in ("RT-02", "RT-03", "RT-04", "RT-05", "RT-06"):
        assert outcomes[(check, "v6net")] == "passed", (check, run.output)
    assert outcomes[("RT-05", "bridge")] == "skipped"
    assert outcomes[("RT-06", "bridge")] == "passed"  # the lab's profile allows NAT there


def test_ula_pool_containers_get_ula_and_pass_through_nat(tmp_path: Path) -> None:
    with lab_up(NAME, "ula-pool", "28") as lab:
        prefix = lab.description()["host"]["container_prefix"]
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME)
    assert prefix.startswith("fd"), prefix
    assert run.returncode == 0, run.output
    for case in run.by_check("RT-05"):
        assert case.outcome == "skipped"
        assert "ULA" in case.text or "masqueraded" in case.text
    gateways = [c for c in run.by_check("GW-03") if c.outcome == "passed"]
    assert gateways, run.output


def test_ipv6_only_network_is_judged_in_full(tmp_path: Path) -> None:
    with lab_up(NAME, "ipv6-only", "28") as lab:
        assert lab.description()["host"]["networks"]["v6only"]["ipv4"] is False
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME)
    assert run.returncode == 0, run.output
    on_v6only = {c.check: c.outcome for c in run.cases if c.properties["where"] == "v6only"}
    # every container check means something there: none is skipped, DNS-03 included
    assert on_v6only, run.output
    assert on_v6only.get("DNS-03") == "passed", on_v6only
    assert on_v6only.get("RT-05") == "passed", on_v6only
    # but what this site's profile asks nothing of: no IPv4-only destinations (no NAT64 here;
    # the nat64 scenario judges NAT64-01 on v6only)
    unasked = {
        c.check for c in run.cases if "the profile names no" in c.text and c.outcome == "skipped"
    }
    skipped = sorted(c for c, o in on_v6only.items() if o == "skipped" and c not in unasked)
    assert skipped == [], skipped
    assert on_v6only.get("DNS-05") == "passed", on_v6only
