"""Target and profile logic, and the gateway expectations that depend on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from probes.docker import NetworkInfo
from probes.errors import ProfileError
from probes.gateway import bridge_expectation, container_gateway
from probes.netns import Netns
from probes.profile import Profile, load_profile
from probes.target import Target

ROOT = Path(__file__).resolve().parents[2]
NET = NetworkInfo(
    "v6net", "abc", "bridge", True, "br-v6net", ("2001:db8:1:1::/64",), ("2001:db8:1:1::1",)
)
NO_SUBNET = NetworkInfo("bare", "def", "bridge", True, "br-def", (), ())


def run_suites_here(*args: str) -> subprocess.CompletedProcess[str]:
    """`pytest suites/` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lab_description(tmp_path: Path) -> dict[str, object]:
    profile = tmp_path / "profile.toml"
    profile.write_text('anchors = ["2001:db8:f00d::1"]\n')
    return {
        "name": "v6c",
        "scenario": "healthy",
        "docker_host": "unix:///x/docker.sock",
        "namespaces": {"host": "v6c-host", "upstream": "v6c-upstream", "inet": "v6c-inet"},
        "host": {"uplink": "uplink0", "resolv_conf": "/var/lib/v6conform-lab/v6c/resolv.conf"},
        "profile": str(profile),
    }


def test_target_from_lab_uses_the_labs_namespace_socket_and_profile(tmp_path: Path) -> None:
    target = Target.from_lab(lab_description(tmp_path))
    assert target.label == "lab:v6c/healthy"
    assert target.netns == Netns("/run/netns/v6c-host", "v6c-host")
    assert target.docker_host == "unix:///x/docker.sock"
    assert target.uplink == "uplink0"
    assert target.resolv_conf == "/var/lib/v6conform-lab/v6c/resolv.conf"
    assert target.profile.anchors == ("2001:db8:f00d::1",)
    assert target.is_lab


def test_local_target_is_our_own_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    target = Target.local()
    assert target.netns.path is None
    assert target.label.startswith("local:")
    assert target.docker_host == "unix:///run/other.sock"
    assert not target.is_lab
    assert Target.local(docker_host="unix:///a.sock").docker_host == "unix:///a.sock"


def test_profile_full(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'link_local_gateway = "fe80::1"\nanchors = ["2001:db8::1"]\ntimeout = 2\n'
        '[[names]]\nname = "www.example"\naaaa = ["2001:db8::80"]\na = ["192.0.2.80"]\n'
    )
    profile = load_profile(path)
    assert profile.link_local_gateway == "fe80::1"
    assert profile.timeout == 2.0
    assert profile.names[0].dual_stack is True
    assert profile.names[0].aaaa == ("2001:db8::80",)
    assert profile.source == str(path)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("anchorz = []\n", "unknown key 'anchorz'"),
        ('anchors = "2001:db8::1"\n', "anchors must be a list"),
        ("anchors = [1]\n", "anchors must be a list of strings"),
        ("timeout = -1\n", "timeout must be a positive number"),
        ("timeout = true\n", "timeout must be a positive number"),
        ("[[names]]\naaaa = []\n", "names[0] must be a table with a string 'name'"),
        ('[[names]]\nname = "x"\nttl = 3\n', "names[0]: unknown key 'ttl'"),
        ("anchors = [\n", "not valid TOML"),
    ],
)
def test_broken_profiles_name_the_problem(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    assert error in str(info.value)


def test_missing_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(tmp_path / "absent.toml")


def test_bad_profile_stops_the_suites_with_the_harness_status(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("colour = 'blue'\n")
    proc = run_suites_here(
        "--target",
        "lab",
        "--lab-name",
        "v6cnone",
        "--profile",
        str(path),
        "--report-dir",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"{path}: unknown key 'colour'" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("major", "network", "profile", "address", "prefixlen", "note"),
    [
        (20, NET, Profile(), "fe80::1", 64, False),
        (26, NET, Profile(), "fe80::1", 64, False),
        (27, NET, Profile(), "2001:db8:1:1::1", 64, True),
        (28, NET, Profile(link_local_gateway="fe80::1"), "fe80::1", 64, False),
        (27, NO_SUBNET, Profile(), "fe80::1", 64, False),
    ],
)
def test_bridge_expectation(
    major: int, network: NetworkInfo, profile: Profile, address: str, prefixlen: int, note: bool
) -> None:
    expect = bridge_expectation(major, network, profile)
    assert (expect.address, expect.prefixlen) == (address, prefixlen)
    assert (expect.note is not None) is note


def test_container_gateway() -> None:
    assert container_gateway(NET, Profile()) == "2001:db8:1:1::1"
    assert container_gateway(NO_SUBNET, Profile()) == "fe80::1"
    assert container_gateway(NET, Profile(default_gateway_v6="2001:db8::9")) == "2001:db8::9"


def test_no_docker_skips_with_the_reason(tmp_path: Path) -> None:
    # -m gateway: only checks that need Docker, so nothing is sent from this machine
    proc = run_suites_here(
        "-m",
        "gateway",
        "-rs",
        "--docker-host",
        f"unix://{tmp_path}/absent.sock",
        "--report-dir",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout.splitlines()[-1]
    assert "skipped" in proc.stdout.splitlines()[-1]
    assert "no Docker" in proc.stdout
    assert "no socket there: is dockerd running?" in proc.stdout
