"""A run on a real host says, before it sends anything, what it sends onto the host's network;
a lab run, whose traffic never leaves the machine, does not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from probes.netns import Netns
from probes.profile import Profile
from probes.target import Target
from suites.plugin.keys import TARGET
from suites.plugin.target import pytest_report_header


def header(target: Target) -> list[str]:
    config: Any = SimpleNamespace(stash=pytest.Stash())
    config.stash[TARGET] = target
    return pytest_report_header(config)


def test_a_real_hosts_run_says_what_it_sends() -> None:
    lines = header(Target("local:web-1", Netns(), "unix:///run/docker.sock", Profile(), "eth0"))
    [said] = [line for line in lines if "sends on this host's network" in line]
    assert "Router Solicitations on eth0" in said
    assert "/etc/resolv.conf" in said
    assert "anchors" in said


def test_a_lab_run_does_not() -> None:
    lab = Target("lab:v6c/healthy", Netns(), "unix:///l.sock", Profile(), "uplink0", lab={})
    assert not [line for line in header(lab) if "sends on this host's network" in line]
