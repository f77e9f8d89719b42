"""The lab's Docker 29: what it needs is said in one line, its firewall backend is Docker's
own option, and the build root is made from the cache, never the shared sid root in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab import Lab, dockers
from lab.daemon import dockerd_args
from lab.dockers import GENERATIONS, MOBY_SOURCE, RootError
from lab.site import Site


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(dockers, "CACHE", tmp_path)
    monkeypatch.delenv(MOBY_SOURCE, raising=False)
    return tmp_path


def test_docker_29_without_a_source_says_what_it_needs_in_one_line(empty_cache: Path) -> None:
    with pytest.raises(RootError) as caught:
        dockers.ensure_root(GENERATIONS["29"])
    said = str(caught.value)
    assert "\n" not in said
    assert MOBY_SOURCE in said
    assert "29.7.2" in said
    assert "no build is cached" in said
    assert list(empty_cache.iterdir()) == []  # nothing made, nothing waited for


def test_a_source_that_is_no_moby_tree_is_said(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MOBY_SOURCE, str(empty_cache))
    with pytest.raises(RootError, match="neither a moby source tarball nor a moby tree"):
        dockers.ensure_root(GENERATIONS["29"])


def test_lab_up_without_a_source_is_one_line_and_exit_1() -> None:
    up = "['--name', 'v6c29u', 'up', '--docker', '29']"
    code = f"from lab.__main__ import main; raise SystemExit(main({up}))"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "V6CONFORM_DOCKER_ROOTS": "/nonexistent-v6c"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if "needs root" in done.stderr:
        pytest.skip("the lab needs root")
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert MOBY_SOURCE in done.stderr


def test_the_firewall_backend_is_dockerds_own_option() -> None:
    site = Site()
    args = dockerd_args(Lab("v6cu"), GENERATIONS["29"], site.host, site.addressing, "nftables")
    assert args[-2:] == ["--firewall-backend", "nftables"]
    assert "--firewall-backend" not in dockerd_args(
        Lab("v6cu"), GENERATIONS["29"], site.host, site.addressing
    )


@pytest.mark.parametrize("gen", ["20.10", "26", "28"])
def test_older_dockers_have_no_firewall_backend(gen: str) -> None:
    with pytest.raises(RootError, match="add --docker 29"):
        dockers.check_backend(GENERATIONS[gen], "nftables")
    dockers.check_backend(GENERATIONS["29"], "nftables")


def test_derived_roots_are_named_by_what_they_hold() -> None:
    assert GENERATIONS["29"].root == dockers.CACHE / "sid+nftables+moby-29.7.2"
    assert GENERATIONS["28"].root == dockers.CACHE / "sid"
