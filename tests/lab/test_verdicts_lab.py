"""Verdicts a CI gate can trust, against the lab: a working host is not failed for what the C
library ignores or for how an address is spelled, and a check passes only on evidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab import Lab
from lab import topology as T
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6cver")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with lab_up(NAME) as lab:
        yield lab


def _profile(lab: Lab, tmp_path: Path, **replace: str) -> Path:
    text = (lab.state / "profile.toml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_lint_warnings_do_not_fail_a_working_host(lab: Lab, tmp_path: Path) -> None:
    """Four nameservers (DHCP hands them out), seven search domains and `options inet6`: each
    a warning in both reports, no failure."""
    resolv = lab.state / "resolv.conf"
    before = resolv.read_text()
    resolv.write_text(
        f"nameserver {T.DNS6}\nnameserver {T.DNS4}\nnameserver {T.DNS6}\nnameserver {T.DNS4}\n"
        "search a.example b.example c.example d.example e.example f.example g.example\n"
        "options inet6\n"
    )
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "dns or resolvconf")
    finally:
        resolv.write_text(before)
    assert run.returncode == 0, run.output
    dns01 = run.by_check("DNS-01")
    assert dns01
    assert {c.outcome for c in dns01} == {"passed"}
    # JUnit carries them as testcase properties (a CI server shows them) on the file's own
    # items (not on the RDNSS servers' item, which comes from the RAs); the HTML lists them
    from_file = [c for c in dns01 if "announced" not in c.item]
    assert from_file
    assert all("warning" in c.properties for c in from_file), [c.properties for c in from_file]
    html = (tmp_path / "report.html").read_text()
    assert "Warnings: noted, not failed" in html
    for said in ("more than 3 nameservers", "longer than 6 domains", "option inet6 is obsolete"):
        assert said in html, said


def test_an_anchor_in_capitals_and_zeros_is_still_answered(lab: Lab, tmp_path: Path) -> None:
    spelled = "2001:DB8:F00D:0::1"
    profile = _profile(lab, tmp_path, **{f'"{T.ANCHORS6[0]}"': f'"{spelled}"'})
    run = run_suites(
        tmp_path / "out", "--target", "lab", "--lab-name", NAME, "--profile", str(profile),
        "-m", "routing",
    )  # fmt: skip
    assert run.returncode == 0, run.output
    assert {c.outcome for c in run.by_check("RT-02")} == {"passed"}


def test_an_ipv4_anchor_is_a_profile_error_not_a_crash(lab: Lab, tmp_path: Path) -> None:
    profile = _profile(lab, tmp_path, **{f'"{T.ANCHORS6[0]}"': f'"{T.ANCHOR4}"'})
    run = run_suites(
        tmp_path / "out", "--target", "lab", "--lab-name", NAME, "--profile", str(profile)
    )
    assert run.returncode == 3, run.output
    assert f'anchors[0]: not an IPv6 address: "{T.ANCHOR4}"' in run.output
    assert "Traceback" not in run.output


def test_an_upstream_that_lost_its_route_fails_rt03(lab: Lab, tmp_path: Path) -> None:
    """Requests leave, nothing comes back, no NS: not a pass for 'prefix routed here'."""
    route = [T.ROUTED_CONTAINER_PREFIX, "via", T.HOST_ON_UPLINK6, "dev", T.UPLINK_PEER]
    lab.in_ns("upstream", "ip", "-6", "route", "del", *route)
    try:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "routing")
    finally:
        lab.in_ns("upstream", "ip", "-6", "route", "add", *route)
    assert run.returncode == 1, run.output
    cases = run.by_check("RT-03")
    assert cases
    assert {c.outcome for c in cases} == {"failed"}, run.output
    for case in cases:
        assert "nothing addressed to them came back" in case.properties["diagnosis"]
    assert {c.outcome for c in run.by_check("RT-02")} == {"failed"}
