"""The build-container bug and DNS64, against the lab: the messages a user reads, and that the
throwaway builds leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.suite_run import lab_up, run_suites
from lab.published import LABEL as PUBLISHED_LABEL
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6crc")


def test_build_resolv_tells_the_builders_apart_and_cleans_up(tmp_path: Path) -> None:
    with lab_up(NAME, "build-resolv") as lab:
        run = run_suites(tmp_path, "--target", "lab", "--lab-name", NAME, "-m", "resolvconf")
        # the lab site's own (its published service and its images, v6conform-lab/*) aside
        site_images = lab.docker("images", "-q", "--filter", "reference=v6conform-lab/*").split()
        images = [i for i in lab.docker("images", "-a", "-q").split() if i not in site_images]
        site = lab.docker("ps", "-a", "-q", "--filter", f"label={PUBLISHED_LABEL}").split()
        containers = [c for c in lab.docker("ps", "-a", "-q").split() if c not in site]
        df = json.loads(lab.docker("system", "df", "--format", "{{json .}}").splitlines()[-1])
        cache = lab.docker("system", "df", "-v").split("Build cache usage", 1)[-1]
    assert not [c for c in run.cases if c.outcome == "error"], run.output[-3000:]
    rc02 = {c.item: c for c in run.by_check("RC-02")}
    buildkit = rc02["test_build_step_resolves[buildkit]"]
    classic = rc02["test_build_step_resolves[classic]"]
    assert buildkit.outcome == classic.outcome == "failed", run.output[-3000:]
    # BuildKit copied the host's IPv6 nameserver, which the step cannot reach: say which, how
    # long resolution took, and what to change
    said = buildkit.properties["diagnosis"]
    assert said.startswith("in a build step (BuildKit)"), said
    assert "unreachable nameserver 2001:db8:53::53" in said
    assert " s)" in said
    assert "after " in said
    assert 'daemon.json "dns"' in buildkit.text
    assert "IPv6 on the default bridge" in buildkit.text
    # the classic builder filtered it and fell back to the public resolvers (RC-03)
    assert classic.properties["diagnosis"].startswith("in a build step (the classic builder)")
    assert "8.8.8.8" in classic.properties["diagnosis"]
    fallback = {c.item: c for c in run.by_check("RC-03")}
    assert fallback["test_no_public_fallback[build-classic]"].outcome == "failed"
    assert fallback["test_no_public_fallback[build-buildkit]"].outcome == "passed"
    assert "dropped 2001:db8:53::53" in fallback["test_no_public_fallback[bridge]"].text
    # nothing the run built is left: images, containers, BuildKit's cache
    assert images == [], images
    assert containers == [], containers
    assert df.get("Type") == "Build Cache", df
    assert str(df.get("TotalCount")) == "0", cache


@pytest.mark.parametrize("expected", [True, False], ids=["expected", "not-expected"])
def test_dns64_is_found_and_judged_against_the_profile(tmp_path: Path, expected: bool) -> None:
    with lab_up(NAME, "dns64") as lab:
        profile = Path(lab.description()["profile"]).read_text()
        mine = tmp_path / "profile.toml"
        mine.write_text(profile.replace("dns64 = false", f"dns64 = {str(expected).lower()}"))
        run = run_suites(
            tmp_path, "--target", "lab", "--lab-name", NAME, "--profile", str(mine), "-k", "dns64"
        )
    [case] = run.by_check("DNS-04")
    if expected:
        assert case.outcome == "passed", case.text
    else:
        assert case.outcome == "failed", case.text
        assert "NAT64 prefix 2001:db8:64::/96" in case.properties["diagnosis"]
        assert "ipv4only.arpa. " in case.text  # the answer section is the evidence
