"""The lab itself: `up` builds what `describe` says, `down` leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bench.suite_run import lab_command
from lab import Lab, LabError
from lab.lab import STATE_ROOT
from tests.lab.names import lab_name

pytestmark = pytest.mark.lab
NAME = lab_name("v6ctl")


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if text in cmdline and state != "Z":
                found.append(f"{entry.name}: {cmdline}")
    return found


def assert_nothing_left(lab: Lab) -> None:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"{lab.name}-" not in namespaces
    assert processes_mentioning(str(lab.state)) == []
    assert processes_mentioning(f"{lab.name}-") == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(lab.state) not in mounts
    assert not lab.state.exists()


def lab_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return lab_command(NAME, *args)


def test_up_describe_down() -> None:
    up = lab_cli("up")
    assert up.returncode == 0, up.stderr
    try:
        described = lab_cli("describe")
        assert described.returncode == 0, described.stderr
        d = json.loads(described.stdout)
        for key in (
            "name",
            "scenario",
            "docker_host",
            "namespaces",
            "host",
            "dns",
            "anchors",
            "expected_failures",
        ):
            assert key in d
        assert d["name"] == NAME
        assert d["scenario"] == "healthy"
        assert d["expected_failures"] == []
        assert set(d["namespaces"]) == {"host", "upstream", "inet"}
        for ns in d["namespaces"].values():
            assert Path(f"/run/netns/{ns}").exists(), ns
        # dockerd answers on the lab's socket, from the lab's host namespace
        version = subprocess.run(
            ["docker", "-H", d["docker_host"], "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
        )
        assert version.returncode == 0, version.stderr
        assert version.stdout.strip()
        pids = subprocess.run(
            ["ip", "netns", "pids", d["namespaces"]["host"]], capture_output=True, text=True
        ).stdout.split()
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in pids}
        assert "dockerd" in names
        # radvd runs in upstream, unbound in inet
        up_names = {
            Path(f"/proc/{p}/comm").read_text().strip()
            for p in subprocess.run(
                ["ip", "netns", "pids", d["namespaces"]["upstream"]], capture_output=True, text=True
            ).stdout.split()
        }
        inet_names = {
            Path(f"/proc/{p}/comm").read_text().strip()
            for p in subprocess.run(
                ["ip", "netns", "pids", d["namespaces"]["inet"]], capture_output=True, text=True
            ).stdout.split()
        }
        assert "radvd" in up_names
        assert "unbound" in inet_names
        # the addresses it names are really there, and nothing but documentation space
        inet_addrs = subprocess.run(
            ["ip", "-n", d["namespaces"]["inet"], "-6", "addr"], capture_output=True, text=True
        ).stdout
        for addr in (*d["anchors"], *[s for s in d["dns"]["servers"] if ":" in s]):
            assert addr in inet_addrs
            assert addr.startswith("2001:db8:")
        # no lab namespace has a link into this machine's own namespace: a veth there would
        # name its peer's namespace (link-netns)
        host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        for ns in d["namespaces"].values():
            assert f"link-netns {ns}" not in host_links
        assert "uplink0" not in host_links
    finally:
        down = lab_cli("down")
    assert down.returncode == 0, down.stderr
    assert_nothing_left(Lab(NAME))


def test_up_is_idempotent_and_down_twice_is_harmless() -> None:
    lab = Lab(NAME)
    try:
        lab.up("healthy")
        first = lab.description()
        lab.up("no-rdnss")  # removes the stale lab of the same name first
        assert lab.description()["scenario"] == "no-rdnss"
        assert first["docker_host"] == lab.description()["docker_host"]
    finally:
        lab.down()
        lab.down()
    assert_nothing_left(lab)


def test_failed_up_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = Lab(NAME)

    def broken(*args: object) -> None:
        raise LabError("injected failure after namespaces, unbound and radvd were started")

    monkeypatch.setattr("lab.daemon.start", broken)
    with pytest.raises(LabError, match="injected"):
        lab.up("healthy")
    assert_nothing_left(lab)


def test_describe_without_lab_says_what_to_do() -> None:
    result = lab_cli("describe")
    assert result.returncode == 1
    assert f"python -m lab --name {NAME} up" in result.stderr  # the lab it names, not v6c
    assert STATE_ROOT.name in str(Lab(NAME).state)
